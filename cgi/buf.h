/* buf: a growable byte string with a sticky error, in the manner of sqlite's
 * StrAccum. Every append after a failed allocation is a no-op and buf.err
 * stays set, so callers check once, at the end.
 *
 * A buf is embedded by value: buf_init() before use, buf_fini() to release
 * the storage (safe on a zeroed or already-finished buf). The contents are
 * always NUL-terminated when len > 0 and err == 0. */
#ifndef FD_BUF_H
#define FD_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct buf {
    char  *p;    /* contents, owned; NULL until the first append */
    size_t len;  /* bytes used, excluding the terminating NUL */
    size_t cap;  /* bytes allocated */
    int    err;  /* non-zero once an allocation failed or a limit was hit */
} buf;

void buf_init(buf *b);
void buf_fini(buf *b);
/* Keep the storage, forget the contents (err is cleared too). */
void buf_reset(buf *b);
/* Make room for at least n more bytes. Returns 0, or -1 and sets err. */
int  buf_reserve(buf *b, size_t n);
void buf_add(buf *b, const void *s, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append s with & < > " ' replaced by HTML entities. */
void buf_add_html(buf *b, const char *s, size_t n);
/* Append s percent-encoded for a URL query value (RFC 3986 unreserved kept). */
void buf_add_urlenc(buf *b, const char *s, size_t n);
/* The contents as a C string ("" when empty). Valid until the next append. */
const char *buf_str(const buf *b);
/* Hand the storage to the caller (free() it); the buf is left empty.
 * Returns NULL if err is set. */
char *buf_detach(buf *b);

#endif
