/* arena: per-request memory. Everything a request allocates through its
 * arena is released at once by arena_free() when the request ends, so no
 * handler frees piecemeal and nothing leaks on an error path.
 * Not thread-safe: one arena belongs to one worker's current request. */
#ifndef FD_ARENA_H
#define FD_ARENA_H

#include <stddef.h>

typedef struct arena arena;

/* A new arena, or NULL when out of memory. */
arena *arena_new(void);
/* Release every block. NULL is safe. */
void arena_free(arena *a);
/* Release every block but keep the arena for the next request. */
void arena_clear(arena *a);
/* n bytes aligned for any type, zeroed; NULL when out of memory. */
void *arena_alloc(arena *a, size_t n);
/* A NUL-terminated copy of s[0..n). NULL when out of memory. */
char *arena_strndup(arena *a, const char *s, size_t n);
char *arena_strdup(arena *a, const char *s);
/* printf into the arena. */
char *arena_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
