/* loadgen: the load generator of `make bench` (issue 9). It plays agent
 * runtimes against a running Flightdeck over its HTTP API, one thread and
 * one keep-alive libcurl handle per runtime, and prints one line of JSON.
 *
 * Usage:
 *   loadgen ingest --url http://127.0.0.1:PORT --token TOKEN --runtimes R
 *                  --batch B --seconds S [--project P]
 *       Each of R threads creates its own running session in project P
 *       (default "bench-ingest"), then POSTs events (bench/events.h, the
 *       same ones bench/sqlite_ref writes) B at a time (B = 1: one event
 *       object; B > 1: {"events":[...]}) until S seconds have passed.
 *       Prints {"mode":"ingest","runtimes":R,"batch":B,"seconds":elapsed,
 *       "requests":n,"events":n,"errors":n,"events_per_s":x,"p50_ms":x,
 *       "p99_ms":x}; events are those the server says it accepted.
 *
 *   loadgen longpoll --url ... --token ... --clients C --seconds S [--hold H]
 *       Creates C running sessions in project "bench-longpoll", prints
 *       {"mode":"longpoll","ready":N} (N sessions made), waits H seconds
 *       or until SIGUSR1, whichever first (default 0; meanwhile the
 *       sessions are there and nobody polls, so a page can be measured on
 *       the same data without the polls), then C threads each long-poll
 *       GET /api/v1/sessions/{id}/control?wait=30&status=running&seq=SEQ,
 *       again and again, until S seconds from the start (the hold
 *       included) have passed, or SIGTERM / SIGINT. An answer with Retry-After (every long-poll slot
 *       was taken) is counted as immediate, and the client waits that long
 *       before polling again, as a well-behaved runtime does. Prints
 *       {"mode":"longpoll","clients":C,"seconds":elapsed,"polls":n,
 *       "immediate":n,"errors":n}.
 *
 * Both modes stop early on SIGTERM or SIGINT and still print their line
 * (within about a second: a long-poll in flight is abandoned). The token
 * needs the runtime role. Only loopback URLs are accepted.
 *
 * Exit status: 0; 1 when any request failed (errors > 0), with the first
 * failed answer on stderr; 2 on bad usage.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -O2 ... -o loadgen bench/loadgen.c -lcurl -lpthread */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "events.h"

#define LOADGEN_MAX_THREADS 1024
#define LOADGEN_MAX_BATCH   1000          /* the server's own limit per request */
#define LOADGEN_BODY_MAX    ((size_t)4 << 20) /* no answer we ask for is bigger */
#define LOADGEN_TIMEOUT_S   60L           /* a long-poll is held 25 s at most */
#define LOADGEN_POLL_WAIT_S 30            /* the server caps it at 25 */

typedef enum loadgen_mode { LOADGEN_INGEST, LOADGEN_LONGPOLL } loadgen_mode;

typedef struct loadgen_opts {
    loadgen_mode mode;
    char         url[256];   /* checked loopback base URL, no trailing '/' */
    const char  *token;
    const char  *project;
    int          threads;    /* --runtimes or --clients */
    int          batch;
    double       seconds;
    double       hold;       /* longpoll: seconds between creating and polling */
} loadgen_opts;

/* One thread's connection: the easy handle keeps the connection alive
 * between requests. */
typedef struct loadgen_http {
    CURL              *curl;
    struct curl_slist *headers;
    char              *body;        /* the last answer, NUL-terminated */
    size_t             len, cap;
    long               retry_after; /* seconds, from the last answer; 0: none */
} loadgen_http;

/* One runtime (ingest) or client (longpoll) and what it counted. */
typedef struct loadgen_thread {
    pthread_t           thread;
    int                 index;
    const loadgen_opts *o;
    loadgen_http        h;
    char                sid[80];
    long long           requests, events, errors, polls, immediate;
    double             *lat;        /* ms of each answered request */
    size_t              nlat, caplat;
} loadgen_thread;

/* Set once the run is over (time up, or a stop signal): threads finish the
 * request in flight (ingest) or abandon it (a long-poll), and return. */
static atomic_int loadgen_stop;
/* longpoll --hold: the clients sleep on this until SIGUSR1 (go), the stop
 * or the hold's end, without waking (200 threads polling a flag would cost
 * the very page being measured meanwhile). */
