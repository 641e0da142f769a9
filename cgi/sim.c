/* sim: the reference runtime (`flightdeck simulate`). See sim.h.
 *
 * Layout, top to bottom: options and usage; a small deterministic PRNG;
 * JSON helpers; the HTTP client (one libcurl easy handle per thread, retries
 * with backoff); the session player (one agent session from creation to its
 * end, obeying the control endpoint); the thread pool and the report.
 *
 * Every choice the agent makes (scenario, tools, which call is flaky, token
 * counts) comes from a PRNG seeded by --seed and the session's index, never
 * from the server's answers or thread timing, so the same seed plays the same
 * sessions; what the server does (pause, cancel) only cuts them short. */
#include "sim.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#ifndef FD_VERSION
#define FD_VERSION "dev"
#endif

#define SIM_EXIT_USAGE      2
#define SIM_MAX_SESSIONS    1000000
#define SIM_MAX_CONCURRENCY 64
#define SIM_MAX_TOOLS       1000
#define SIM_MAX_STEP_MS     600000
#define SIM_RETRIES         5       /* extra attempts after a transport error or 5xx */
#define SIM_POLL_S          20      /* control long-poll while paused or waiting */
#define SIM_BODY_MAX        ((size_t)32 << 20) /* no sane answer is bigger */
#define SIM_BATCH_MAX       8       /* events per request this runtime ever sends */

/* ----------------------------------------------------------------- options */

typedef enum sim_scenario {
    SC_COMPLETE, SC_FAIL, SC_RETRY, SC_MANUAL, SC_CLIENT, SC_MIXED, SC__COUNT
} sim_scenario;

static const char *const scenario_names[SC__COUNT] = {
    [SC_COMPLETE] = "complete", [SC_FAIL] = "fail", [SC_RETRY] = "retry",
    [SC_MANUAL] = "manual", [SC_CLIENT] = "client", [SC_MIXED] = "mixed",
};

typedef struct sim_opts {
    char         server[512]; /* checked loopback base URL, no trailing '/' */
    const char  *token;
    int          sessions;
    int          concurrency;
    uint64_t     seed;
    sim_scenario scenario;
    int          step_ms;
    int          tools;
    int          resend_pct;  /* resend this share of event requests verbatim */
    int          json;
    int          verbose;
} sim_opts;

static const char sim_usage_text[] =
    "usage: flightdeck simulate [options]\n"
    "\n"
    "Play AI-agent sessions against a Flightdeck server over its HTTP API, the\n"
    "way a real runtime must: ask before every tool call, wait while a session\n"
    "is paused, stop when it is canceled.\n"
    "\n"
    "options:\n"
    "  --server URL       server to talk to (default http://127.0.0.1:8080); only\n"
    "                     http://127.0.0.1, http://localhost and http://[::1] are\n"
    "                     accepted: this tool never sends traffic off the machine\n"
    "  --token TOKEN      a token with the runtime role (default $FLIGHTDECK_TOKEN)\n"
    "  --sessions N       sessions to play (default 1, at most 1000000)\n"
    "  --concurrency C    sessions played at once, one thread each (default 1, max 64)\n"
    "  --seed S           seed of every choice the agent makes (default 1); the same\n"
    "                     seed plays the same sessions\n"
    "  --scenario NAME    what the agents do (default mixed):\n"
    "                       complete  server tool calls, then completed\n"
    "                       fail      one call ends in an error the agent cannot\n"
    "                                 get past: error event, then failed\n"
    "                       retry     some calls time out once and are retried\n"
    "                                 (status retrying, then running again)\n"
    "                       manual    one call per session waits for a person: the\n"
    "                                 session waits until someone completes it in\n"
    "                                 the Work Center (or POST /api/v1/tasks/ID/complete)\n"
    "                       client    some calls are client calls: the simulator\n"
    "                                 fetches them and posts their results itself\n"
    "                       mixed     each session picks complete, retry, fail or\n"
    "                                 client (never manual: nobody may be watching)\n"
    "  --step-ms MS       simulated execution time of a tool call (default 50)\n"
    "  --tools N          tool calls per session (default 4)\n"
    "  --resend PCT       resend PCT% of event requests verbatim, as a runtime does\n"
    "                     when an answer is lost; the server must acknowledge them\n"
    "                     as duplicates (default 0)\n"
    "  --json             one JSON line per session {\"id\",\"status\",\"events_sent\",\n"
    "                     \"tool_calls\",\"refused_tool_calls\",\"duplicates\",...} and a\n"
    "                     final summary line {\"summary\":true,...}\n"
    "  --verbose          log status changes and waits to stderr\n"
    "  --help             this text\n"
    "\n"
    "Pause, resume or cancel a session from the browser or the API while it runs:\n"
    "the simulator finishes the call in flight, then stops on cancel, or waits on\n"
    "pause (for as long as it takes) until the session is resumed or canceled.\n"
    "\n"
    "exit status: 0 every session ended in a status consistent with what happened;\n"
    "1 a request failed after retries, the token was refused, or the server broke\n"
    "the protocol; 2 bad usage.\n";

/* Print the usage text; to stderr with exit code 2 after a usage error (msg
 * says what was wrong), to stdout with 0 for --help. */
static int sim_usage(const char *msg)
{
    if (!msg) {
        fputs(sim_usage_text, stdout);
        return 0;
    }
    fprintf(stderr, "flightdeck simulate: %s\n\n%s", msg, sim_usage_text);
    return SIM_EXIT_USAGE;
}

/* Parse a whole decimal number within [lo, hi] into *out; -1 when s is
 * anything else (empty, trailing characters, out of range). */
static int sim_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Is `url` a server on this machine? Accepts exactly http://HOST[:PORT][/PATH]
 * with HOST one of 127.0.0.1, localhost, [::1], a port of 1..65535 and a path
 * of plain characters. Everything else is refused, in particular userinfo
 * tricks such as http://127.0.0.1@example.com and look-alikes such as
 * http://127.0.0.1.example.com: this tool must never send traffic off the
 * machine. On success the URL (without a trailing '/') goes to out. */
static int sim_server_ok(const char *url, char *out, size_t n)
{
    static const char *const hosts[] = { "127.0.0.1", "localhost", "[::1]" };
    if (strncmp(url, "http://", 7) != 0) return 0;
    const char *h = url + 7, *rest = NULL;
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        size_t l = strlen(hosts[i]);
        if (strncmp(h, hosts[i], l) == 0) { rest = h + l; break; }
    }
    if (!rest) return 0;
    if (*rest == ':') {
        const char *d = ++rest;
        long port = 0;
        while (*rest >= '0' && *rest <= '9' && rest - d < 6) port = port * 10 + (*rest++ - '0');
        if (rest == d || port < 1 || port > 65535) return 0;
    }
    if (*rest && *rest != '/') return 0;
    for (const char *p = rest; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '-' || c == '_' || c == '.' || c == '~'))
            return 0;
    }
    size_t len = strlen(url);
    while (len > 0 && url[len - 1] == '/' && url + len > rest) len--;
    if (len >= n) return 0;
    memcpy(out, url, len);
    out[len] = '\0';
    return 1;
}

/* A token goes into a header line: printable ASCII without spaces only, so
 * it can never smuggle in another header. */
static int sim_token_ok(const char *t)
{
    if (!t || !*t || strlen(t) > 512) return 0;
    for (; *t; t++)
        if (*t <= ' ' || *t > '~') return 0;
    return 1;
}

/* Fill *o from argv (argv[0] is "simulate"). Returns -1 when the options are
 * good, else the exit code to return at once (0 after --help, 2 on bad
 * usage, with the message printed). Accepts "--opt value" and "--opt=value". */
