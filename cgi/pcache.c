/* pcache: rendered-answer cache. See pcache.h. */
#include "pcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define PCACHE_BUCKETS 1024 /* power of two */
#define PCACHE_REFRESH_MS 2000
/* Renders in progress that others may wait for (one per key), and how
 * long a request waits for someone else's render before doing its own. */
#define PCACHE_FILLS 64
#define PCACHE_FILL_WAIT_MS 60000

typedef struct entry entry;
struct entry {
    pcache_key key;
    uint64_t   gen;
    int64_t    born_ms;
    int        status;
    char      *content_type; /* NULL: none */
    char      *etag;         /* NULL: none */
    char      *headers;      /* "Name: value\r\n" lines */
    size_t     headers_len;
    char      *body;
    size_t     body_len;
    char      *gz;           /* the body gzip-compressed, or NULL */
    size_t     gz_len;
    size_t     size;         /* what this entry counts against max_bytes */
    int64_t    refresh_ms;   /* when a request went to render it anew (0: none) */
    entry     *chain;        /* next in its bucket */
    entry     *older, *newer; /* insertion order, for eviction */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry *buckets[PCACHE_BUCKETS];
static entry *oldest, *newest;
static size_t max_bytes, held_bytes, held_entries;
static int ttl_ms;
static uint64_t hits, misses;

/* A render in progress: whoever missed first on (key, gen) renders; the
 * requests that miss on the same key and generation meanwhile wait for its
 * pcache_put (or pcache_abandon) instead of rendering the same answer at
 * once: a popular page just invalidated, or a slow search asked by many,
 * costs one render, not one per worker (nor that much memory). */
typedef struct fill {
    pcache_key key;
    uint64_t   gen;
    pthread_t  owner;
    int        used;
} fill;
static fill fills[PCACHE_FILLS];
static pthread_cond_t filled;
static pthread_once_t filled_once = PTHREAD_ONCE_INIT;

static void filled_init(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&filled, &ca);
    pthread_condattr_destroy(&ca);
}

/* The render in progress for key at gen, or NULL (lock held). */
static fill *fill_find(const pcache_key *k, uint64_t gen)
{
    for (int i = 0; i < PCACHE_FILLS; i++)
        if (fills[i].used && fills[i].gen == gen && !memcmp(fills[i].key.b, k->b, sizeof k->b) &&
            !pthread_equal(fills[i].owner, pthread_self())) /* never wait for oneself */
            return &fills[i];
    return NULL;
}

/* This thread's render of key ends: free its slot and wake the waiters
 * (lock held). */