static pthread_mutex_t loadgen_hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t loadgen_hold_cond = PTHREAD_COND_INITIALIZER;
static int loadgen_go;
/* Only the first failed answer is printed; the rest are counted. */
static atomic_int loadgen_reported;
/* Every thread waits here after creating its session, so the clock starts
 * when all runtimes are ready. */
static pthread_barrier_t loadgen_ready;

static const char loadgen_usage_text[] =
    "usage: loadgen ingest --url URL --token TOKEN --runtimes R --batch B --seconds S\n"
    "                      [--project P]\n"
    "       loadgen longpoll --url URL --token TOKEN --clients C --seconds S [--hold H]\n"
    "URL is http://127.0.0.1[:PORT] (or localhost, [::1]); TOKEN has the runtime role.\n"
    "R and C: 1..1024 threads; B: 1..1000 events per request; S: seconds (> 0).\n";

/* ------------------------------------------------------------------ options */

/* Print msg and the usage text to stderr; returns 2 (the exit status). */
static int loadgen_usage(const char *msg)
{
    fprintf(stderr, "loadgen: %s\n%s", msg, loadgen_usage_text);
    return 2;
}

/* Is url a server on this machine (http://127.0.0.1, localhost or [::1],
 * an optional port, an optional plain path)? Copies it without a trailing
 * '/' to out. 1 yes, 0 no. This tool must never send traffic elsewhere. */
static int loadgen_url_ok(const char *url, char *out, size_t n)
{
    static const char *const hosts[] = { "127.0.0.1", "localhost", "[::1]" };
    const char *rest = NULL;
    if (strncmp(url, "http://", 7) != 0) return 0;
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        size_t l = strlen(hosts[i]);
        if (strncmp(url + 7, hosts[i], l) == 0) { rest = url + 7 + l; break; }
    }
    if (!rest) return 0;
    if (*rest == ':') {
        const char *d = ++rest;
        long port = 0;
        while (*rest >= '0' && *rest <= '9' && rest - d < 6) port = port * 10 + (*rest++ - '0');
        if (rest == d || port < 1 || port > 65535) return 0;
    }
    if (*rest && *rest != '/') return 0;
    for (const char *p = rest; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("/-_.~", *p)))
            return 0;
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/' && url + len > rest) len--;
    if (len >= n) return 0;
    memcpy(out, url, len);
    out[len] = '\0';
    return 1;
}

/* Is s fit for a header line or a JSON string as it stands (printable
 * ASCII, no space, quote or backslash, 1..max bytes)? */
static int loadgen_word_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~' || *s == '"' || *s == '\\') return 0;
    return 1;
}

/* Parse an integer option value within [lo, hi] into *out. 0 or -1. */
static int loadgen_parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

/* Fill *o from argv. Returns -1 when the options are good, else the exit
 * status to return at once (2, the problem printed). */
static int loadgen_parse_args(int argc, char **argv, loadgen_opts *o)
{
    const char *url = NULL;
    memset(o, 0, sizeof *o);
    o->batch = 1;
    if (argc < 2) return loadgen_usage("which mode: ingest or longpoll?");
    if (strcmp(argv[1], "ingest") == 0) o->mode = LOADGEN_INGEST;
    else if (strcmp(argv[1], "longpoll") == 0) o->mode = LOADGEN_LONGPOLL;
    else return loadgen_usage("the mode is ingest or longpoll");
    o->project = o->mode == LOADGEN_INGEST ? "bench-ingest" : "bench-longpoll";
    for (int i = 2; i < argc; i++) {
        const char *name = argv[i];
        if (i + 1 >= argc) return loadgen_usage("every option takes a value");
        const char *v = argv[++i];
        int threads_opt = o->mode == LOADGEN_INGEST ? !strcmp(name, "--runtimes")
                                                    : !strcmp(name, "--clients");
        if (!strcmp(name, "--url")) url = v;
        else if (!strcmp(name, "--token")) o->token = v;
        else if (threads_opt) {
            if (loadgen_parse_int(v, 1, LOADGEN_MAX_THREADS, &o->threads))
                return loadgen_usage("--runtimes / --clients must be 1..1024");
        } else if (!strcmp(name, "--batch") && o->mode == LOADGEN_INGEST) {
            if (loadgen_parse_int(v, 1, LOADGEN_MAX_BATCH, &o->batch))
                return loadgen_usage("--batch must be 1..1000");
        } else if (!strcmp(name, "--project") && o->mode == LOADGEN_INGEST) {
            if (!loadgen_word_ok(v, 100)) return loadgen_usage("--project: 1..100 plain characters");
            o->project = v;
        } else if (!strcmp(name, "--hold") && o->mode == LOADGEN_LONGPOLL) {
            char *end;
            o->hold = strtod(v, &end);
            if (!*v || *end || !(o->hold >= 0) || o->hold > 3600)
                return loadgen_usage("--hold must be a number of seconds, 0 to 3600");
        } else if (!strcmp(name, "--seconds")) {
            char *end;
            o->seconds = strtod(v, &end);
            if (!*v || *end || !(o->seconds > 0) || o->seconds > 86400)
                return loadgen_usage("--seconds must be a number above 0 (at most 86400)");
        } else {
            char msg[96];
            snprintf(msg, sizeof msg, "unknown option \"%.40s\" for %s", name, argv[1]);
            return loadgen_usage(msg);
        }
    }
    if (!url || !loadgen_url_ok(url, o->url, sizeof o->url))
        return loadgen_usage("--url must be http://127.0.0.1[:PORT] (or localhost, [::1])");
    if (!loadgen_word_ok(o->token, 512)) return loadgen_usage("--token is missing or malformed");
    if (!o->threads) return loadgen_usage("--runtimes (ingest) or --clients (longpoll) is required");
    if (!(o->seconds > 0)) return loadgen_usage("--seconds is required");
    return -1;
}