static int sim_parse_args(int argc, char **argv, sim_opts *o)
{
    const char *server = "http://127.0.0.1:8080";
    memset(o, 0, sizeof *o);
    o->token = getenv("FLIGHTDECK_TOKEN");
    o->sessions = 1;
    o->concurrency = 1;
    o->seed = 1;
    o->scenario = SC_MIXED;
    o->step_ms = 50;
    o->tools = 4;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        char name[32];
        const char *eq = strchr(a, '=');
        if (strncmp(a, "--", 2) == 0 && eq && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        int flag = !strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "--json") ||
                   !strcmp(name, "--verbose") || !strcmp(name, "-v");
        if (flag && v) {
            char msg[64];
            snprintf(msg, sizeof msg, "%s takes no value", name);
            return sim_usage(msg);
        }
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) return sim_usage(NULL);
        if (!strcmp(name, "--json")) { o->json = 1; continue; }
        if (!strcmp(name, "--verbose") || !strcmp(name, "-v")) { o->verbose = 1; continue; }
        static const char *const valued[] = { "--server", "--token", "--sessions",
                                              "--concurrency", "--seed", "--scenario",
                                              "--step-ms", "--tools", "--resend" };
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++)
            if (!strcmp(name, valued[k])) known = 1;
        if (!known) {
            char msg[96];
            snprintf(msg, sizeof msg, "unknown option \"%.40s\"", a);
            return sim_usage(msg);
        }
        if (!v) {
            if (i + 1 >= argc) {
                char msg[64];
                snprintf(msg, sizeof msg, "%s needs a value", name);
                return sim_usage(msg);
            }
            v = argv[++i];
        }
        long long n;
        if (!strcmp(name, "--server")) server = v;
        else if (!strcmp(name, "--token")) o->token = v;
        else if (!strcmp(name, "--sessions")) {
            if (sim_parse_int(v, 1, SIM_MAX_SESSIONS, &n))
                return sim_usage("--sessions must be a number from 1 to 1000000");
            o->sessions = (int)n;
        } else if (!strcmp(name, "--concurrency")) {
            if (sim_parse_int(v, 1, SIM_MAX_CONCURRENCY, &n))
                return sim_usage("--concurrency must be a number from 1 to 64");
            o->concurrency = (int)n;
        } else if (!strcmp(name, "--seed")) {
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (!*v || *end || errno || *v == '-')
                return sim_usage("--seed must be a whole number from 0 to 2^64-1");
            o->seed = (uint64_t)s;
        } else if (!strcmp(name, "--scenario")) {
            int found = -1;
            for (int k = 0; k < SC__COUNT; k++)
                if (!strcmp(v, scenario_names[k])) found = k;
            if (found < 0)
                return sim_usage("--scenario must be complete, fail, retry, manual, client or mixed");
            o->scenario = (sim_scenario)found;
        } else if (!strcmp(name, "--step-ms")) {
            if (sim_parse_int(v, 0, SIM_MAX_STEP_MS, &n))
                return sim_usage("--step-ms must be a number from 0 to 600000");
            o->step_ms = (int)n;
        } else if (!strcmp(name, "--tools")) {
            if (sim_parse_int(v, 0, SIM_MAX_TOOLS, &n))
                return sim_usage("--tools must be a number from 0 to 1000");
            o->tools = (int)n;
        } else {
            if (sim_parse_int(v, 0, 100, &n)) return sim_usage("--resend must be a percentage, 0 to 100");
            o->resend_pct = (int)n;
        }
    }
    if (!sim_server_ok(server, o->server, sizeof o->server))
        return sim_usage("--server must be http://127.0.0.1[:PORT], http://localhost[:PORT] or "
                         "http://[::1][:PORT] (this tool never talks to another machine)");
    if (!o->token || !*o->token)
        return sim_usage("no token: pass --token or set FLIGHTDECK_TOKEN "
                         "(flightdeck token create --name sim --role runtime)");
    if (!sim_token_ok(o->token)) return sim_usage("the token has characters no token has");
    if (o->concurrency > o->sessions) o->concurrency = o->sessions;
    return -1;
}

/* --------------------------------------------------------------------- PRNG */

/* splitmix64: tiny, fast, and good enough to pick tools; ours so a seed
 * means the same thing everywhere (rand() differs between libcs and is
 * shared between threads). */
static uint64_t sim_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A number in [0, n); 0 when n is 0. The modulo bias is irrelevant here. */
static unsigned sim_rng_below(uint64_t *s, unsigned n)
{
    uint64_t r = sim_rng_next(s);
    return n ? (unsigned)(r % n) : 0;
}

/* --------------------------------------------------------------------- JSON */

/* Sticky-error builders, in the manner of buf: each sets *bad when an
 * allocation fails (or its parent is NULL), so a builder checks once, at
 * its end, instead of after every member. */

/* Add string v as member k of o. */
static void j_str(cJSON *o, const char *k, const char *v, int *bad)
{
    if (!o || !cJSON_AddStringToObject(o, k, v)) *bad = 1;
}

/* Add number v as member k of o. */
static void j_num(cJSON *o, const char *k, double v, int *bad)
{
    if (!o || !cJSON_AddNumberToObject(o, k, v)) *bad = 1;
}

/* Add boolean v as member k of o. */
static void j_bool(cJSON *o, const char *k, int v, int *bad)
{
    if (!o || !cJSON_AddBoolToObject(o, k, v)) *bad = 1;
}

/* Add an empty object as member k of o and return it (NULL, *bad set, on failure). */
static cJSON *j_obj(cJSON *o, const char *k, int *bad)
{
    cJSON *c = o ? cJSON_AddObjectToObject(o, k) : NULL;
    if (!c) *bad = 1;
    return c;
}

/* Attach item (owned from here on: freed when it cannot be attached). */
static void j_put(cJSON *o, const char *k, cJSON *item, int *bad)
{
    if (!o || !item || !cJSON_AddItemToObject(o, k, item)) {
        cJSON_Delete(item);
        *bad = 1;
    }
}

/* Member k of o as a string, or NULL. */
static const char *j_get_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Member k of o as a number, or dflt. */
static double j_get_num(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* The "error":{"code"} of an error answer, or "". */
static const char *j_err_code(const cJSON *o)
{
    const char *s = j_get_str(cJSON_GetObjectItemCaseSensitive(o, "error"), "code");
    return s ? s : "";
}

/* The "error":{"message"} of an error answer, or "". */
static const char *j_err_msg(const cJSON *o)
{
    const char *s = j_get_str(cJSON_GetObjectItemCaseSensitive(o, "error"), "message");
    return s ? s : "";
}

/* --------------------------------------------------------------------- HTTP */

/* One thread's connection to the server. The easy handle keeps the
 * connection alive between requests, so a session costs no handshakes. */
typedef struct sim_http {
    CURL              *curl;
    struct curl_slist *headers;
    const char        *base;        /* the checked loopback URL */
    buf                body;        /* the answer being received */
    int                too_large;   /* the answer passed SIM_BODY_MAX */
    long               retry_after; /* seconds, from the last answer's Retry-After; 0 none */
    char               err[256];    /* why the last request failed */
} sim_http;

/* An answer: HTTP status and parsed body. */
typedef struct sim_resp {
    long   code;    /* HTTP status */
    cJSON *json;    /* the body, or NULL when empty or not JSON */
    int    retried; /* our attempts beyond the first. Even at 0 an earlier copy may
                       have been applied: libcurl resends on its own when a reused
                       connection dies before the answer */
} sim_resp;

/* Release an answer's body (safe on a zeroed one). */
static void sim_resp_fini(sim_resp *r)
{
    cJSON_Delete(r->json);
    r->json = NULL;
}

/* Sleep ms milliseconds, resuming after signals. */
static void sim_sleep_ms(long ms)
{
    if (ms <= 0) return;
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* libcurl write callback: collect the body; refuse (abort the transfer)
 * past SIM_BODY_MAX or when memory runs out. */
static size_t sim_http_write(char *p, size_t size, size_t n, void *arg)
{
    sim_http *h = arg;
    size_t len = size * n; /* libcurl documents size as always 1 */
    if (len > SIM_BODY_MAX - h->body.len) { h->too_large = 1; return 0; }
    buf_add(&h->body, p, len);
    return h->body.err ? 0 : len;
}

/* libcurl header callback: remember Retry-After (seconds), which the server
 * sends with 503 and with long-polls it could not hold, so we wait as asked
 * instead of hammering it. */
static size_t sim_http_header(char *p, size_t size, size_t n, void *arg)
{
    static const char name[] = "retry-after:";
    sim_http *h = arg;
    size_t len = size * n, i = sizeof name - 1;
    if (len > i && strncasecmp(p, name, i) == 0) {
        long v = 0;
        while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
        while (i < len && p[i] >= '0' && p[i] <= '9' && v < 3600) v = v * 10 + (p[i++] - '0');
        h->retry_after = v;
    }
    return len;
}

/* Release a connection (safe on a zeroed or half-initialised one). */
static void sim_http_fini(sim_http *h)
{
    curl_slist_free_all(h->headers);
    if (h->curl) curl_easy_cleanup(h->curl);
    buf_fini(&h->body);
    memset(h, 0, sizeof *h);
}

/* Set up a connection to o->server with o->token. The options that keep the
 * traffic on this machine are set here once: HTTP only, no proxy (even if
 * http_proxy is set in the environment), no redirects. 0, or -1 (cleaned up). */
static int sim_http_init(sim_http *h, const sim_opts *o)
{
    static const char *const fixed[] = { "Content-Type: application/json",
                                         "Accept: application/json",
                                         "Expect:" /* no 100-continue round trip */ };
    memset(h, 0, sizeof *h);
    buf_init(&h->body);
    h->base = o->server;
    h->curl = curl_easy_init();
    if (!h->curl) return -1;
    buf auth;
    buf_init(&auth);
    buf_printf(&auth, "Authorization: Bearer %s", o->token);
    int bad = auth.err;
    struct curl_slist *t;
    if (!bad) {
        if ((t = curl_slist_append(h->headers, buf_str(&auth)))) h->headers = t;
        else bad = 1;
    }
    buf_fini(&auth);
    for (size_t i = 0; !bad && i < sizeof fixed / sizeof fixed[0]; i++) {
        if ((t = curl_slist_append(h->headers, fixed[i]))) h->headers = t;
        else bad = 1;
    }
    CURL *c = h->curl;
    if (bad ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK || /* threads: no SIGALRM */
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_USERAGENT, "flightdeck-simulate/" FD_VERSION) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sim_http_write) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, h) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sim_http_header) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HEADERDATA, h) != CURLE_OK) {
        sim_http_fini(h);
        return -1;
    }
    return 0;
}

