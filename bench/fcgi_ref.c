/* fcgi_ref: "reference B" of `make bench` (issue 9), the FastCGI ceiling.
 *
 * A FastCGI responder that does nothing but answer every request with the
 * same page, read from FILE once at start. Run behind lighttpd exactly as
 * bin/flightdeck.fcgi is (lighttpd starts it with the listening socket on
 * fd 0), it measures what lighttpd + libfcgi + the worker threads cost
 * before the app does any work of its own: the app's pages can only be
 * slower than this.
 *
 * Usage:
 *     fcgi_ref FILE            (or no argument and FD_REF_FILE=FILE)
 * A FILE whose name ends in ".gz" holds the page gzip-compressed: it is sent
 * as it is, with Content-Encoding: gzip (as the app sends its cached pages
 * to browsers).
 * in lighttpd.conf:
 *     fastcgi.server = ( "/" => (( "bin-path" => "/path/fcgi_ref /path/page.html",
 *                                  "socket" => "/tmp/x/ref.sock", "max-procs" => 1,
 *                                  "check-local" => "disable" )))
 *
 * Environment: FLIGHTDECK_WORKERS (default 16, 1..64): request threads, as in
 * the app. SIGTERM or SIGINT stops it once the requests in flight are
 * answered (at most 5 s).
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -O2 ... -o fcgi_ref bench/fcgi_ref.c -lfcgi -lpthread */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FCGIREF_MAX_WORKERS 64
#define FCGIREF_MAX_FILE    ((long)64 << 20) /* one FCGX_PutStr takes an int length */
#define FCGIREF_GRACE_MS    5000

/* The whole answer (FastCGI header lines and body), built once, so every
 * request is one FCGX_PutStr of shared read-only memory. */
static char  *fcgiref_answer;
static int    fcgiref_answer_len;

/* libfcgi's threaded example serializes accept(); so does the app
 * (cgi/main.c), and so do we, to cost what it costs. */
static pthread_mutex_t fcgiref_accept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Requests being answered right now; a stop waits for them. */
static atomic_int fcgiref_active;

/* Read all of `path` and build fcgiref_answer from it. 0, or -1 with a
 * message on stderr. */
static int fcgiref_load(const char *path)
{
    int rc = -1;
    char *body = NULL, head[224];
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); goto out; }
    if (fseek(f, 0, SEEK_END) != 0) { perror(path); goto out; }
    long size = ftell(f);
    if (size < 0 || size > FCGIREF_MAX_FILE) {
        fprintf(stderr, "fcgi_ref: %s: not a regular file of at most 64 MiB\n", path);
        goto out;
    }
    if (fseek(f, 0, SEEK_SET) != 0) { perror(path); goto out; }
    body = malloc((size_t)size + 1);
    if (!body) { fprintf(stderr, "fcgi_ref: out of memory\n"); goto out; }
    if (fread(body, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "fcgi_ref: %s: short read\n", path);
        goto out;
    }
    size_t pl = strlen(path);
    int gz = pl > 3 && !strcmp(path + pl - 3, ".gz");
    int hl = snprintf(head, sizeof head,
                      "Status: 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n%s"
                      "Content-Length: %ld\r\n\r\n",
                      gz ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" : "", size);
    if (hl < 0 || (size_t)hl >= sizeof head) goto out;
    fcgiref_answer = malloc((size_t)hl + (size_t)size);
    if (!fcgiref_answer) { fprintf(stderr, "fcgi_ref: out of memory\n"); goto out; }
    memcpy(fcgiref_answer, head, (size_t)hl);
    memcpy(fcgiref_answer + hl, body, (size_t)size);
    fcgiref_answer_len = hl + (int)size;
    rc = 0;
out:
    free(body);
    if (f) fclose(f);
    return rc;
}

/* One worker thread: accepts and answers requests until the FastCGI
 * listener closes (or FCGX_ShutdownPending). arg is unused. Exits the
 * process when it cannot even start (as the app does). */
