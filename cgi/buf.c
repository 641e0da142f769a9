/* buf: growable string with a sticky error. See buf.h. */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No single response or rendered page may exceed this; hitting it sets err
 * rather than letting a runaway loop eat the machine. */
#define BUF_MAX ((size_t)1 << 30)

void buf_init(buf *b) { memset(b, 0, sizeof *b); }

void buf_fini(buf *b)
{
    if (!b) return;
    free(b->p);
    memset(b, 0, sizeof *b);
}

void buf_reset(buf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->p) b->p[0] = '\0';
}

int buf_reserve(buf *b, size_t n)
{
    if (b->err) return -1;
    if (n > BUF_MAX - b->len - 1) { b->err = 1; return -1; }
    size_t need = b->len + n + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { b->err = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

void buf_add(buf *b, const void *s, size_t n)
{
    if (n == 0 || buf_reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void buf_puts(buf *b, const char *s) { if (s) buf_add(b, s, strlen(s)); }

void buf_putc(buf *b, char c) { buf_add(b, &c, 1); }

void buf_vprintf(buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) { b->err = 1; return; }
    if ((size_t)n < sizeof small) { buf_add(b, small, (size_t)n); return; }
    if (buf_reserve(b, (size_t)n)) return;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void buf_add_html(buf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        buf_add(b, s + start, i - start);
        buf_puts(b, rep);
        start = i + 1;
    }
    buf_add(b, s + start, n - start);
}

void buf_add_urlenc(buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
            buf_putc(b, (char)c);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            buf_add(b, e, 3);
        }
    }
}

const char *buf_str(const buf *b) { return (b->p && !b->err) ? b->p : ""; }

char *buf_detach(buf *b)
{
    if (b->err) { buf_fini(b); return NULL; }
    char *p = b->p;
    if (!p) p = calloc(1, 1);
    memset(b, 0, sizeof *b);
    return p;
}
