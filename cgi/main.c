/* flightdeck.fcgi: the FastCGI accept loop, and nothing else.
 *
 * lighttpd starts this program with the listening socket on fd 0. We compile
 * the templates and migrate the database once, then run FLIGHTDECK_WORKERS
 * threads; each owns a database connection and an arena and loops
 * accept -> read -> app_handle -> write. Configuration comes from the
 * environment (see README, "Configuration"). */
#include <fcgiapp.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "bg.h"
#include "config.h"
#include "log.h"
#include "db.h"
#include "dbpool.h"
#include "ingest.h"
#include "notify.h"
#include "pcache.h"
#include "seal.h"
#include "utf8.h"
#include "otlp.h"
#include "wgroup.h"

#define MAX_WORKERS 64
/* Requests with a body (or an answer four times) this large are followed by
 * malloc_trim. */
#define TRIM_AFTER_BYTES (256 * 1024)

/* Requests whose body is larger than HEAVY_BODY (batches of hundreds of
 * events) are read and handled at most HEAVY_MAX at a time. Their parsed
 * JSON takes several times the body's size, and the writer commits them
 * one after the other anyway: eight runtimes posting 1,000 events each at
 * once held eight such trees (45 MB of peak RSS) for no gain. The others
 * wait with their body still in lighttpd. */
#define HEAVY_BODY (64 * 1024)
#define HEAVY_MAX  2
static sem_t heavy;

/* Is the request about to be read heavy (see HEAVY_BODY)? A gzip or
 * protobuf body (OTLP) grows when it is decoded: eight times the bar's
 * worth of it is already as heavy as a JSON body of HEAVY_BODY. */
static int request_is_heavy(FCGX_ParamArray env)
{
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", env);
    unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
    const char *ce = FCGX_GetParam("HTTP_CONTENT_ENCODING", env);
    const char *ct = FCGX_GetParam("CONTENT_TYPE", env);
    int dense = (ce && *ce && strcasecmp(ce, "identity") != 0) ||
                (ct && strncasecmp(ct, "application/x-protobuf", 22) == 0);
    return n > (dense ? HEAVY_BODY / 8 : HEAVY_BODY);
}

/* libfcgi's own threaded example serializes accept(); so do we. Only the
 * accept is serialized, never the handling. */
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Requests being handled right now; a stop waits for them. */
static atomic_int active_requests;

#define STOP_GRACE_MS 5000

typedef struct worker {
    pthread_t  thread;
    const app *ap;
    int        index;
} worker;

/* Every worker's connection, and a gate over them: a worker holds the gate
 * shared while it handles a request. A connection opened while the database
 * was write-protected cannot write, nor can any opened while one such is
 * open (SQLite shares the read-only -shm mapping in the process), so when
 * the files are writable again every connection is closed and opened anew
 * at once, under the gate held exclusively (reopen_if_writable). */
static pthread_rwlock_t db_gate;
/* The request connections the workers share (dbpool.h), then the
 * group-commit writer (wgroup.h), the page cache's change watcher (app.h)
 * and the background thread's (bg.h). */
static db *conns[MAX_WORKERS + 3];
static int nconns;
#define NPOOL        (nconns - 3)
#define CONN_WRITER  (nconns - 3)
#define CONN_WATCHER (nconns - 2)
#define CONN_BG      (nconns - 1)
static app *the_app;
/* Some connection cannot write (opened read-only, or a write was refused as
 * read-only); when to look at the files next (ms). */
static atomic_int db_degraded;
static _Atomic int64_t db_next_check;

#define REOPEN_CHECK_MS 1000
#define REOPEN_WAIT_MS  2000

/* Open every connection (at start, or with the gate held exclusively).
 * Returns 0, or -1 with a message on stderr. Marks the set degraded when
 * one of them opened read-only. */