/* Send one request: method GET or POST, path below the base URL, an
 * optional JSON body. wait_s is how long the server may legitimately hold
 * it (long-polls); the transfer times out 15 s after that.
 *
 * Transport errors and 5xx answers are retried up to SIM_RETRIES times with
 * backoff (100 ms doubling, or the server's Retry-After): every request this
 * runtime sends is safe to repeat (events carry idempotency keys, the session
 * id is ours, the rest are reads or refused when repeated), which is the
 * point of the protocol. Returns 0 with *r filled for any answer below 500
 * (the caller judges it; free with sim_resp_fini), or -1 with h->err set. */
static int sim_http_do(sim_http *h, const char *method, const char *path, const cJSON *body,
                       long wait_s, sim_resp *r)
{
    int rc = -1, post = strcmp(method, "POST") == 0;
    char *text = NULL;
    buf url;
    buf_init(&url);
    memset(r, 0, sizeof *r);
    buf_puts(&url, h->base);
    buf_puts(&url, path);
    if (url.err || (body && !(text = cJSON_PrintUnformatted(body)))) {
        snprintf(h->err, sizeof h->err, "%s %s: out of memory", method, path);
        goto out;
    }
    for (int attempt = 0; attempt <= SIM_RETRIES; attempt++) {
        if (attempt) {
            long ms = h->retry_after > 0 ? (h->retry_after > 5 ? 5 : h->retry_after) * 1000L
                                         : 100L << (attempt - 1);
            sim_sleep_ms(ms);
        }
        r->retried = attempt;
        buf_reset(&h->body);
        h->too_large = 0;
        h->retry_after = 0;
        CURL *c = h->curl;
        int bad = curl_easy_setopt(c, CURLOPT_URL, buf_str(&url)) != CURLE_OK ||
                  curl_easy_setopt(c, CURLOPT_TIMEOUT, wait_s + 15L) != CURLE_OK;
        if (post)
            bad = bad || curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
                  curl_easy_setopt(c, CURLOPT_POSTFIELDS, text ? text : "") != CURLE_OK ||
                  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                                   (curl_off_t)(text ? strlen(text) : 0)) != CURLE_OK;
        else
            bad = bad || curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK;
        if (bad) {
            snprintf(h->err, sizeof h->err, "%s %s: libcurl refused an option", method, path);
            goto out;
        }
        CURLcode cc = curl_easy_perform(c);
        if (cc == CURLE_OK) {
            long code = 0;
            if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) code = 0;
            r->code = code;
            if (code >= 100 && code < 500) {
                if (h->body.len) r->json = cJSON_ParseWithLength(h->body.p, h->body.len);
                rc = 0;
                goto out;
            }
            snprintf(h->err, sizeof h->err, "%s %s: HTTP %ld %.120s", method, path, code,
                     buf_str(&h->body));
        } else if (h->too_large || h->body.err) {
            /* Repeating would fetch the same oversized answer. */
            snprintf(h->err, sizeof h->err, "%s %s: the answer is too large", method, path);
            goto out;
        } else {
            r->code = 0;
            snprintf(h->err, sizeof h->err, "%s %s: %s", method, path, curl_easy_strerror(cc));
        }
    }
out:
    cJSON_free(text);
    buf_fini(&url);
    return rc;
}

/* ---------------------------------------------------------- session player */

typedef enum sim_flow {
    SIM_GO,   /* carry on */
    SIM_STOP, /* the session ended under us (canceled, deleted, ended elsewhere) */
    SIM_ERR   /* a request failed or the server broke the protocol: s->failed */
} sim_flow;

typedef enum sim_kind { K_SERVER, K_CLIENT, K_MANUAL } sim_kind;

static const char *const kind_names[] = { "server", "client", "manual" };

/* One session being played, and what came of it. */
typedef struct sim_sess {
    sim_http       *h;
    const sim_opts *o;
    uint64_t        rng;        /* the agent's choices */
    uint64_t        rng_resend; /* --resend draws: a stream of its own, so resending
                                   never changes what the agent does */
    int             index;
    sim_scenario    sc;         /* mixed is resolved per session */
    char            id[80];
    char            status[16]; /* the latest status the server told us */
    long long       seq;        /* the latest sequence number the server told us */
    int             nev;        /* events keyed so far: the next key is id-(nev+1) */
    int             ended;      /* we finished it: 1 completed, 2 failed */
    int             canceled;   /* we stopped because it was canceled */
    int             gone;       /* it was deleted under us */
    /* the report */
    int             events_sent, tool_calls, refused, duplicates;
    int             failed;     /* unrecoverable request failure or protocol violation */
    int             fatal;      /* ...that will hit every other session too: stop the run */
    char            error[320];
} sim_sess;

static const char *const sim_statuses[] = { "pending", "running", "retrying", "pausing",
                                            "paused", "canceling", "canceled", "completed",
                                            "failed", NULL };

/* Is s one of the NULL-terminated set? */
static int sim_in(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (!strcmp(s, *set)) return 1;
    return 0;
}

/* Status classes (DESIGN.md section 4): may a tool call start; is a pause
 * under way; is a cancel under way or done; did the runtime end it. */
static int st_accepts_calls(const char *s) { return !strcmp(s, "running") || !strcmp(s, "retrying"); }
static int st_paused(const char *s) { return !strcmp(s, "pausing") || !strcmp(s, "paused"); }
static int st_canceled(const char *s) { return !strcmp(s, "canceling") || !strcmp(s, "canceled"); }
static int st_ended(const char *s) { return !strcmp(s, "completed") || !strcmp(s, "failed"); }

/* Record that the session failed (keeps the first reason: later ones are
 * usually its consequences). Returns -1 for `return sim_fail(...)`. */
static int sim_fail(sim_sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sim_fail(sim_sess *s, const char *fmt, ...)
{
    if (!s->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->error, sizeof s->error, fmt, ap);
        va_end(ap);
    }
    s->failed = 1;
    return -1;
}

/* With --verbose, one line about the session to stderr. */
static void sim_log(const sim_sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sim_log(const sim_sess *s, const char *fmt, ...)
{
    if (!s->o->verbose) return;
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "simulate: %s: %s\n", s->id, line);
}

/* Take the status the server reported (NULL: it said none; keep ours).
 * Checks what a runtime can check: the status is one of the nine, and a
 * canceled session never becomes anything else (cancel is permanent). */
static int sim_status_set(sim_sess *s, const char *st)
{
    if (!st) return 0;
    if (!sim_in(st, sim_statuses))
        return sim_fail(s, "the server reported an unknown status \"%.20s\"", st);
    if (!strcmp(s->status, "canceled") && strcmp(st, "canceled") != 0)
        return sim_fail(s, "protocol: a canceled session became %s (cancel is permanent)", st);
    if (strcmp(s->status, st) != 0) {
        sim_log(s, "%s -> %s", *s->status ? s->status : "(new)", st);
        snprintf(s->status, sizeof s->status, "%s", st);
    }
    return 0;
}

/* A request on behalf of s. 401/403 and an unreachable server fail the
 * session and mark it fatal (every other session would fail the same way).
 * 0 with *r to judge (free it), or -1 (nothing to free). */
static int sim_req(sim_sess *s, const char *method, const char *path, const cJSON *body,
                   long wait_s, sim_resp *r)
{
    if (sim_http_do(s->h, method, path, body, wait_s, r)) {
        s->fatal = 1;
        return sim_fail(s, "%s", s->h->err);
    }
    if (r->code == 401 || r->code == 403) {
        s->fatal = 1;
        sim_fail(s, "%s %s: the server refused the token (HTTP %ld: %.120s)", method, path,
                 r->code, j_err_msg(r->json));
        sim_resp_fini(r);
        return -1;
    }
    return 0;
}

/* Ask the control endpoint, telling it what we know (status, seq) so that
 * with wait > 0 it answers as soon as either changes. Takes the answer's
 * status and seq. An immediate unchanged answer to a long-poll means the
 * server had no free long-poll slot (it says Retry-After): wait as told
 * before the caller asks again. 0, 1 when the session is gone, -1 failed. */