/* --------------------------------------------------------------------- time */

/* Seconds on the monotonic clock. */
static double loadgen_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep up to `seconds`, in short steps, returning early once the run is
 * stopped. */
static void loadgen_sleep(double seconds)
{
    double until = loadgen_now() + seconds;
    while (!atomic_load(&loadgen_stop)) {
        double left = until - loadgen_now();
        if (left <= 0) break;
        if (left > 0.1) left = 0.1;
        struct timespec ts = { 0, (long)(left * 1e9) };
        nanosleep(&ts, NULL);
    }
}

/* Wake the clients held by --hold: go = 1 to start polling (SIGUSR1), 0
 * when the run stops. */
static void loadgen_release(int go)
{
    pthread_mutex_lock(&loadgen_hold_lock);
    if (go) loadgen_go = 1;
    pthread_cond_broadcast(&loadgen_hold_cond);
    pthread_mutex_unlock(&loadgen_hold_lock);
}

/* --------------------------------------------------------------------- HTTP */

/* libcurl write callback: append to h->body; abort the transfer (return 0)
 * past LOADGEN_BODY_MAX or when memory runs out. */
static size_t loadgen_http_write(char *p, size_t size, size_t n, void *arg)
{
    loadgen_http *h = arg;
    size_t len = size * n;
    if (len > LOADGEN_BODY_MAX - h->len) return 0;
    if (h->len + len + 1 > h->cap) {
        size_t cap = h->cap ? h->cap : 4096;
        while (cap < h->len + len + 1) cap *= 2;
        char *b = realloc(h->body, cap);
        if (!b) return 0;
        h->body = b;
        h->cap = cap;
    }
    memcpy(h->body + h->len, p, len);
    h->len += len;
    h->body[h->len] = '\0';
    return len;
}

/* libcurl header callback: remember Retry-After (whole seconds), which the
 * server sends when every long-poll slot is taken and with 503. */
static size_t loadgen_http_header(char *p, size_t size, size_t n, void *arg)
{
    static const char name[] = "retry-after:";
    loadgen_http *h = arg;
    size_t len = size * n, i = sizeof name - 1;
    if (len > i && strncasecmp(p, name, i) == 0) {
        long v = 0;
        while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
        while (i < len && p[i] >= '0' && p[i] <= '9' && v < 3600) v = v * 10 + (p[i++] - '0');
        h->retry_after = v;
    }
    return len;
}

/* libcurl progress callback: abandon a long-poll (held up to 25 s) once the
 * run is stopped. libcurl calls it at least once a second. Ingest requests
 * do not use it: one abandoned after it was sent could be recorded by the
 * server yet not counted here. */
static int loadgen_http_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                                 curl_off_t un)
{
    (void)arg, (void)dt, (void)dn, (void)ut, (void)un;
    return atomic_load(&loadgen_stop) ? 1 : 0;
}