static void fill_end(const pcache_key *k)
{
    pthread_t me = pthread_self();
    for (int i = 0; i < PCACHE_FILLS; i++)
        if (fills[i].used && pthread_equal(fills[i].owner, me) && !memcmp(fills[i].key.b, k->b, sizeof k->b)) {
            fills[i].used = 0;
            pthread_cond_broadcast(&filled);
        }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t bucket_of(const pcache_key *k)
{
    size_t h;
    memcpy(&h, k->b, sizeof h); /* the key is a hash already */
    return h & (PCACHE_BUCKETS - 1);
}

static void entry_free(entry *e)
{
    if (!e) return;
    free(e->content_type);
    free(e->etag);
    free(e->headers);
    free(e->body);
    free(e->gz);
    free(e);
}

/* Unlink e from its bucket and the age list and free it (lock held). */
static void entry_drop(entry *e)
{
    entry **p = &buckets[bucket_of(&e->key)];
    while (*p && *p != e) p = &(*p)->chain;
    if (*p) *p = e->chain;
    if (e->older) e->older->newer = e->newer; else oldest = e->newer;
    if (e->newer) e->newer->older = e->older; else newest = e->older;
    held_bytes -= e->size;
    held_entries--;
    entry_free(e);
}

/* The entry of key, or NULL (lock held). */
static entry *entry_find(const pcache_key *k)
{
    for (entry *e = buckets[bucket_of(k)]; e; e = e->chain)
        if (!memcmp(e->key.b, k->b, sizeof k->b)) return e;
    return NULL;
}

void pcache_clear(void)
{
    pthread_mutex_lock(&lock);
    while (oldest) entry_drop(oldest);
    pthread_mutex_unlock(&lock);
}

void pcache_configure(size_t bytes, int ms)
{
    pcache_clear();
    pthread_mutex_lock(&lock);
    max_bytes = ms > 0 ? bytes : 0;
    ttl_ms = bytes > 0 ? ms : 0;
    pthread_mutex_unlock(&lock);
}

int pcache_on(void)
{
    pthread_mutex_lock(&lock);
    int on = max_bytes > 0 && ttl_ms > 0;
    pthread_mutex_unlock(&lock);
    return on;
}

const char *pcache_etag_gzip(arena *a, const char *etag)
{
    size_t n = strlen(etag);
    if (n < 2 || etag[n - 1] != '"') return arena_strdup(a, etag);
    return arena_printf(a, "%.*s-gzip\"", (int)(n - 1), etag);
}

int pcache_get(const pcache_key *key, uint64_t gen, int gzip_ok, arena *a, http_resp *resp,
               const char **etag)
{
    int hit = 0;
    pthread_once(&filled_once, filled_init);
    pthread_mutex_lock(&lock);
    entry *e = entry_find(key);
    int64_t now = now_ms();
    if (!e || e->gen != gen) {
        /* Someone renders this very answer now: wait for it (bounded). */
        fill *f = fill_find(key, gen);
        if (f) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += PCACHE_FILL_WAIT_MS / 1000;
            while (fill_find(key, gen) != NULL &&
                   pthread_cond_timedwait(&filled, &lock, &until) == 0) {}
            e = entry_find(key);
            now = now_ms();
        } else if (max_bytes > 0) {
            /* Or render it: the others will wait for this one. */
            fill_end(key); /* (a render of an older generation left by this thread) */
            for (int i = 0; i < PCACHE_FILLS; i++)
                if (!fills[i].used) {
                    fills[i] = (fill){ .key = *key, .gen = gen, .owner = pthread_self(), .used = 1 };
                    break;
                }
        }
    }
    if (e && e->gen != gen) {
        entry_drop(e); /* the data changed: never served again */
        e = NULL;
    } else if (e && now - e->born_ms >= ttl_ms) {
        /* Only the clock moved. One request renders it anew; the others
         * keep getting this copy meanwhile (a render, ~ms, older), rather
         * than all rendering the same page at once. A render that never
         * comes back (an error answer is not kept) frees the turn after
         * PCACHE_REFRESH_MS. */
        if (!e->refresh_ms || now - e->refresh_ms >= PCACHE_REFRESH_MS) {
            e->refresh_ms = now;
            e = NULL;
        }
    }
    if (e) {
        int gz = gzip_ok && e->gz;
        const char *ct = e->content_type ? arena_strdup(a, e->content_type) : NULL;
        const char *tag = e->etag ? (gz ? pcache_etag_gzip(a, e->etag) : arena_strdup(a, e->etag)) : NULL;
        size_t hlen = resp->headers.len, blen = resp->body.len;
        buf_add(&resp->headers, e->headers, e->headers_len);
        if (gz) buf_puts(&resp->headers, PCACHE_GZIP_HEADERS);
        buf_add(&resp->body, gz ? e->gz : e->body, gz ? e->gz_len : e->body_len);
        if ((e->content_type && !ct) || (e->etag && !tag) || resp->headers.err || resp->body.err) {
            /* Out of memory: answer as a miss, with resp as it was. */
            resp->headers.len = hlen;
            resp->body.len = blen;
        } else {
            resp->status = e->status;
            resp->content_type = ct;
            *etag = tag;
            hit = 1;
        }
    }
    if (hit) hits++; else misses++;
    pthread_mutex_unlock(&lock);
    return hit;
}

int pcache_gzip_wanted(const char *accept_encoding)
{
    /* "gzip" as a token, unless given q=0 (RFC 9110 12.5.3). */
    if (!accept_encoding) return 0;
    for (const char *p = accept_encoding; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",;");
        size_t t = n;
        while (t && (p[t - 1] == ' ' || p[t - 1] == '\t')) t--;
        int is_gzip = (t == 4 && !strncasecmp(p, "gzip", 4)) || (t == 6 && !strncasecmp(p, "x-gzip", 6));
        p += n;
        double q = 1;
        while (*p == ';') {
            p++;
            p += strspn(p, " \t");
            if ((*p == 'q' || *p == 'Q') && p[1] == '=') q = strtod(p + 2, NULL);
            p += strcspn(p, ",;");
        }
        if (is_gzip) return q > 0;
    }
    return 0;
}