static int sim_control(sim_sess *s, int wait)
{
    char path[256];
    sim_resp r;
    snprintf(path, sizeof path, "/api/v1/sessions/%s/control?status=%s&seq=%lld&wait=%d", s->id,
             *s->status ? s->status : "pending", s->seq, wait);
    if (sim_req(s, "GET", path, NULL, wait, &r)) return -1;
    int rc = 0;
    const char *st = j_get_str(r.json, "status");
    if (r.code == 404) {
        s->gone = 1;
        rc = 1;
    } else if (r.code != 200 || !st) {
        rc = sim_fail(s, "GET control: HTTP %ld %.120s", r.code, j_err_msg(r.json));
    } else {
        long long seq = (long long)j_get_num(r.json, "seq", -1);
        int changed = strcmp(st, s->status) != 0 || seq > s->seq;
        const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(r.json, "tool_calls_allowed");
        if (sim_status_set(s, st)) rc = -1;
        else if (seq < 0) rc = sim_fail(s, "GET control: no seq in the answer");
        else if (cJSON_IsBool(allowed) && !!cJSON_IsTrue(allowed) != st_accepts_calls(st))
            rc = sim_fail(s, "protocol: control says tool_calls_allowed=%s while %s",
                          cJSON_IsTrue(allowed) ? "true" : "false", st);
        if (seq > s->seq) s->seq = seq;
        if (rc == 0 && wait > 0 && !changed && s->h->retry_after > 0) {
            long secs = s->h->retry_after > 5 ? 5 : s->h->retry_after;
            sim_log(s, "no long-poll slot free: asking again in %ld s", secs);
            sim_sleep_ms(secs * 1000L);
        }
    }
    sim_resp_fini(&r);
    return rc;
}

/* Before anything that needs a live session (a tool call, the completion):
 * ask the control endpoint; while the session is pausing or paused, long-
 * poll until that changes. GO when it runs; STOP when it is canceling,
 * canceled, ended by someone else, or deleted. */
static sim_flow sim_gate(sim_sess *s)
{
    int e = sim_control(s, 0), told = 0;
    for (;;) {
        if (e < 0) return SIM_ERR;
        if (e > 0) return SIM_STOP;
        if (st_paused(s->status)) {
            if (!told++) sim_log(s, "%s: waiting for resume or cancel", s->status);
            e = sim_control(s, SIM_POLL_S);
            continue;
        }
        if (st_canceled(s->status)) {
            s->canceled = 1;
            return SIM_STOP;
        }
        if (st_ended(s->status)) {
            sim_log(s, "ended by someone else (%s): stopping", s->status);
            return SIM_STOP;
        }
        return SIM_GO; /* pending, running, retrying */
    }
}

/* What the server said to an event request. */
typedef struct sim_ack {
    int       accepted, duplicates;
    long long seq0;      /* sequence of the first event (0 when it has no row) */
    char      code[48];  /* error code of a 409 */
    char      status[16]; /* the status this answer reported (a resend may see a later one) */
} sim_ack;

typedef enum sim_sent { SENT_OK, SENT_CONFLICT, SENT_GONE, SENT_ERR } sim_sent;

/* Check a 200 answer to n events: every event acknowledged, each with its
 * sequence. seqs (n entries) receives them. 0, or -1 (s->failed). */
static int sim_ack_read(sim_sess *s, const cJSON *j, int n, sim_ack *a, long long *seqs)
{
    a->accepted = (int)j_get_num(j, "accepted", -1);
    a->duplicates = (int)j_get_num(j, "duplicates", -1);
    const cJSON *evs = cJSON_GetObjectItemCaseSensitive(j, "events");
    if (a->accepted < 0 || a->duplicates < 0 || a->accepted + a->duplicates != n ||
        !cJSON_IsArray(evs) || cJSON_GetArraySize(evs) != n)
        return sim_fail(s, "protocol: %d events answered with accepted=%d duplicates=%d", n,
                        a->accepted, a->duplicates);
    int i = 0;
    for (const cJSON *e = evs->child; e; e = e->next, i++) {
        seqs[i] = (long long)j_get_num(e, "seq", 0);
        if (seqs[i] > s->seq) s->seq = seqs[i];
    }
    a->seq0 = n > 0 ? seqs[0] : 0;
    const char *st = j_get_str(j, "status");
    snprintf(a->status, sizeof a->status, "%s", st ? st : "");
    return sim_status_set(s, st);
}

/* Resend an acknowledged request verbatim, as a runtime does when the answer
 * was lost: the server must acknowledge every event as a duplicate with the
 * sequence it gave the first time and record nothing. 0, or -1 (s->failed). */
static int sim_resend(sim_sess *s, const char *path, const cJSON *body, int n,
                      const long long *seqs)
{
    sim_resp r;
    sim_ack a;
    long long again[SIM_BATCH_MAX] = { 0 };
    if (sim_req(s, "POST", path, body, 0, &r)) return -1;
    int rc = 0;
    if (r.code == 404) {
        s->gone = 1; /* deleted meanwhile: nothing left to check */
    } else if (r.code != 200) {
        rc = sim_fail(s, "protocol: a resent event request got HTTP %ld %.40s (%.120s), "
                         "not a duplicate acknowledgement", r.code, j_err_code(r.json),
                      j_err_msg(r.json));
    } else if (sim_ack_read(s, r.json, n, &a, again)) {
        rc = -1;
    } else if (a.accepted != 0 || a.duplicates != n) {
        rc = sim_fail(s, "protocol: resent events were recorded again (accepted=%d duplicates=%d)",
                      a.accepted, a.duplicates);
    } else {
        for (int i = 0; i < n && rc == 0; i++)
            if (again[i] != seqs[i])
                rc = sim_fail(s, "protocol: a resent event came back with seq %lld, first %lld",
                              again[i], seqs[i]);
        s->duplicates += a.duplicates;
    }
    sim_resp_fini(&r);
    return rc;
}

/* POST the events in array evs (one as a plain event, several as a batch:
 * both shapes get exercised). Counts what was recorded and acknowledged as
 * duplicate; with --resend, may resend it to test idempotency.
 * SENT_OK (*a filled), SENT_CONFLICT (409: a->code and s->status set; the
 * server recorded nothing), SENT_GONE (404), SENT_ERR (s->failed). */
static sim_sent sim_send(sim_sess *s, const cJSON *evs, sim_ack *a)
{
    char path[160];
    long long seqs[SIM_BATCH_MAX] = { 0 };
    int n = cJSON_GetArraySize(evs);
    memset(a, 0, sizeof *a);
    if (n < 1 || n > SIM_BATCH_MAX) {
        sim_fail(s, "internal: a batch of %d events", n);
        return SENT_ERR;
    }
    cJSON *wrap = NULL;
    const cJSON *body = evs->child;
    if (n > 1) {
        /* A reference, so deleting the wrapper leaves the caller's array. */
        wrap = cJSON_CreateObject();
        if (!wrap || !cJSON_AddItemReferenceToObject(wrap, "events", (cJSON *)evs)) {
            cJSON_Delete(wrap);
            sim_fail(s, "out of memory");
            return SENT_ERR;
        }
        body = wrap;
    }
    snprintf(path, sizeof path, "/api/v1/sessions/%s/events", s->id);
    sim_resp r;
    sim_sent rc = SENT_ERR;
    if (sim_req(s, "POST", path, body, 0, &r)) goto out;
    if (r.code == 200) {
        /* Duplicates are normal here even on our first attempt: libcurl
         * itself resends a request whose reused connection died before any
         * answer, and the server may have applied the first copy. */
        if (sim_ack_read(s, r.json, n, a, seqs)) goto done;
        s->events_sent += a->accepted;
        s->duplicates += a->duplicates;
        rc = SENT_OK;
        if (s->o->resend_pct && sim_rng_below(&s->rng_resend, 100) < (unsigned)s->o->resend_pct &&
            sim_resend(s, path, body, n, seqs))
            rc = SENT_ERR;
    } else if (r.code == 409) {
        snprintf(a->code, sizeof a->code, "%s", j_err_code(r.json));
        rc = sim_status_set(s, j_get_str(r.json, "status")) ? SENT_ERR : SENT_CONFLICT;
    } else if (r.code == 404) {
        s->gone = 1;
        rc = SENT_GONE;
    } else {
        sim_fail(s, "POST events: HTTP %ld %.40s: %.160s", r.code, j_err_code(r.json),
                 j_err_msg(r.json));
    }
done:
    sim_resp_fini(&r);
out:
    cJSON_Delete(wrap);
    return rc;
}

/* A new event of `type` with the session's next idempotency key
 * ("<session>-<n>"), appended to evs. NULL with *bad set on failure. */
static cJSON *sim_event(sim_sess *s, cJSON *evs, const char *type, int *bad)
{
    char key[128];
    snprintf(key, sizeof key, "%s-%d", s->id, ++s->nev);
    cJSON *e = cJSON_CreateObject();
    if (!evs || !e || !cJSON_AddItemToArray(evs, e)) {
        cJSON_Delete(e);
        *bad = 1;
        return NULL;
    }
    j_str(e, "type", type, bad);
    j_str(e, "id", key, bad);
    return e;
}

/* Send events any live session accepts (messages, thoughts, results, usage)
 * and free evs. A 409 is expected only once the session was canceled (a
 * canceled session takes no user_message): STOP then. */
static sim_flow sim_say(sim_sess *s, cJSON *evs, int bad)
{
    sim_ack a;
    sim_sent r;
    if (bad || !evs) {
        sim_fail(s, "out of memory");
        r = SENT_ERR;
    } else {
        r = sim_send(s, evs, &a);
    }
    cJSON_Delete(evs);
    switch (r) {
    case SENT_OK: return SIM_GO;
    case SENT_GONE: return SIM_STOP;
    case SENT_CONFLICT:
        if (st_canceled(s->status)) {
            s->canceled = 1;
            return SIM_STOP;
        }
        sim_fail(s, "protocol: events refused with 409 %s while the session is %s", a.code,
                 s->status);
        return SIM_ERR;
    default: return SIM_ERR;
    }
}