/* Release a connection (safe on a zeroed or half-made one). */
static void loadgen_http_fini(loadgen_http *h)
{
    curl_slist_free_all(h->headers);
    if (h->curl) curl_easy_cleanup(h->curl);
    free(h->body);
    memset(h, 0, sizeof *h);
}

/* Set up a connection with the bearer token. What keeps the traffic on
 * this machine is set once here: HTTP only, no proxy (whatever http_proxy
 * says), no redirects. Long-polls (o->mode) can be abandoned at the stop.
 * 0, or -1 (h cleaned up). */
static int loadgen_http_init(loadgen_http *h, const loadgen_opts *o)
{
    char auth[600];
    struct curl_slist *t;
    memset(h, 0, sizeof *h);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->token);
    h->curl = curl_easy_init();
    if (!h->curl) goto fail;
    if (!(t = curl_slist_append(h->headers, auth))) goto fail;
    h->headers = t;
    if (!(t = curl_slist_append(h->headers, "Content-Type: application/json"))) goto fail;
    h->headers = t;
    /* No 100-continue round trip before a batch. */
    if (!(t = curl_slist_append(h->headers, "Expect:"))) goto fail;
    h->headers = t;
    CURL *c = h->curl;
    if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK || /* threads: no SIGALRM */
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT, LOADGEN_TIMEOUT_S) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_USERAGENT, "flightdeck-loadgen") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, loadgen_http_write) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, h) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, loadgen_http_header) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HEADERDATA, h) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, loadgen_http_progress) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, o->mode == LOADGEN_LONGPOLL ? 0L : 1L) != CURLE_OK)
        goto fail;
    return 0;
fail:
    loadgen_http_fini(h);
    return -1;
}

/* Send one request: GET (body NULL) or POST of JSON body[0..len), to path
 * below the base URL. Returns the HTTP status with the answer in h->body
 * (and h->retry_after), or -1 when no answer came (transport error, or the
 * run was stopped), with the reason in err (when err is not NULL). */
static long loadgen_http_do(loadgen_http *h, const loadgen_opts *o, const char *path,
                            const char *body, size_t len, char err[CURL_ERROR_SIZE])
{
    char url[512];
    long code = -1;
    CURL *c = h->curl;
    h->len = 0;
    h->retry_after = 0;
    if (h->body) h->body[0] = '\0';
    if (snprintf(url, sizeof url, "%s%s", o->url, path) >= (int)sizeof url) {
        if (err) snprintf(err, CURL_ERROR_SIZE, "URL too long");
        return -1;
    }
    if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK) goto out;
    if (body) {
        if (curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK)
            goto out;
    } else if (curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK) {
        goto out;
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        if (err) snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
        goto out;
    }
    if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) code = -1;
out:
    return code;
}

/* Count a failed request: print the first one of the run to stderr (what
 * was asked, and the answer or why none came). */
static void loadgen_fail(loadgen_thread *t, const char *what, long code, const char *err)
{
    t->errors++;
    if (atomic_exchange(&loadgen_reported, 1)) return;
    if (code < 0)
        fprintf(stderr, "loadgen: %s: no answer: %s\n", what, err);
    else
        fprintf(stderr, "loadgen: %s: HTTP %ld: %.2000s\n", what, code,
                t->h.body ? t->h.body : "");
}

/* The string member "key" of flat JSON text (the first occurrence) into
 * out[0..n); 0, or -1 when absent. Enough for the few fields we read from
 * the server's answers, without a JSON library. */
static int loadgen_json_str(const char *json, const char *key, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p) return -1;
    p += strlen(pat);
    size_t len = strcspn(p, "\"\\");
    if (p[len] != '"' || len >= n) return -1;
    memcpy(out, p, len);
    out[len] = '\0';
    return 0;
}

/* The number member "key" of flat JSON text; dflt when absent. */
static long long loadgen_json_int(const char *json, const char *key, long long dflt)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json ? strstr(json, pat) : NULL;
    if (!p) return dflt;
    char *end;
    long long v = strtoll(p + strlen(pat), &end, 10);
    return end == p + strlen(pat) ? dflt : v;
}

/* --------------------------------------------------------------- the runs */

/* Create this thread's running session in project o->project; its id goes
 * to t->sid. 0, or -1 (counted as an error). */