static int open_all(const char *path)
{
    char err[256];
    int ro = 0;
    /* Close them all first: one left open would hand its read-only
     * shared memory to the new ones. */
    for (int i = 0; i < nconns; i++) {
        db_free(conns[i]);
        conns[i] = NULL;
    }
    for (int i = 0; i < nconns; i++) {
        conns[i] = db_open(path, err, sizeof err);
        if (!conns[i]) {
            fprintf(stderr, "flightdeck: database %s: %s\n", path, err);
            return -1;
        }
        ro |= db_readonly(conns[i]);
        bg_attach(conns[i]);
    }
    dbpool_set(conns, NPOOL);
    wgroup_set_writer(conns[CONN_WRITER]);
    if (db_set_cache_kib(conns[CONN_WRITER], WGROUP_WRITER_CACHE_KIB)) {
        fprintf(stderr, "flightdeck: database %s: cannot size the writer's cache\n", path);
        return -1;
    }
    the_app->watch = conns[CONN_WATCHER];
    db_changed(the_app->watch); /* commits before now are not news */
    atomic_store(&db_degraded, ro);
    return 0;
}

/* When some connection cannot write and the files have become writable,
 * reopen every connection, without a restart. Looks at most once a second;
 * waits at most REOPEN_WAIT_MS for requests in flight (a long-poll may hold
 * its worker longer: then the next look tries again). */
static void reopen_if_writable(const char *path)
{
    if (!atomic_load(&db_degraded)) return;
    int64_t now = db_now_ms();
    int64_t next = atomic_load(&db_next_check);
    if (now < next || !atomic_compare_exchange_strong(&db_next_check, &next, now + REOPEN_CHECK_MS))
        return;
    if (!db_path_writable(path)) return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += REOPEN_WAIT_MS / 1000;
    if (pthread_rwlock_timedwrlock(&db_gate, &until) != 0) return;
    if (atomic_load(&db_degraded)) {
        if (open_all(path)) exit(1); /* lighttpd starts the app again */
        fprintf(stderr, "flightdeck: the database is writable again: reopened %d connections%s\n",
                nconns, atomic_load(&db_degraded) ? " (some still read-only)" : "");
    }
    pthread_rwlock_unlock(&db_gate);
}

/* The media type of a Content-Type header, lowercased, parameters cut. */
static const char *media_type(arena *a, const char *ct)
{
    if (!ct) return "";
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
    char *m = arena_strndup(a, ct, n);
    for (char *p = m; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    return m ? m : "";
}

/* Why read_request refused a request: the answer's status, code, message. */
typedef struct refusal {
    int         status;
    const char *code;
    const char *message;
} refusal;

/* Set *why and return its status. */
static int refuse(refusal *why, int status, const char *code, const char *message)
{
    why->status = status;
    why->code = code;
    why->message = message;
    return status;
}

/* Is body[0..n) one JSON value (and whitespace)? As ctx_body_json parses. */
static int json_parses(const char *body, size_t n)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, n, &end, 0);
    if (!j) return 0;
    cJSON_Delete(j);
    const char *stop = body + n;
    while (end && end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
    return end == stop;
}

/* Does any value of a parsed form hold a NUL (which C strings would cut
 * short: "admin%00x" would sign in as "admin") or bytes that are not UTF-8? */
static int form_text_bad(const http_kvs *f)
{
    for (size_t i = 0; i < f->n; i++) {
        const http_kv *kv = &f->v[i];
        if (kv->val_len && (memchr(kv->val, '\0', kv->val_len) || !utf8_valid(kv->val, kv->val_len)))
            return 1;
        if (!utf8_valid(kv->key, strlen(kv->key))) return 1;
    }
    return 0;
}

/* Fill c->req from the FastCGI request. Returns 0, or an HTTP status to
 * answer with at once (400, 413, 422; *why says why) when the request is
 * unusable. */