/* Report a status the runtime may set on its own (retrying, running), in
 * its own request: the lifecycle may refuse it (an operator paused the
 * session meanwhile), and a refusal would roll back anything batched with
 * it. A refusal is fine: the gate before the next call sorts it out. STOP
 * when the refusal says the session was canceled. *done says whether the
 * server took it. */
static sim_flow sim_status_event(sim_sess *s, const char *status, int *done)
{
    int bad = 0;
    sim_ack a;
    cJSON *evs = cJSON_CreateArray();
    cJSON *e = sim_event(s, evs, "status", &bad);
    j_str(e, "status", status, &bad);
    *done = 0;
    sim_sent r = bad ? (sim_fail(s, "out of memory"), SENT_ERR) : sim_send(s, evs, &a);
    cJSON_Delete(evs);
    if (r == SENT_OK) { *done = 1; return SIM_GO; }
    if (r == SENT_GONE) return SIM_STOP;
    if (r == SENT_ERR) return SIM_ERR;
    if (strcmp(a.code, "invalid_transition") != 0) {
        sim_fail(s, "protocol: status %s refused with 409 %s", status, a.code);
        return SIM_ERR;
    }
    if (st_canceled(s->status)) {
        s->canceled = 1;
        return SIM_STOP;
    }
    sim_log(s, "status %s refused while %s", status, s->status);
    return SIM_GO;
}

/* ------------------------------------------------------------ what agents say */

static const struct sim_task {
    const char *before, *after; /* the prompt around the input's number */
    const char *input;          /* the input's name */
} sim_tasks[] = {
    { "Summarize support ticket #", " and draft a reply to the customer.", "ticket" },
    { "Find out why nightly build ", " failed and propose a fix.", "build" },
    { "Reconcile invoice ", " against its purchase order.", "invoice" },
    { "Answer customer question ", " about the refund policy.", "question" },
    { "Prepare the weekly metrics report for team ", ".", "team" },
};
static const char *const sim_server_tools[] = { "search_docs", "get_ticket", "query_database",
                                                "http_get", "read_file", "run_tests",
                                                "lookup_customer" };
static const char *const sim_manual_tools[] = { "approve_refund", "review_draft",
                                                "confirm_deployment" };
static const char *const sim_client_tools[] = { "read_local_file", "take_screenshot",
                                                "get_clipboard" };
static const char *const sim_thoughts[] = {
    "I should check the facts before answering.",
    "The previous result is not enough; I need more context.",
    "Let me verify this with another source.",
    "This looks like the relevant piece; I will fetch the details.",
};
static const struct sim_model {
    const char *name;
    double      in_per_m, out_per_m; /* US dollars per million tokens */
} sim_models[] = {
    { "gpt-4o", 2.5, 10.0 }, { "claude-3-5-sonnet", 3.0, 15.0 }, { "llama-3.1-70b", 0.6, 0.8 },
};

#define SIM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Add one usage event (model, tokens, cost) for the model turn after a tool
 * call to evs. */
static void sim_usage_event(sim_sess *s, cJSON *evs, int *bad)
{
    const struct sim_model *m = &sim_models[sim_rng_below(&s->rng, SIM_COUNT(sim_models))];
    unsigned pt = 300 + sim_rng_below(&s->rng, 3000), ct = 20 + sim_rng_below(&s->rng, 600);
    double cost = ((double)pt * m->in_per_m + (double)ct * m->out_per_m) / 1e6;
    cJSON *e = sim_event(s, evs, "usage", bad);
    j_str(e, "model", m->name, bad);
    j_num(e, "prompt_tokens", pt, bad);
    j_num(e, "completion_tokens", ct, bad);
    j_num(e, "cost", (double)(long long)(cost * 1e6 + 0.5) / 1e6, bad);
}

/* Start tool call tcid: its tool_call event, alone in its request (a
 * refusal rolls back the whole request). While the server refuses it with
 * 409 session_not_running (an operator paused the session since we last
 * asked), count the refusal, wait as the gate says, and ask again with the
 * same key: the refusal recorded nothing. *seq receives the call's event
 * sequence. */
static sim_flow sim_call_start(sim_sess *s, const char *tcid, const char *tool, sim_kind kind,
                               const cJSON *args, long long *seq)
{
    char key[128];
    snprintf(key, sizeof key, "%s-%d", s->id, ++s->nev);
    for (;;) {
        int bad = 0;
        sim_ack a;
        cJSON *evs = cJSON_CreateArray(), *e = cJSON_CreateObject();
        if (!evs || !e || !cJSON_AddItemToArray(evs, e)) {
            cJSON_Delete(e);
            bad = 1;
        }
        j_str(e, "type", "tool_call", &bad);
        j_str(e, "id", key, &bad);
        j_str(e, "tool_call_id", tcid, &bad);
        j_str(e, "tool", tool, &bad);
        j_str(e, "kind", kind_names[kind], &bad);
        j_put(e, "arguments", cJSON_Duplicate(args, 1), &bad);
        sim_sent r = bad ? (sim_fail(s, "out of memory"), SENT_ERR) : sim_send(s, evs, &a);
        cJSON_Delete(evs);
        if (r == SENT_OK) {
            /* A call recorded now (not a duplicate of an earlier attempt) was
             * recorded in a status that allows it, and the answer says so. */
            if (a.accepted == 1 && !st_accepts_calls(a.status)) {
                sim_fail(s, "protocol: tool call %s was recorded while the session is %s", tcid,
                         a.status);
                return SIM_ERR;
            }
            s->tool_calls++;
            *seq = a.seq0;
            sim_log(s, "tool call %s (%s, %s) started", tcid, tool, kind_names[kind]);
            return SIM_GO;
        }
        if (r == SENT_GONE) return SIM_STOP;
        if (r == SENT_ERR) return SIM_ERR;
        if (strcmp(a.code, "session_not_running") != 0) {
            sim_fail(s, "protocol: tool call %s refused with 409 %s", tcid, a.code);
            return SIM_ERR;
        }
        s->refused++;
        sim_log(s, "tool call %s refused: the session is %s", tcid, s->status);
        if (st_accepts_calls(s->status)) {
            sim_fail(s, "protocol: tool call %s refused as not running, but the status is %s",
                     tcid, s->status);
            return SIM_ERR;
        }
        sim_flow g = sim_gate(s);
        if (g != SIM_GO) return g;
    }
}

/* Tool call arguments: plausible and deterministic. NULL on failure. */
static cJSON *sim_args(sim_sess *s, const char *tool, int step)
{
    int bad = 0;
    char q[160];
    cJSON *a = cJSON_CreateObject();
    snprintf(q, sizeof q, "%s for step %d of session %d", tool, step + 1, s->index + 1);
    j_str(a, "query", q, &bad);
    j_num(a, "limit", 5 + sim_rng_below(&s->rng, 20), &bad);
    j_bool(a, "include_archived", (int)sim_rng_below(&s->rng, 2), &bad);
    if (bad) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

/* A successful tool result value. NULL on failure. */
static cJSON *sim_result(sim_sess *s, const char *tool)
{
    int bad = 0;
    char text[160];
    cJSON *r = cJSON_CreateObject();
    unsigned n = 1 + sim_rng_below(&s->rng, 12);
    snprintf(text, sizeof text, "%s returned %u item%s", tool, n, n == 1 ? "" : "s");
    j_bool(r, "ok", 1, &bad);
    j_num(r, "items", n, &bad);
    j_str(r, "summary", text, &bad);
    if (bad) {
        cJSON_Delete(r);
        return NULL;
    }
    return r;
}

/* Send the tool_result of server call tcid (a value, or an error of
 * category/message), with `retries`, plus the usage of the model turn that
 * reads it. Sent whatever the status: a call in flight when the session
 * was paused or canceled must report its end (that is what settles pausing
 * and canceling). */
static sim_flow sim_call_result(sim_sess *s, const char *tcid, const char *tool,
                                const char *category, const char *message, int retries)
{
    int bad = 0;
    cJSON *evs = cJSON_CreateArray();
    cJSON *e = sim_event(s, evs, "tool_result", &bad);
    j_str(e, "tool_call_id", tcid, &bad);
    if (category) {
        cJSON *err = j_obj(e, "error", &bad);
        j_str(err, "category", category, &bad);
        j_str(err, "message", message, &bad);
    } else {
        j_put(e, "result", sim_result(s, tool), &bad);
    }
    if (retries) j_num(e, "retries", retries, &bad);
    sim_usage_event(s, evs, &bad);
    sim_flow f = sim_say(s, evs, bad);
    if (f == SIM_GO) sim_log(s, "tool call %s ended%s%s (session %s)", tcid,
                             category ? " with error " : "", category ? category : "", s->status);
    return f;
}

/* Look for the tool_result of call tcid among the session's events after
 * sequence *after (advanced past everything read, page by page). 1 found
 * (*rejected: it carries an error), 0 not there, 2 the session is gone,
 * -1 failed. */
static int sim_find_result(sim_sess *s, const char *tcid, long long *after, int *rejected)
{
    char path[200];
    for (;;) {
        sim_resp r;
        snprintf(path, sizeof path,
                 "/api/v1/sessions/%s/events?after=%lld&type=tool_result&limit=1000", s->id,
                 *after);
        if (sim_req(s, "GET", path, NULL, 0, &r)) return -1;
        if (r.code == 404) {
            s->gone = 1;
            sim_resp_fini(&r);
            return 2;
        }
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(r.json, "data");
        if (r.code != 200 || !cJSON_IsArray(data)) {
            sim_fail(s, "GET events: HTTP %ld %.120s", r.code, j_err_msg(r.json));
            sim_resp_fini(&r);
            return -1;
        }
        int found = 0;
        for (const cJSON *ev = data->child; ev && !found; ev = ev->next) {
            long long seq = (long long)j_get_num(ev, "seq", 0);
            const char *id = j_get_str(ev, "tool_call_id");
            if (seq > *after) *after = seq;
            if (id && !strcmp(id, tcid)) {
                found = 1;
                const cJSON *body = cJSON_GetObjectItemCaseSensitive(ev, "data");
                *rejected = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(body, "error"));
            }
        }
        int more = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(r.json, "next_cursor"));
        sim_resp_fini(&r);
        if (found) return 1;
        if (!more) return 0;
    }
}