static int loadgen_session_create(loadgen_thread *t)
{
    char body[512], err[CURL_ERROR_SIZE] = "";
    int n = snprintf(body, sizeof body,
                     "{\"agent\":\"bench-agent\",\"name\":\"bench %s %d\",\"trigger\":\"api\","
                     "\"status\":\"running\",\"project\":\"%s\","
                     "\"prompt\":\"Benchmark runtime %d: report what you do.\","
                     "\"metadata\":{\"bench\":\"%s\"}}",
                     t->o->mode == LOADGEN_INGEST ? "runtime" : "client", t->index, t->o->project,
                     t->index, t->o->mode == LOADGEN_INGEST ? "ingest" : "longpoll");
    if (n < 0 || (size_t)n >= sizeof body) return -1;
    long code = loadgen_http_do(&t->h, t->o, "/api/v1/sessions", body, (size_t)n, err);
    if (code != 201 || loadgen_json_str(t->h.body, "id", t->sid, sizeof t->sid)) {
        loadgen_fail(t, "POST /api/v1/sessions", code, err);
        return -1;
    }
    return 0;
}

/* Keep latency ms of one answered request. 0, or -1 out of memory (the
 * figure is then lost; the counts stay right). */
static int loadgen_keep_latency(loadgen_thread *t, double ms)
{
    if (t->nlat == t->caplat) {
        size_t cap = t->caplat ? t->caplat * 2 : 4096;
        double *l = realloc(t->lat, cap * sizeof *l);
        if (!l) return -1;
        t->lat = l;
        t->caplat = cap;
    }
    t->lat[t->nlat++] = ms;
    return 0;
}

/* The ingest loop of one runtime: batches of o->batch events until the run
 * stops. A 4xx answer ends the runtime (it will not get better: a bad
 * token, a refused event); a 5xx or no answer is retried after Retry-After
 * or 100 ms, with the next events. */
static void loadgen_ingest_run(loadgen_thread *t)
{
    const loadgen_opts *o = t->o;
    size_t cap = (size_t)o->batch * (EVENTS_API_MAX + 1) + 32;
    char *req = malloc(cap), path[160], err[CURL_ERROR_SIZE] = "";
    events_event *ev = malloc(sizeof *ev);
    long long n = 0;
    if (!req || !ev) { loadgen_fail(t, "start", -1, "out of memory"); goto out; }
    snprintf(path, sizeof path, "/api/v1/sessions/%s/events", t->sid);
    while (!atomic_load(&loadgen_stop)) {
        size_t len = 0;
        if (o->batch > 1) len = (size_t)snprintf(req, cap, "{\"events\":[");
        for (int i = 0; i < o->batch; i++, n++) {
            int k;
            if (events_make(t->index, n, ev) ||
                (k = events_render(ev, req + len, cap - len - 3)) < 0) {
                loadgen_fail(t, "events_make", -1, "an event did not fit its buffer");
                goto out;
            }
            len += (size_t)k;
            if (o->batch > 1) req[len++] = i + 1 < o->batch ? ',' : ']';
        }
        if (o->batch > 1) req[len++] = '}';
        req[len] = '\0';
        double t0 = loadgen_now();
        long code = loadgen_http_do(&t->h, o, path, req, len, err);
        double ms = (loadgen_now() - t0) * 1000.0;
        t->requests++;
        /* Out of memory for a figure fails the run: percentiles over part
         * of the answers would look fine and be wrong. */
        if (code >= 0 && loadgen_keep_latency(t, ms))
            loadgen_fail(t, "keeping latencies", -1, "out of memory");
        if (code >= 200 && code < 300) {
            t->events += loadgen_json_int(t->h.body, "accepted", o->batch);
            continue;
        }
        loadgen_fail(t, "POST .../events", code, err);
        if (code >= 400 && code < 500) break;
        loadgen_sleep(t->h.retry_after > 0 ? (double)t->h.retry_after : 0.1);
    }
out:
    free(ev);
    free(req);
}

/* The long-poll loop of one client: learn the session's seq, then poll for
 * a change until the run stops. An answer that came at once with
 * Retry-After is followed by that many seconds of waiting. */