static int read_request(ctx *c, FCGX_Request *fr, refusal *why)
{
    http_req *r = &c->req;
    arena *a = c->a;
    FCGX_ParamArray env = fr->envp;
    const char *method = FCGX_GetParam("REQUEST_METHOD", env);
    const char *uri = FCGX_GetParam("REQUEST_URI", env);
    const char *qs = FCGX_GetParam("QUERY_STRING", env);

    r->method_name = method ? method : "GET";
    r->method = http_method_parse(r->method_name);
    r->request_uri = uri ? uri : "/";
    r->query_string = qs ? qs : "";
    r->remote_addr = FCGX_GetParam("REMOTE_ADDR", env) ? FCGX_GetParam("REMOTE_ADDR", env) : "";
    r->authorization = FCGX_GetParam("HTTP_AUTHORIZATION", env);
    r->accept = FCGX_GetParam("HTTP_ACCEPT", env) ? FCGX_GetParam("HTTP_ACCEPT", env) : "";
    r->accept_encoding = FCGX_GetParam("HTTP_ACCEPT_ENCODING", env);
    if (!r->accept_encoding) r->accept_encoding = "";
    r->content_encoding = FCGX_GetParam("HTTP_CONTENT_ENCODING", env);
    if (!r->content_encoding) r->content_encoding = "";
    const char *https = FCGX_GetParam("HTTPS", env);
    r->tls = https && strcasecmp(https, "on") == 0;
    r->content_type = media_type(a, FCGX_GetParam("CONTENT_TYPE", env));
    r->content_type_raw = FCGX_GetParam("CONTENT_TYPE", env); /* multipart needs its boundary */
    /* Headers for the dispatcher's conventions (app_finish). */
    c->if_none_match = FCGX_GetParam("HTTP_IF_NONE_MATCH", env);
    c->origin = FCGX_GetParam("HTTP_ORIGIN", env);
    /* A caller's (or proxy's) request id ties its logs to ours; ours stays
     * when it is not a short safe token. */
    ctx_set_request_id(c, FCGX_GetParam("HTTP_X_REQUEST_ID", env));

    /* The path is the URI before '?', percent-decoded; NUL bytes refused. */
    size_t plen = strcspn(r->request_uri, "?");
    size_t dlen;
    char *path = http_urldecode(a, r->request_uri, plen, 0, &dlen);
    if (!path || dlen != strlen(path) || path[0] != '/') {
        r->path = "/";
        return refuse(why, 400, "bad_request", "the request path is malformed");
    }
    r->path = path;

    if (http_parse_query(a, r->query_string, strlen(r->query_string), &r->query))
        return refuse(why, 400, "bad_request", "the query string is malformed");
    if (http_parse_cookies(a, FCGX_GetParam("HTTP_COOKIE", env), &r->cookies))
        return refuse(why, 400, "bad_request", "the Cookie header is malformed");

    const char *cl = FCGX_GetParam("CONTENT_LENGTH", env);
    if (cl && *cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end || cl[0] == '-')
            return refuse(why, 400, "bad_request", "Content-Length is not a number");
        /* Refuse before reading: the body never enters memory. */
        if (n > c->app->max_body) return refuse(why, 413, "body_too_large", NULL);
        if (n > 0) {
            char *body = arena_alloc(a, (size_t)n + 1);
            if (!body) return refuse(why, 413, "body_too_large", NULL);
            int got = FCGX_GetStr(body, (int)n, fr->in);
            if (got < 0 || (unsigned long long)got != n)
                return refuse(why, 400, "bad_request", "the body is shorter than Content-Length");
            body[n] = '\0';
            r->body = body;
            r->body_len = (size_t)n;
        }
    }
    if (r->body && strcmp(r->content_type, "application/x-www-form-urlencoded") == 0) {
        if (http_parse_query(a, r->body, r->body_len, &r->form))
            return refuse(why, 400, "bad_request", "the form is malformed");
        if (form_text_bad(&r->form))
            return refuse(why, 400, "bad_request",
                          "a form field holds a NUL character or bytes that are not UTF-8");
    }
    /* JSON text holding U+0000 would be cut short wherever it is used: one
     * check here covers every route. Only well-formed JSON is refused here,
     * so malformed JSON still gets its 400 invalid_json from the handler. */
    if (r->body && strcmp(r->content_type, "application/json") == 0 &&
        ingest_json_has_nul(r->body, r->body_len) && json_parses(r->body, r->body_len))
        return refuse(why, 422, "invalid_body", "text in the body may not contain U+0000 (NUL)");
    return 0;
}