const char *pcache_gzip(arena *a, const char *in, size_t n, size_t *out_len)
{
    if (n < PCACHE_GZIP_MIN || n > (size_t)UINT32_MAX) return NULL;
    z_stream z;
    memset(&z, 0, sizeof z);
    /* 15 + 16: a gzip wrapper; memLevel 8 and the default level. */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&z, (uLong)n);
    unsigned char *out = arena_alloc(a, cap);
    const char *res = NULL;
    if (out) {
        z.next_in = (unsigned char *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        /* Not worth it unless it saves at least an eighth. */
        if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out < n - n / 8) {
            *out_len = z.total_out;
            res = (const char *)out;
        }
    }
    deflateEnd(&z);
    return res;
}

/* A malloc'd copy of s[0..n) with a NUL after it; NULL only when s is. */
static char *dup_n(const char *s, size_t n, int *oom)
{
    if (!s) return NULL;
    char *p = malloc(n + 1);
    if (!p) { *oom = 1; return NULL; }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void pcache_abandon(const pcache_key *key)
{
    pthread_mutex_lock(&lock);
    fill_end(key);
    pthread_mutex_unlock(&lock);
}

void pcache_put(const pcache_key *key, uint64_t gen, const http_resp *resp, size_t hdr_from,
                const char *etag, const char *gz, size_t gz_len)
{
    if (resp->headers.err || resp->body.err || hdr_from > resp->headers.len) {
        pcache_abandon(key);
        return;
    }
    size_t hlen = resp->headers.len - hdr_from, blen = resp->body.len;
    size_t size = sizeof(entry) + hlen + blen + (gz ? gz_len : 0) + 128;
    pthread_mutex_lock(&lock);
    size_t cap = max_bytes;
    pthread_mutex_unlock(&lock);
    if (cap == 0 || size > cap / 8) {
        pcache_abandon(key);
        return;
    }

    /* Copy outside the lock; only linking it in is serialized. */
    int oom = 0;
    entry *e = calloc(1, sizeof *e);
    if (!e) {
        pcache_abandon(key);
        return;
    }
    e->key = *key;
    e->gen = gen;
    e->born_ms = now_ms();
    e->status = resp->status ? resp->status : 200;
    e->content_type = resp->content_type ? dup_n(resp->content_type, strlen(resp->content_type), &oom) : NULL;
    e->etag = etag ? dup_n(etag, strlen(etag), &oom) : NULL;
    e->headers = dup_n(hlen ? resp->headers.p + hdr_from : "", hlen, &oom);
    e->headers_len = hlen;
    e->body = dup_n(blen ? resp->body.p : "", blen, &oom);
    e->body_len = blen;
    if (gz) {
        e->gz = dup_n(gz, gz_len, &oom);
        e->gz_len = gz_len;
    }
    e->size = size;
    if (oom) {
        entry_free(e);
        pcache_abandon(key);
        return;
    }

    pthread_mutex_lock(&lock);
    fill_end(key);
    entry *old = entry_find(key);
    if (old) entry_drop(old);
    /* entry_drop moves `oldest` on to the next entry. */
    while (oldest && held_bytes + size > max_bytes) entry_drop(oldest); /* NOLINT(clang-analyzer-unix.Malloc) */
    if (max_bytes == 0) { /* switched off meanwhile */
        pthread_mutex_unlock(&lock);
        entry_free(e);
        return;
    }
    size_t b = bucket_of(key);
    e->chain = buckets[b];
    buckets[b] = e;
    e->older = newest;
    if (newest) newest->newer = e; else oldest = e;
    newest = e;
    held_bytes += size;
    held_entries++;
    pthread_mutex_unlock(&lock);
}

void pcache_stats_get(pcache_stats *out)
{
    pthread_mutex_lock(&lock);
    out->hits = hits;
    out->misses = misses;
    out->entries = held_entries;
    out->bytes = held_bytes;
    pthread_mutex_unlock(&lock);
}