/* A client call: the runtime's client executes it. Acting as that client,
 * fetch the calls waiting for it (ours must be listed), "execute" it, and
 * post its result to /input. The call is canceled at once when the session
 * is canceled, so a missing call or a 409 tool_call_not_waiting is fine
 * then. /input has no idempotency key: when it answers tool_call_not_waiting
 * otherwise, a copy whose answer was lost may have delivered the result, so
 * look for it after the call's event (sequence call_seq) before calling it
 * a violation. */
static sim_flow sim_client_call(sim_sess *s, const char *tcid, const char *tool,
                                long long call_seq)
{
    char path[160];
    sim_resp r;
    snprintf(path, sizeof path, "/api/v1/sessions/%s/client-tool-calls", s->id);
    if (sim_req(s, "GET", path, NULL, 0, &r)) return SIM_ERR;
    int listed = 0;
    if (r.code == 404) {
        s->gone = 1;
        sim_resp_fini(&r);
        return SIM_STOP;
    }
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(r.json, "data");
    if (r.code != 200 || !cJSON_IsArray(data)) {
        sim_fail(s, "GET client-tool-calls: HTTP %ld %.120s", r.code, j_err_msg(r.json));
        sim_resp_fini(&r);
        return SIM_ERR;
    }
    for (const cJSON *c = data->child; c; c = c->next) {
        const char *id = j_get_str(c, "tool_call_id");
        if (id && !strcmp(id, tcid)) listed = 1;
    }
    sim_resp_fini(&r);
    if (!listed) {
        if (sim_control(s, 0)) return s->gone ? SIM_STOP : SIM_ERR;
        if (st_canceled(s->status)) {
            s->canceled = 1;
            return SIM_STOP;
        }
        sim_fail(s, "protocol: client call %s is not listed as waiting (session %s)", tcid,
                 s->status);
        return SIM_ERR;
    }
    sim_sleep_ms(s->o->step_ms); /* the client does the work */

    int bad = 0;
    cJSON *in = cJSON_CreateObject();
    j_str(in, "type", "tool_result", &bad);
    j_str(in, "tool_call_id", tcid, &bad);
    j_put(in, "result", sim_result(s, tool), &bad);
    snprintf(path, sizeof path, "/api/v1/sessions/%s/input", s->id);
    int e = bad ? sim_fail(s, "out of memory") : sim_req(s, "POST", path, in, 0, &r);
    cJSON_Delete(in);
    if (e) return SIM_ERR;
    sim_flow f = SIM_ERR;
    if (r.code == 200) {
        s->events_sent += (int)j_get_num(r.json, "accepted", 0);
        if (sim_status_set(s, j_get_str(r.json, "status")) == 0) f = SIM_GO;
        sim_log(s, "client call %s answered", tcid);
    } else if (r.code == 404) {
        s->gone = 1;
        f = SIM_STOP;
    } else if (r.code == 409 && sim_status_set(s, j_get_str(r.json, "status")) == 0) {
        const char *code = j_err_code(r.json);
        if (strcmp(code, "tool_call_not_waiting") == 0 && st_canceled(s->status)) {
            s->canceled = 1;
            f = SIM_STOP;
        } else if (strcmp(code, "tool_call_not_waiting") == 0) {
            int rejected = 0, found = sim_find_result(s, tcid, &call_seq, &rejected);
            if (found == 1) {
                s->events_sent++;
                f = SIM_GO;
            } else if (found == 2) {
                f = SIM_STOP;
            } else if (found == 0) {
                sim_fail(s, "protocol: the client's result for %s refused as not waiting, "
                            "but no result is recorded (%s)", tcid, s->status);
            }
        } else {
            sim_fail(s, "protocol: the client's result for %s refused with 409 %s (%s)", tcid,
                     code, s->status);
        }
    } else if (r.code != 409) {
        sim_fail(s, "POST input: HTTP %ld %.40s: %.120s", r.code, j_err_code(r.json),
                 j_err_msg(r.json));
    }
    sim_resp_fini(&r);
    return f;
}

/* A manual call waits for a person: watch the session (control long-poll)
 * until a tool_result for tcid appears after the call's event (sequence
 * `after`), made by whoever completed the task. Waits as long as it takes,
 * like the product says; a cancel resolves the task, and then we stop.
 * *rejected says whether the person rejected it. */
static sim_flow sim_manual_wait(sim_sess *s, const char *tcid, const char *tool, long long after,
                                int *rejected)
{
    int told = 0;
    *rejected = 0;
    for (;;) {
        int found = sim_find_result(s, tcid, &after, rejected);
        if (found < 0) return SIM_ERR;
        if (found == 2) return SIM_STOP;
        if (found) {
            sim_log(s, "task %s %s by a person", tcid, *rejected ? "rejected" : "completed");
            return SIM_GO;
        }
        if (st_canceled(s->status)) {
            s->canceled = 1; /* the cancel resolved the task as canceled */
            return SIM_STOP;
        }
        if (!told) {
            /* Always said (stderr): otherwise a manual run looks hung. */
            fprintf(stderr, "simulate: session %s waits for a person: complete tool call %s "
                            "(%s) in the Work Center (/tasks)\n", s->id, tcid, tool);
            told = 1;
        }
        int e = sim_control(s, SIM_POLL_S);
        if (e) return e > 0 ? SIM_STOP : SIM_ERR;
    }
}

/* One step of the agent: a thought (sometimes a message), then tool call
 * number i of the given kind, its execution and its result, then the usage
 * of the model turn. flaky: the call first times out and is retried once
 * (status retrying meanwhile). fatal: the call fails for good (the caller
 * then fails the session); *step receives the tool's name for that. */