/* Send the response in as few FastCGI writes as possible. */
static void write_response(ctx *c, FCGX_Request *fr)
{
    http_resp *rs = &c->resp;
    int status = rs->status ? rs->status : 200;
    buf head;
    buf_init(&head);
    buf_printf(&head, "Status: %d %s\r\n", status, http_status_text(status));
    if (rs->content_type) buf_printf(&head, "Content-Type: %s\r\n", rs->content_type);
    /* 204 and 304 have no body, and no Content-Length (RFC 9110 8.6). */
    if (status != 204 && status != 304)
        buf_printf(&head, "Content-Length: %zu\r\n", rs->body.len);
    buf_add(&head, buf_str(&rs->headers), rs->headers.len);
    buf_puts(&head, "\r\n");
    if (!head.err) FCGX_PutStr(head.p, (int)head.len, fr->out);
    if (c->req.method != HTTP_HEAD && rs->body.len)
        FCGX_PutStr(rs->body.p, (int)rs->body.len, fr->out);
    buf_fini(&head);
}

/* End the request and close its connection. libfcgi shuts the socket down
 * and reads until the server closes (up to 2 s), so that unread input
 * cannot make TCP reset the connection under the answer. Once the input
 * has been read to its end nothing is left to reset it, and that wait,
 * a poll and a wake-up per request, was 9 % of the app's CPU time in
 * single-event appends (perf): skip it then (FCGX_Detach, which only
 * marks the request). Input left unread (a body refused before it was
 * read) still gets the wait. The input's end record follows the body at
 * once, so reading it does not wait. */
static void finish_request(FCGX_Request *fr)
{
    if (FCGX_GetChar(fr->in) == EOF && FCGX_GetError(fr->in) == 0) FCGX_Detach(fr);
    FCGX_Finish_r(fr);
}

/* One worker thread, with its own arena: accepts and answers requests until
 * the FastCGI listener closes, on a pooled connection (dbpool.h) taken
 * under the gate for the time the request is worked on. */
static void *worker_run(void *arg)
{
    worker *w = arg;
    FCGX_Request fr;
    arena *a = arena_new();
    if (!a || FCGX_InitRequest(&fr, 0, 0) != 0) {
        fprintf(stderr, "flightdeck: worker %d cannot start: out of memory\n", w->index);
        exit(1);
    }
    for (;;) {
        pthread_mutex_lock(&accept_lock);
        int rc = FCGX_Accept_r(&fr);
        pthread_mutex_unlock(&accept_lock);
        if (rc < 0) break;
        atomic_fetch_add(&active_requests, 1);
        int is_heavy = request_is_heavy(fr.envp);
        if (is_heavy) sem_wait(&heavy);
        reopen_if_writable(w->ap->db_path);
        pthread_rwlock_rdlock(&db_gate);
        ctx c;
        ctx_begin(&c, w->ap, NULL, a);
        refusal why = { 0, NULL, NULL };
        int bad = read_request(&c, &fr, &why);
        /* A connection only from here: reading the body does not hold one. */
        c.db = dbpool_take();
        c.pooled = 1;
        if (bad) {
            if (bad == 413)
                ctx_error(&c, 413, "body_too_large", "the body is larger than %zu bytes",
                          w->ap->max_body);
            else
                ctx_error(&c, bad, why.code, "%s", why.message);
            app_finish(&c);
        } else {
            app_handle(&c);
        }
        ctx_db_park(&c); /* the answer is written holding no connection */
        write_response(&c, &fr);
        finish_request(&fr);
        /* A large request (a batch of a thousand events, a big page, an
         * OTLP export) leaves megabytes the allocator would keep for this
         * thread; give them back, so the process stays small between bursts. */
        int big = c.req.body_len > TRIM_AFTER_BYTES || c.resp.body.len > TRIM_AFTER_BYTES * 4 ||
                  (is_heavy && ctx_is_otlp(&c));
        ctx_end(&c);
        if (big) malloc_trim(0);
        if (is_heavy) sem_post(&heavy);
        /* A write refused as read-only: look at the files from now on. */
        if (db_storage_error() == SQLITE_READONLY) atomic_store(&db_degraded, 1);
        pthread_rwlock_unlock(&db_gate);
        atomic_fetch_sub(&active_requests, 1);
    }
    arena_free(a);
    return NULL;
}

