/* pcache: rendered answers of read-only GET routes (route flag ROUTE_CACHE),
 * reused while the database has not changed.
 *
 * An entry is keyed by a hash of who asks and what they ask (app.c: the
 * principal, its sign-in's CSRF token, the request URI, Accept), so one
 * user's page is never served to another and a page's forms carry the
 * right token. It is valid while the change generation it was rendered
 * under is current (notify.h: bumped after every write request of this
 * process, and by app.c when SQLite's data_version shows a commit from
 * another connection or process) and for at most ttl_ms, so times shown
 * relative to now ("3 min ago", a running session's duration) are at most
 * that old. When only the time to live has run out, one request renders
 * the answer anew while the others keep getting the old copy, so a popular
 * page is never rendered by every worker at once. Access checks still run
 * on every request, before the cache is asked.
 *
 * Memory is bounded: entries are evicted oldest first once their total
 * size passes max_bytes; an answer larger than an eighth of it is not
 * kept. Thread-safe (one mutex; a hit copies the entry out under it). */
#ifndef FD_PCACHE_H
#define FD_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "http.h"

#define PCACHE_KEY_BYTES 16

typedef struct pcache_key {
    unsigned char b[PCACHE_KEY_BYTES];
} pcache_key;

/* Set the limits (before the workers start). max_bytes 0 or ttl_ms 0
 * switches the cache off. Frees every entry. */
void pcache_configure(size_t max_bytes, int ttl_ms);
/* Is the cache on? */
int pcache_on(void);
/* Drop every entry (tests, and a change of configuration). */
void pcache_clear(void);

/* Look up key rendered under generation gen. On a hit: status and content
 * type set on resp (the type copied into arena a), the entry's headers
 * appended to resp->headers, its body to resp->body, *etag set to an arena
 * copy of its ETag (NULL when it has none); returns 1. With gzip_ok and a
 * compressed copy kept, that copy is the body, PCACHE_GZIP_HEADERS are
 * added and the ETag gets mod_deflate's "-gzip" mark. 0 on a miss (resp
 * untouched) or when out of memory. */
int pcache_get(const pcache_key *key, uint64_t gen, int gzip_ok, arena *a, http_resp *resp,
               const char **etag);

/* A miss makes the caller the renderer of (key, gen) when nobody else is:
 * requests that miss on the same key and generation meanwhile wait (up to
 * 60 s: rendering the same answer again would only take longer) for its
 * answer instead of rendering it too. So after a miss the
 * caller must end its render: pcache_put, or pcache_abandon when the
 * answer is not to be kept (an error, a Set-Cookie). Either is harmless
 * when the caller was not the renderer. */
void pcache_abandon(const pcache_key *key);

/* Keep resp (status, content type, resp->headers from byte hdr_from on,
 * body) under key for generation gen, with etag (may be NULL) and the
 * body's gzip copy gz[0..gz_len) (may be NULL). Replaces an older entry of
 * the same key. Silently does nothing when the answer is too large or
 * memory is short. */
void pcache_put(const pcache_key *key, uint64_t gen, const http_resp *resp, size_t hdr_from,
                const char *etag, const char *gz, size_t gz_len);

/* Compressed answers: rendered once, then sent as they are to every client
 * that accepts gzip, instead of lighttpd's mod_deflate compressing each
 * answer again (it leaves an answer with a Content-Encoding alone). */
#define PCACHE_GZIP_MIN 1024 /* smaller bodies go as they are */
#define PCACHE_GZIP_HEADERS "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
/* Does an Accept-Encoding header value accept gzip (q > 0)? NULL: no. */
int pcache_gzip_wanted(const char *accept_encoding);
/* in[0..n) gzip-compressed into arena a; *out_len its size. NULL when n is
 * below PCACHE_GZIP_MIN, compressing saves less than an eighth, or memory
 * is short. */
const char *pcache_gzip(arena *a, const char *in, size_t n, size_t *out_len);
/* etag with "-gzip" before its closing quote (the mark mod_deflate uses,
 * which app.c ignores in If-None-Match), in arena a; NULL when out of
 * memory. */
const char *pcache_etag_gzip(arena *a, const char *etag);

/* Counters since start: hits, misses, entries and bytes held now. */
typedef struct pcache_stats {
    uint64_t hits, misses;
    size_t   entries, bytes;
} pcache_stats;
void pcache_stats_get(pcache_stats *out);

#endif