static sim_flow sim_step(sim_sess *s, int i, sim_kind kind, int flaky, int fatal,
                         const char **step)
{
    const char *tool = kind == K_MANUAL ? sim_manual_tools[sim_rng_below(&s->rng, SIM_COUNT(sim_manual_tools))]
                     : kind == K_CLIENT ? sim_client_tools[sim_rng_below(&s->rng, SIM_COUNT(sim_client_tools))]
                     : sim_server_tools[sim_rng_below(&s->rng, SIM_COUNT(sim_server_tools))];
    *step = tool;
    int bad = 0;
    char text[200];
    cJSON *evs = cJSON_CreateArray();
    cJSON *e = sim_event(s, evs, "thought", &bad);
    j_str(e, "content", sim_thoughts[sim_rng_below(&s->rng, SIM_COUNT(sim_thoughts))], &bad);
    if (sim_rng_below(&s->rng, 3) == 0) {
        snprintf(text, sizeof text, "Let me use `%s` for this.", tool);
        e = sim_event(s, evs, "assistant_message", &bad);
        j_str(e, "content", text, &bad);
    }
    sim_flow f = sim_say(s, evs, bad);
    if (f != SIM_GO) return f;

    char tcid[64];
    long long seq = 0;
    snprintf(tcid, sizeof tcid, "call-%d", i + 1);
    cJSON *args = sim_args(s, tool, i);
    if (!args) {
        sim_fail(s, "out of memory");
        return SIM_ERR;
    }
    f = sim_call_start(s, tcid, tool, kind, args, &seq);
    if (f != SIM_GO) goto out;

    if (kind == K_CLIENT) {
        f = sim_client_call(s, tcid, tool, seq);
        if (f == SIM_GO) {
            bad = 0;
            evs = cJSON_CreateArray();
            sim_usage_event(s, evs, &bad);
            f = sim_say(s, evs, bad);
        }
        goto out;
    }
    if (kind == K_MANUAL) {
        int rejected;
        f = sim_manual_wait(s, tcid, tool, seq, &rejected);
        if (f != SIM_GO) goto out;
        bad = 0;
        evs = cJSON_CreateArray();
        e = sim_event(s, evs, "thought", &bad);
        j_str(e, "content", rejected ? "The person rejected this; I will continue without it."
                                     : "The person approved; continuing.", &bad);
        sim_usage_event(s, evs, &bad);
        f = sim_say(s, evs, bad);
        goto out;
    }

    sim_sleep_ms(s->o->step_ms); /* the call executes */
    if (fatal) {
        snprintf(text, sizeof text, "%s: permission denied for this project", tool);
        f = sim_call_result(s, tcid, tool, "permission_denied", text, 0);
        goto out;
    }
    if (!flaky) {
        f = sim_call_result(s, tcid, tool, NULL, NULL, 0);
        goto out;
    }
    /* Flaky: the first attempt times out; say we are retrying, then retry
     * as a new call (an ended call cannot be restarted) with retries:1. */
    snprintf(text, sizeof text, "%s did not answer within 30 s", tool);
    f = sim_call_result(s, tcid, tool, "timeout", text, 0);
    int retrying = 0;
    if (f == SIM_GO) f = sim_status_event(s, "retrying", &retrying);
    if (f == SIM_GO) f = sim_gate(s);
    if (f == SIM_GO) {
        char rid[80];
        snprintf(rid, sizeof rid, "%s-retry1", tcid);
        f = sim_call_start(s, rid, tool, K_SERVER, args, &seq);
        if (f == SIM_GO) {
            sim_sleep_ms(s->o->step_ms);
            f = sim_call_result(s, rid, tool, NULL, NULL, 1);
        }
    }
    if (f == SIM_GO && retrying) {
        int done;
        f = sim_status_event(s, "running", &done);
    }
out:
    cJSON_Delete(args);
    return f;
}

/* End the session: completed with a response, or (fail) an error event and
 * failed with error and step. Completion needs a live session, so it passes
 * the gate first; if an operator pauses it in between, the server refuses
 * (409 invalid_transition) and we wait and try again with the same key. */
static sim_flow sim_finish(sim_sess *s, int fail, const char *step)
{
    /* One key per event for every attempt: a refusal recorded nothing. */
    char key[128], key2[128] = "";
    if (fail) snprintf(key2, sizeof key2, "%s-%d", s->id, ++s->nev);
    snprintf(key, sizeof key, "%s-%d", s->id, ++s->nev);
    for (;;) {
        if (!fail) {
            sim_flow g = sim_gate(s);
            if (g != SIM_GO) return g;
        }
        int bad = 0;
        sim_ack a;
        char text[200];
        cJSON *evs = cJSON_CreateArray(), *e;
        if (fail) {
            snprintf(text, sizeof text, "Cannot continue: %s was denied access.", step);
            e = cJSON_CreateObject();
            if (!evs || !e || !cJSON_AddItemToArray(evs, e)) { cJSON_Delete(e); bad = 1; }
            j_str(e, "type", "error", &bad);
            j_str(e, "id", key2, &bad);
            j_str(e, "message", text, &bad);
            j_str(e, "step", step, &bad);
        }
        e = cJSON_CreateObject();
        if (!evs || !e || !cJSON_AddItemToArray(evs, e)) { cJSON_Delete(e); bad = 1; }
        j_str(e, "type", "status", &bad);
        j_str(e, "id", key, &bad);
        j_str(e, "status", fail ? "failed" : "completed", &bad);
        if (fail) {
            j_str(e, "error", text, &bad);
            j_str(e, "step", step, &bad);
        } else {
            snprintf(text, sizeof text, "Done: finished the task of session %d after %d tool "
                                        "call(s).", s->index + 1, s->tool_calls);
            j_str(e, "response", text, &bad);
        }
        sim_sent r = bad ? (sim_fail(s, "out of memory"), SENT_ERR) : sim_send(s, evs, &a);
        cJSON_Delete(evs);
        if (r == SENT_OK) {
            s->ended = fail ? 2 : 1;
            return SIM_GO;
        }
        if (r == SENT_GONE) return SIM_STOP;
        if (r == SENT_ERR) return SIM_ERR;
        if (strcmp(a.code, "invalid_transition") != 0) {
            sim_fail(s, "protocol: %s refused with 409 %s", fail ? "failed" : "completed", a.code);
            return SIM_ERR;
        }
        if (st_canceled(s->status)) {
            s->canceled = 1;
            return SIM_STOP;
        }
        /* completed is allowed from running, retrying and pausing, failed from
         * anything not terminal: a refusal there breaks the lifecycle table. */
        if (fail || !strcmp(s->status, "running") || !strcmp(s->status, "retrying") ||
            !strcmp(s->status, "pausing")) {
            sim_fail(s, "protocol: status %s refused while the session is %s",
                     fail ? "failed" : "completed", s->status);
            return SIM_ERR;
        }
        if (st_ended(s->status)) return SIM_STOP; /* someone else ended it */
        sim_log(s, "completion refused while %s; waiting", s->status);
    }
}

/* After the play: the server's status must match what happened — completed
 * or failed as we reported, canceled when we stopped for a cancel (canceling
 * settles once no call executes, and none does now: wait briefly for it). */
static void sim_verify(sim_sess *s)
{
    if (s->failed || s->gone) return;
    int e = sim_control(s, 0);
    for (int tries = 0; e == 0 && s->canceled && !strcmp(s->status, "canceling") && tries < 3; tries++)
        e = sim_control(s, 5);
    if (e) return;
    const char *want = s->ended == 1 ? "completed" : s->ended == 2 ? "failed"
                     : s->canceled ? "canceled" : NULL;
    if (want && strcmp(s->status, want) != 0)
        sim_fail(s, "protocol: the session should be %s but the server says %s", want, s->status);
}

/* Create the session: our own id (so a retried create cannot make two), the
 * agent, a name, trigger api, prompt and inputs, metadata marking it as
 * simulated with the seed that reproduces it. 0, or -1 (s->failed). */
static int sim_create(sim_sess *s, const char *prompt, const char *input_name, unsigned input)
{
    int bad = 0;
    char name[96];
    snprintf(name, sizeof name, "Simulated %s session #%d", scenario_names[s->sc], s->index + 1);
    cJSON *b = cJSON_CreateObject();
    j_str(b, "id", s->id, &bad);
    j_str(b, "agent", "simulator", &bad);
    j_str(b, "name", name, &bad);
    j_str(b, "trigger", "api", &bad);
    j_str(b, "prompt", prompt, &bad);
    cJSON *in = j_obj(b, "inputs", &bad);
    j_num(in, input_name, input, &bad);
    cJSON *md = j_obj(b, "metadata", &bad);
    j_bool(md, "simulator", 1, &bad);
    /* JSON numbers are doubles: a seed past 2^53 travels as a string. */
    if (s->o->seed <= (1ull << 53)) {
        j_num(md, "seed", (double)s->o->seed, &bad);
    } else {
        char seed[24];
        snprintf(seed, sizeof seed, "%" PRIu64, s->o->seed);
        j_str(md, "seed", seed, &bad);
    }
    j_num(md, "index", s->index, &bad);
    j_str(md, "scenario", scenario_names[s->sc], &bad);
    sim_resp r = { 0 }; /* read below only when sim_req filled it */
    int rc = bad ? sim_fail(s, "out of memory") : sim_req(s, "POST", "/api/v1/sessions", b, 0, &r);
    cJSON_Delete(b);
    if (rc) return -1;
    if (r.code == 201) {
        rc = sim_status_set(s, j_get_str(r.json, "status"));
    } else if (r.code == 409 && !strcmp(j_err_code(r.json), "session_exists")) {
        /* The id is ours and new (per-run nonce): a copy whose answer was
         * lost made it (our retry, or libcurl's own resend). */
        rc = sim_status_set(s, "pending");
    } else {
        rc = sim_fail(s, "POST /api/v1/sessions: HTTP %ld %.40s: %.160s", r.code,
                      j_err_code(r.json), j_err_msg(r.json));
    }
    sim_resp_fini(&r);
    if (rc == 0) sim_log(s, "created (%s)", scenario_names[s->sc]);
    return rc;
}

/* Play session number `index` from creation to its end (or until the
 * server stops it); the outcome is left in *s. */