/* Wait for SIGTERM/SIGINT (blocked in every other thread), let requests in
 * flight finish (up to STOP_GRACE_MS), then exit. libfcgi's own handler only
 * sets a flag that a worker blocked in accept() never reads, which is why a
 * FastCGI child could outlive lighttpd. */
static void *signal_run(void *arg)
{
    sigset_t *set = arg;
    int sig;
    sigwait(set, &sig);
    FCGX_ShutdownPending();
    for (int waited = 0; atomic_load(&active_requests) > 0 && waited < STOP_GRACE_MS; waited += 10) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    /* Index the queued search text and checkpoint, unless a request is
     * still running (a long-poll): the queue is a table, so what is left
     * is indexed at the next start, or by the next search. */
    if (atomic_load(&active_requests) == 0) bg_finish();
    _exit(0);
    return NULL;
}

int main(void)
{
    static app ap;
    char err[256];
    tmpl_err terr = { 0 };

    signal(SIGPIPE, SIG_IGN);
    /* A file size limit (RLIMIT_FSIZE) reached while writing the database
     * must fail that write (SQLite reports an I/O error; the request is
     * answered 503), not kill the process. */
    signal(SIGXFSZ, SIG_IGN);
    /* glibc gives each thread its own heap (up to 8 per core), each keeping
     * what it once held. One: eight runtimes posting 1,000-event batches
     * peaked at 41 MB of RSS with four heaps, 31 MB with two; with the
     * connections pooled (dbpool.h), pages, ingestion and OTLP peaked at
     * 28-29 MiB with one heap, 31 with two. Small allocations still take
     * no lock (glibc's per-thread cache). */
    mallopt(M_ARENA_MAX, 1);
    /* Settings: etc/flightdeck.conf (or FLIGHTDECK_CONF), then the
     * environment (config.h); ranges are checked there. */
    if (config_load(err, sizeof err)) {
        fprintf(stderr, "flightdeck: configuration: %s\n", err);
        return 1;
    }
    if (log_open(config_str(CFG_LOG_LEVEL), config_path(CFG_LOG_FILE), err, sizeof err)) {
        fprintf(stderr, "flightdeck: log_file: %s\n", err);
        return 1;
    }
    ap.db_path = config_path(CFG_DB);
    ap.workers = (int)config_int(CFG_WORKERS);
    /* Long-polls may hold at most this many workers; the rest stay free for
     * pages and API calls, however many runtimes wait. */
    int longpolls = (int)config_int(CFG_LONGPOLL_MAX);
    notify_set_max_waiters(longpolls > 0 ? longpolls : ap.workers / 2);
    /* Bodies are read with one FCGX_GetStr (int length): config caps it at 1 GiB. */
    ap.max_body = (size_t)config_int(CFG_MAX_BODY);
    /* Rendered pages and API reads kept while the database is unchanged
     * (pcache.h); 0 for either switches the cache off. */
    pcache_configure((size_t)config_int(CFG_PAGE_CACHE_MB) << 20, (int)config_int(CFG_PAGE_CACHE_MS));
    ap.version = FD_VERSION;
    if (app_cors_config(&ap, config_str(CFG_CORS_ORIGINS), err, sizeof err)) {
        fprintf(stderr, "flightdeck: cors_origins: %s\n", err);
        return 1;
    }
    if (auth_init()) { fprintf(stderr, "flightdeck: libsodium failed to start\n"); return 1; }
    /* Encryption at rest (seal.h, docs/encryption.md): configured here and
     * nowhere else, before any connection is opened. */
    {
        char key_path[4096];
        const char *kf = config_path(CFG_KEY_FILE);
        if (seal_key_path_default(*kf ? kf : NULL, ap.db_path, key_path, sizeof key_path)) {
            fprintf(stderr, "flightdeck: key_file: path too long\n");
            return 1;
        }
        if (seal_configure((int)config_int(CFG_ENCRYPT_PAYLOADS), key_path, err, sizeof err)) {
            fprintf(stderr, "flightdeck: encryption at rest: %s\n", err);
            return 1;
        }
    }
    /* Model prices for the cost of OpenTelemetry model calls (otlp.h). */
    const char *prices = config_path(CFG_PRICES);
    if (otlp_prices_load(prices, err, sizeof err)) {
        fprintf(stderr, "flightdeck: prices: %s\n", err);
        return 1;
    }

    ap.tmpl = tmpl_set_new();
    const char *dir = config_path(CFG_TEMPLATES);
    if (!ap.tmpl || tmpl_set_load_dir(ap.tmpl, dir, &terr) < 0) {
        fprintf(stderr, "flightdeck: templates in %s: %s line %d: %s\n", dir, terr.name,
                terr.line, terr.msg);
        return 1;
    }

    db *d = db_open(ap.db_path, err, sizeof err);
    int applied = 0;
    if (!d || db_migrate(d, &applied)) {
        fprintf(stderr, "flightdeck: database %s: %s\n", ap.db_path, d ? db_errmsg(d) : err);
        return 1;
    }
    db_free(d);

    if (FCGX_Init() != 0) { fprintf(stderr, "flightdeck: FCGX_Init failed\n"); return 1; }
    /* Block the stop signals before any thread starts, so only signal_run
     * receives them (threads inherit the mask). */
    static sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);
    pthread_t sig_thread;
    if (pthread_create(&sig_thread, NULL, signal_run, &stop_set) != 0) {
        fprintf(stderr, "flightdeck: cannot start the signal thread\n");
        return 1;
    }
    /* Prefer the exclusive side, so a reopen is not starved by requests. */
    pthread_rwlockattr_t ga;
    pthread_rwlockattr_init(&ga);
    pthread_rwlockattr_setkind_np(&ga, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&db_gate, &ga);
    pthread_rwlockattr_destroy(&ga);
    sem_init(&heavy, 0, HEAVY_MAX);
    int npool = (int)config_int(CFG_DB_CONNECTIONS);
    nconns = (npool < ap.workers ? npool : ap.workers) + 3;
    the_app = &ap;
    if (open_all(ap.db_path)) return 1;
    bg_retention((int)config_int(CFG_RETENTION_DAYS), (int)config_int(CFG_SWEEP_SECONDS),
                 (int)config_int(CFG_SWEEP_BATCH));
    if (bg_start(&conns[CONN_BG], &db_gate)) {
        fprintf(stderr, "flightdeck: cannot start the background thread\n");
        return 1;
    }
    worker ws[MAX_WORKERS];
    for (int i = 0; i < ap.workers; i++) {
        ws[i].ap = &ap;
        ws[i].index = i;
        if (pthread_create(&ws[i].thread, NULL, worker_run, &ws[i]) != 0) {
            fprintf(stderr, "flightdeck: cannot start worker %d\n", i);
            return 1;
        }
    }
    log_msg(LOGL_INFO, "started: version %s, %d workers, database %s, configuration %s", FD_VERSION,
            ap.workers, ap.db_path, config_file() ? config_file() : "(defaults and environment)");
    for (int i = 0; i < ap.workers; i++) pthread_join(ws[i].thread, NULL);
    tmpl_set_free(ap.tmpl);
    return 0;
}
