/* arena: bump allocator over a chain of blocks. See arena.h. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK 16384
#define ARENA_ALIGN 16

typedef struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(ARENA_ALIGN) unsigned char data[];
} block;

struct arena {
    block *head;  /* current block; older ones follow */
    block *spare; /* the first block, kept across arena_clear() */
};

static block *block_new(size_t cap)
{
    block *b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    b->next = NULL;
    b->used = 0;
    b->cap = cap;
    return b;
}

arena *arena_new(void)
{
    arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->head = block_new(ARENA_BLOCK);
    if (!a->head) { free(a); return NULL; }
    a->spare = a->head;
    return a;
}

void arena_clear(arena *a)
{
    block *b = a->head;
    while (b && b != a->spare) {
        block *next = b->next;
        free(b);
        b = next;
    }
    a->head = a->spare;
    if (a->head) { a->head->used = 0; a->head->next = NULL; }
}

void arena_free(arena *a)
{
    if (!a) return;
    arena_clear(a);
    free(a->spare);
    free(a);
}

void *arena_alloc(arena *a, size_t n)
{
    if (n == 0) n = 1;
    if (n > SIZE_MAX / 2) return NULL;
    n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    block *b = a->head;
    if (!b || b->cap - b->used < n) {
        /* Big requests get a block of their own so the rest stays dense. */
        b = block_new(n > ARENA_BLOCK / 2 ? n : ARENA_BLOCK);
        if (!b) return NULL;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n < 0 ? NULL : arena_alloc(a, (size_t)n + 1);
    if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}