static void sim_play(sim_sess *s, sim_http *h, const sim_opts *o, const char *nonce, int index)
{
    memset(s, 0, sizeof *s);
    s->h = h;
    s->o = o;
    s->index = index;
    s->rng = o->seed ^ ((uint64_t)index * 0xD1B54A32D192ED03ull);
    sim_rng_next(&s->rng);
    s->rng_resend = s->rng ^ 0xA5A5A5A5A5A5A5A5ull;
    snprintf(s->id, sizeof s->id, "sim_%s_%d", nonce, index + 1);

    /* Every draw below happens whatever the server does, in the same order,
     * so a seed always means the same agent. */
    s->sc = o->scenario;
    unsigned pick = sim_rng_below(&s->rng, 100);
    if (s->sc == SC_MIXED)
        s->sc = pick < 40 ? SC_COMPLETE : pick < 60 ? SC_RETRY : pick < 75 ? SC_FAIL : SC_CLIENT;
    int special = o->tools ? (int)sim_rng_below(&s->rng, (unsigned)o->tools) : -1;
    const struct sim_task *t = &sim_tasks[sim_rng_below(&s->rng, SIM_COUNT(sim_tasks))];
    unsigned input = 1000 + sim_rng_below(&s->rng, 9000);
    char prompt[256];
    snprintf(prompt, sizeof prompt, "%s%u%s", t->before, input, t->after);

    if (sim_create(s, prompt, t->input, input)) return;

    int bad = 0;
    cJSON *evs = cJSON_CreateArray();
    cJSON *e = sim_event(s, evs, "user_message", &bad);
    j_str(e, "content", prompt, &bad);
    e = sim_event(s, evs, "thought", &bad);
    j_str(e, "content", "First I will gather what I need, one tool at a time.", &bad);
    sim_flow f = sim_say(s, evs, bad);

    const char *step = "plan";
    for (int i = 0; f == SIM_GO && i < o->tools; i++) {
        unsigned extra = sim_rng_below(&s->rng, 6);
        sim_kind kind = K_SERVER;
        if (s->sc == SC_MANUAL && i == special) kind = K_MANUAL;
        if (s->sc == SC_CLIENT && (i == special || extra < 2)) kind = K_CLIENT;
        int flaky = s->sc == SC_RETRY && (i == special || extra < 3);
        int fatal = s->sc == SC_FAIL && i == special;
        f = sim_gate(s);
        if (f != SIM_GO) break;
        f = sim_step(s, i, kind, flaky, fatal, &step);
        if (f == SIM_GO && fatal) {
            f = sim_finish(s, 1, step);
            break;
        }
    }
    if (f == SIM_GO && !s->ended) (void)sim_finish(s, s->sc == SC_FAIL, step); /* outcome kept in s */
    sim_verify(s);
}

/* ------------------------------------------------------------ threads, report */

/* The run: the work queue (next session index) and the totals. */
typedef struct sim_run {
    const sim_opts *o;
    pthread_mutex_t lock;  /* guards everything below, and stdout */
    int             next;  /* the next session index to play */
    int             abort; /* stop handing out sessions: the server or token is unusable */
    char            nonce[16];
    int             played, completed, failed, canceled, other, errors;
    long long       events, calls, refused, dups;
} sim_run;

/* Print one session's line (JSON or human) and add it to the totals.
 * Called with run->lock held, so lines never interleave. */
static void sim_report(sim_run *run, const sim_sess *s)
{
    const char *status = s->gone ? "deleted" : *s->status ? s->status : "unknown";
    run->played++;
    if (!strcmp(status, "completed")) run->completed++;
    else if (!strcmp(status, "failed")) run->failed++;
    else if (!strcmp(status, "canceled")) run->canceled++;
    else run->other++;
    if (s->failed) run->errors++;
    run->events += s->events_sent;
    run->calls += s->tool_calls;
    run->refused += s->refused;
    run->dups += s->duplicates;
    if (run->o->json) {
        int bad = 0;
        cJSON *o = cJSON_CreateObject();
        j_str(o, "id", s->id, &bad);
        j_str(o, "status", status, &bad);
        j_num(o, "events_sent", s->events_sent, &bad);
        j_num(o, "tool_calls", s->tool_calls, &bad);
        j_num(o, "refused_tool_calls", s->refused, &bad);
        j_num(o, "duplicates", s->duplicates, &bad);
        j_str(o, "scenario", scenario_names[s->sc], &bad);
        if (s->failed) j_str(o, "error", s->error, &bad);
        char *line = bad ? NULL : cJSON_PrintUnformatted(o);
        if (line) printf("%s\n", line);
        else fprintf(stderr, "flightdeck simulate: out of memory reporting %s\n", s->id);
        cJSON_free(line);
        cJSON_Delete(o);
    } else {
        printf("%-28s %-10s %-9s events=%d tool_calls=%d refused=%d duplicates=%d%s%s\n", s->id,
               status, scenario_names[s->sc], s->events_sent, s->tool_calls, s->refused,
               s->duplicates, s->failed ? "  ERROR: " : "", s->failed ? s->error : "");
    }
    fflush(stdout); /* a test reading the pipe sees each session as it ends */
}

/* A worker thread: one connection, sessions taken from the shared counter
 * until none are left or the run is aborted. */
static void *sim_worker(void *arg)
{
    sim_run *run = arg;
    sim_http h;
    if (sim_http_init(&h, run->o)) {
        fprintf(stderr, "flightdeck simulate: cannot set up libcurl (out of memory?)\n");
        return NULL; /* the others play its share; unplayed sessions fail the run */
    }
    sim_sess *s = malloc(sizeof *s); /* big for a thread stack; one per worker */
    if (!s) {
        fprintf(stderr, "flightdeck simulate: out of memory\n");
        sim_http_fini(&h);
        return NULL;
    }
    for (;;) {
        if (pthread_mutex_lock(&run->lock)) break;
        int i = run->abort || run->next >= run->o->sessions ? -1 : run->next++;
        pthread_mutex_unlock(&run->lock);
        if (i < 0) break;
        sim_play(s, &h, run->o, run->nonce, i);
        if (pthread_mutex_lock(&run->lock)) break;
        sim_report(run, s);
        if (s->fatal && !run->abort) {
            run->abort = 1;
            fprintf(stderr, "flightdeck simulate: stopping: %s\n", s->error);
        }
        pthread_mutex_unlock(&run->lock);
    }
    free(s);
    sim_http_fini(&h);
    return NULL;
}

/* Print the final summary line. */
static void sim_summary(const sim_run *run, double secs, int code)
{
    const sim_opts *o = run->o;
    if (o->json) {
        int bad = 0;
        cJSON *j = cJSON_CreateObject();
        j_bool(j, "summary", 1, &bad);
        j_num(j, "sessions", o->sessions, &bad);
        j_num(j, "played", run->played, &bad);
        j_num(j, "completed", run->completed, &bad);
        j_num(j, "failed", run->failed, &bad);
        j_num(j, "canceled", run->canceled, &bad);
        j_num(j, "other", run->other, &bad);
        j_num(j, "errors", run->errors, &bad);
        j_num(j, "events_sent", (double)run->events, &bad);
        j_num(j, "tool_calls", (double)run->calls, &bad);
        j_num(j, "refused_tool_calls", (double)run->refused, &bad);
        j_num(j, "duplicates", (double)run->dups, &bad);
        j_num(j, "seconds", (double)(long long)(secs * 1000) / 1000, &bad);
        j_num(j, "exit_code", code, &bad);
        char *line = bad ? NULL : cJSON_PrintUnformatted(j);
        if (line) printf("%s\n", line);
        else fprintf(stderr, "flightdeck simulate: out of memory writing the summary\n");
        cJSON_free(line);
        cJSON_Delete(j);
    } else {
        printf("%d of %d session(s) in %.1f s: %d completed, %d failed, %d canceled, %d other; "
               "%lld events, %lld tool calls (%lld refused), %lld duplicates; %d error(s)\n",
               run->played, o->sessions, secs, run->completed, run->failed, run->canceled,
               run->other, run->events, run->calls, run->refused, run->dups, run->errors);
    }
    fflush(stdout);
}

/* Seconds on the monotonic clock. */
static double sim_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* See sim.h: parse, start the workers, wait for them, summarize. */
int sim_main(int argc, char **argv)
{
    sim_opts o;
    int rc = sim_parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "flightdeck simulate: libcurl failed to start\n");
        return 1;
    }
    sim_run run;
    memset(&run, 0, sizeof run);
    run.o = &o;
    if (pthread_mutex_init(&run.lock, NULL)) {
        fprintf(stderr, "flightdeck simulate: cannot create a mutex\n");
        curl_global_cleanup();
        return 1;
    }
    /* A per-run nonce in the session ids: runs never collide, so a 409
     * session_exists or a duplicate on a first attempt means a server bug. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
                 ((uint64_t)getpid() << 40);
    snprintf(run.nonce, sizeof run.nonce, "%010" PRIx64, (uint64_t)(sim_rng_next(&x) & 0xFFFFFFFFFFull));

    double t0 = sim_now();
    pthread_t tids[SIM_MAX_CONCURRENCY];
    int started = 0;
    for (int i = 0; i < o.concurrency; i++) {
        if (pthread_create(&tids[i], NULL, sim_worker, &run)) {
            fprintf(stderr, "flightdeck simulate: could start only %d thread(s)\n", started);
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    int code = (started > 0 && run.played == o.sessions && run.errors == 0) ? 0 : 1;
    sim_summary(&run, sim_now() - t0, code);
    pthread_mutex_destroy(&run.lock);
    curl_global_cleanup();
    return code;
}