static void *fcgiref_worker(void *arg)
{
    (void)arg;
    FCGX_Request req;
    if (FCGX_InitRequest(&req, 0, 0) != 0) {
        fprintf(stderr, "fcgi_ref: a worker cannot start: out of memory\n");
        exit(1);
    }
    for (;;) {
        pthread_mutex_lock(&fcgiref_accept_lock);
        int rc = FCGX_Accept_r(&req);
        pthread_mutex_unlock(&fcgiref_accept_lock);
        if (rc < 0) break;
        atomic_fetch_add(&fcgiref_active, 1);
        /* A client gone away makes this fail; there is no one to tell. */
        if (FCGX_PutStr(fcgiref_answer, fcgiref_answer_len, req.out) != fcgiref_answer_len)
            FCGX_SetExitStatus(1, req.out);
        /* As the app ends its requests (cgi/main.c, finish_request): without
         * libfcgi's wait for the server to close, once the input is read. */
        if (FCGX_GetChar(req.in) == EOF && FCGX_GetError(req.in) == 0) FCGX_Detach(&req);
        FCGX_Finish_r(&req);
        atomic_fetch_sub(&fcgiref_active, 1);
    }
    FCGX_Free(&req, 1);
    return NULL;
}

/* Wait for SIGTERM/SIGINT (arg: the blocked set), let requests in flight
 * finish (up to FCGIREF_GRACE_MS), then exit 0. A worker blocked in
 * accept() never sees libfcgi's own shutdown flag, hence _exit. */
static void *fcgiref_signals(void *arg)
{
    sigset_t *set = arg;
    int sig;
    if (sigwait(set, &sig) != 0) return NULL;
    FCGX_ShutdownPending();
    for (int waited = 0; atomic_load(&fcgiref_active) > 0 && waited < FCGIREF_GRACE_MS;
         waited += 10) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    _exit(0);
    return NULL;
}

/* fcgi_ref FILE: see the comment at the top. Returns 1 when it cannot start
 * (a message on stderr), 2 on bad usage, else 0 when the listener closes. */
int main(int argc, char **argv)
{
    static sigset_t stop_set;
    pthread_t sig_thread, threads[FCGIREF_MAX_WORKERS];
    const char *path = argc > 1 ? argv[1] : getenv("FD_REF_FILE");
    const char *wenv = getenv("FLIGHTDECK_WORKERS");
    int workers = wenv && *wenv ? atoi(wenv) : 16, started = 0, rc = 1;

    if (argc > 2 || !path || !*path) {
        fprintf(stderr, "usage: fcgi_ref FILE   (or FD_REF_FILE=FILE fcgi_ref)\n");
        return 2;
    }
    if (workers < 1 || workers > FCGIREF_MAX_WORKERS) {
        fprintf(stderr, "fcgi_ref: FLIGHTDECK_WORKERS must be 1..%d\n", FCGIREF_MAX_WORKERS);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (fcgiref_load(path)) goto out;
    if (FCGX_Init() != 0) { fprintf(stderr, "fcgi_ref: FCGX_Init failed\n"); goto out; }
    /* Block the stop signals before any thread starts (threads inherit the
     * mask), so only fcgiref_signals receives them. */
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &stop_set, NULL) != 0 ||
        pthread_create(&sig_thread, NULL, fcgiref_signals, &stop_set) != 0) {
        fprintf(stderr, "fcgi_ref: cannot start the signal thread\n");
        goto out;
    }
    for (; started < workers; started++) {
        if (pthread_create(&threads[started], NULL, fcgiref_worker, NULL) != 0) {
            fprintf(stderr, "fcgi_ref: cannot start worker %d\n", started);
            goto out;
        }
    }
    /* Serve until the listener closes (or a stop signal _exits). */
    for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    rc = 0;
out:
    /* After a failed start, returning ends the process and with it any
     * worker already started (half a pool would skew the measurement);
     * those may still be reading the answer, so it is freed only when none
     * runs. */
    if (rc == 0 || started == 0) free(fcgiref_answer);
    return rc;
}