static void loadgen_longpoll_run(loadgen_thread *t)
{
    char path[256], status[32] = "running", err[CURL_ERROR_SIZE] = "";
    long long seq = -1;
    if (t->o->hold > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double whole = (double)(time_t)t->o->hold;
        until.tv_sec += (time_t)whole;
        until.tv_nsec += (long)((t->o->hold - whole) * 1e9);
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&loadgen_hold_lock);
        while (!loadgen_go && !atomic_load(&loadgen_stop))
            if (pthread_cond_timedwait(&loadgen_hold_cond, &loadgen_hold_lock, &until) == ETIMEDOUT) break;
        pthread_mutex_unlock(&loadgen_hold_lock);
    }
    if (atomic_load(&loadgen_stop)) return;
    snprintf(path, sizeof path, "/api/v1/sessions/%s/control", t->sid);
    long code = loadgen_http_do(&t->h, t->o, path, NULL, 0, err);
    if (code == 200) {
        seq = loadgen_json_int(t->h.body, "seq", 0);
        (void)loadgen_json_str(t->h.body, "status", status, sizeof status); /* else "running" */
    } else if (!(code < 0 && atomic_load(&loadgen_stop))) {
        loadgen_fail(t, "GET .../control", code, err);
        return;
    }
    while (!atomic_load(&loadgen_stop)) {
        snprintf(path, sizeof path, "/api/v1/sessions/%s/control?wait=%d&status=%s&seq=%lld",
                 t->sid, LOADGEN_POLL_WAIT_S, status, seq);
        double t0 = loadgen_now();
        code = loadgen_http_do(&t->h, t->o, path, NULL, 0, err);
        double ms = (loadgen_now() - t0) * 1000.0;
        if (code < 0 && atomic_load(&loadgen_stop)) break; /* abandoned at the end */
        if (code != 200) {
            loadgen_fail(t, "GET .../control?wait", code, err);
            loadgen_sleep(t->h.retry_after > 0 ? (double)t->h.retry_after : 1.0);
            continue;
        }
        t->polls++;
        if (loadgen_keep_latency(t, ms)) loadgen_fail(t, "keeping latencies", -1, "out of memory");
        /* Follow what the server says, so a change (someone paused the
         * session) is not answered at once again and again; an answer
         * without a status keeps the one we know. */
        seq = loadgen_json_int(t->h.body, "seq", seq);
        (void)loadgen_json_str(t->h.body, "status", status, sizeof status);
        if (t->h.retry_after > 0) {
            t->immediate++;
            loadgen_sleep((double)t->h.retry_after);
        }
    }
}

/* A thread: connect, create the session, wait for the others, run. arg is
 * its loadgen_thread. Always reaches the barrier exactly once, whatever
 * fails, so the start never hangs. */
static void *loadgen_thread_main(void *arg)
{
    loadgen_thread *t = arg;
    int ok = loadgen_http_init(&t->h, t->o) == 0;
    if (!ok) loadgen_fail(t, "start", -1, "libcurl could not make a handle");
    else ok = loadgen_session_create(t) == 0;
    pthread_barrier_wait(&loadgen_ready);
    if (ok && t->o->mode == LOADGEN_INGEST) loadgen_ingest_run(t);
    else if (ok) loadgen_longpoll_run(t);
    loadgen_http_fini(&t->h);
    return NULL;
}

/* qsort order of doubles, ascending. */
static int loadgen_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0 < q <= 1, nearest rank) of sorted v[0..n); 0 when n = 0. */
static double loadgen_quantile(const double *v, size_t n, double q)
{
    if (!n) return 0;
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return v[k - 1];
}

/* Sum the threads' counts and print the JSON line of the run. elapsed is
 * the run's length in seconds. 0, or -1 out of memory (the line is then
 * printed without percentiles, as 0). */
static int loadgen_report(const loadgen_opts *o, loadgen_thread *ts, double elapsed)
{
    long long requests = 0, events = 0, errors = 0, polls = 0, immediate = 0;
    size_t nlat = 0, k = 0;
    int rc = 0;
    for (int i = 0; i < o->threads; i++) {
        requests += ts[i].requests;
        events += ts[i].events;
        errors += ts[i].errors;
        polls += ts[i].polls;
        immediate += ts[i].immediate;
        nlat += ts[i].nlat;
    }
    if (o->mode == LOADGEN_LONGPOLL) {
        printf("{\"mode\":\"longpoll\",\"clients\":%d,\"seconds\":%.3f,\"polls\":%lld,"
               "\"immediate\":%lld,\"errors\":%lld}\n",
               o->threads, elapsed, polls, immediate, errors);
        goto out;
    }
    double *all = nlat ? malloc(nlat * sizeof *all) : NULL;
    if (nlat && !all) rc = -1;
    for (int i = 0; all && i < o->threads; i++) {
        memcpy(all + k, ts[i].lat, ts[i].nlat * sizeof *all);
        k += ts[i].nlat;
    }
    if (all) qsort(all, k, sizeof *all, loadgen_cmp_double);
    printf("{\"mode\":\"ingest\",\"runtimes\":%d,\"batch\":%d,\"seconds\":%.3f,\"requests\":%lld,"
           "\"events\":%lld,\"errors\":%lld,\"events_per_s\":%.1f,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f}\n",
           o->threads, o->batch, elapsed, requests, events, errors,
           elapsed > 0 ? (double)events / elapsed : 0.0, loadgen_quantile(all, k, 0.50),
           loadgen_quantile(all, k, 0.99));
    free(all);
out:
    fflush(stdout);
    return rc;
}

/* loadgen MODE OPTIONS: see the comment at the top. */
int main(int argc, char **argv)
{
    loadgen_opts o;
    loadgen_thread *ts = NULL;
    sigset_t stop_set;
    int started = 0, rc = loadgen_parse_args(argc, argv, &o), barrier = 0, curl = 0;
    if (rc >= 0) return rc;
    rc = 1;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "loadgen: libcurl failed to start\n");
        goto out;
    }
    curl = 1;
    /* The stop signals are taken by sigtimedwait below only: block them
     * before any thread starts (threads inherit the mask). */
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGUSR1); /* longpoll --hold: start polling now */
    if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0) goto out;
    ts = calloc((size_t)o.threads, sizeof *ts);
    if (!ts) { fprintf(stderr, "loadgen: out of memory\n"); goto out; }
    if (pthread_barrier_init(&loadgen_ready, NULL, (unsigned)o.threads + 1) != 0) goto out;
    barrier = 1;
    for (; started < o.threads; started++) {
        ts[started].index = started;
        ts[started].o = &o;
        if (pthread_create(&ts[started].thread, NULL, loadgen_thread_main, &ts[started]) != 0) {
            fprintf(stderr, "loadgen: cannot start thread %d\n", started);
            /* The barrier counts every thread: the missing ones would hang
             * it, so stop here (the started ones are ended by the exit). */
            _exit(1);
        }
    }
    pthread_barrier_wait(&loadgen_ready);
    double t0 = loadgen_now();
    /* The barrier makes every thread's session visible here. None made:
     * nothing will happen, so do not wait S seconds to say so. */
    int ready = 0;
    for (int i = 0; i < started; i++) ready += ts[i].sid[0] != '\0';
    if (o.mode == LOADGEN_LONGPOLL) {
        printf("{\"mode\":\"longpoll\",\"ready\":%d}\n", ready);
        fflush(stdout);
    }
    /* Run until the time is up or a stop signal comes, whichever first
     * (SIGUSR1 only ends a long-poll hold). */
    struct timespec wait = { (time_t)o.seconds, (long)((o.seconds - (double)(time_t)o.seconds) * 1e9) };
    for (int sig; ready; ) {
        sig = sigtimedwait(&stop_set, NULL, &wait);
        if (sig == SIGUSR1) loadgen_release(1);
        else if (sig >= 0 || errno != EINTR) break; /* a stop signal, or time up */
        double left = o.seconds - (loadgen_now() - t0);
        if (left <= 0) break;
        wait.tv_sec = (time_t)left;
        wait.tv_nsec = (long)((left - (double)(time_t)left) * 1e9);
    }
    atomic_store(&loadgen_stop, 1);
    loadgen_release(0);
    for (int i = 0; i < started; i++) pthread_join(ts[i].thread, NULL);
    double elapsed = loadgen_now() - t0;
    long long errors = 0;
    for (int i = 0; i < started; i++) errors += ts[i].errors;
    if (loadgen_report(&o, ts, elapsed)) goto out;
    rc = errors > 0 ? 1 : 0;
out:
    for (int i = 0; ts && i < started; i++) free(ts[i].lat);
    free(ts);
    if (barrier) pthread_barrier_destroy(&loadgen_ready);
    if (curl) curl_global_cleanup();
    return rc;
}
