/* cli_data: the CLI commands that have an API — sessions (list, get, pause,
 * resume, cancel, delete, watch), history, tasks, artifacts, report. Each
 * reads the local database through the same modules as the API (sessq,
 * sessdata, lifecycle, ingest, report), or asks the server over HTTP
 * (cli_remote), and prints the same answer either way: the API's JSON with
 * --json, a table or a readable view otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "arena.h"
#include "cli.h"
#include "fmt.h"
#include "http.h"
#include "ingest.h"
#include "lifecycle.h"
#include "report.h"
#include "sessdata.h"
#include "sessq.h"

#define LIST_DEFAULT     50
#define TASKS_MAX        500
#define WATCH_POLL_MS    300  /* local: how often the database is read */
#define WATCH_WAIT_S     20   /* remote: the control long-poll */
#define WATCH_FALLBACK_S 1    /* remote, without runtime permission: poll this often */
#define EVENTS_PAGE      1000
#define LINE_MAX_CHARS   160  /* of one activity line's summary */

/* ------------------------------------------------------------ helpers */

/* The string member k of o, or "" (also for a non-string). */
static const char *js(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The number member k of o, or dflt. */
static double jn(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* "/api/v1/sessions/<id>" + suffix into b (b initialised by the caller). */
static void session_path(buf *b, const char *id, const char *suffix)
{
    buf_puts(b, "/api/v1/sessions");
    cli_remote_seg(b, id);
    if (suffix) buf_puts(b, suffix);
}

/* Append "?k=v" or "&k=v" (value percent-encoded) to path b. */
static void query_add(buf *b, const char *k, const char *v)
{
    buf_putc(b, b->len && memchr(b->p, '?', b->len) ? '&' : '?');
    buf_puts(b, k);
    buf_putc(b, '=');
    buf_add_urlenc(b, v, strlen(v));
}

/* One line of text for a table or an activity line: s with every control
 * character (newlines included) as a space, cut at max characters with an
 * ellipsis, into out (n bytes). UTF-8 sequences are not split. */
static void one_line(const char *s, size_t max, char *out, size_t n)
{
    size_t o = 0, chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < n; p++) {
        if ((*p & 0xC0) != 0x80) {
            if (chars == max) {
                /* back off to make room for "..." */
                while (o > 0 && o + 4 > n) o--;
                memcpy(out + o, "...", 3);
                o += 3;
                break;
            }
            chars++;
        }
        out[o++] = (*p < ' ' || *p == 0x7f) ? ' ' : (char)*p;
    }
    /* Never end inside a UTF-8 sequence. */
    while (o > 0 && ((unsigned char)out[o - 1] & 0x80)) {
        size_t start = o - 1;
        while (start > 0 && ((unsigned char)out[start] & 0xC0) == 0x80) start--;
        unsigned char lead = (unsigned char)out[start];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (o - start == need) break;
        o = start;
    }
    out[o] = '\0';
}

/* JSON value v on one line (strings without quotes), cut as one_line does. */
static void json_line(const cJSON *v, size_t max, char *out, size_t n)
{
    if (!v) { snprintf(out, n, "-"); return; }
    if (cJSON_IsString(v)) { one_line(v->valuestring, max, out, n); return; }
    char *t = cJSON_PrintUnformatted(v);
    one_line(t ? t : "?", max, out, n);
    cJSON_free(t);
}

/* "15:30:48" from an RFC 3339 time ("2026-11-21T15:30:48.123Z"), else the text. */
static void clock_of(const char *rfc3339, char *out, size_t n)
{
    const char *t = strchr(rfc3339, 'T');
    snprintf(out, n, "%.8s", t ? t + 1 : rfc3339);
}

/* Sleep ms milliseconds (resuming after signals). */
static void nap(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* A remote request that must answer 2xx with JSON; prints why not and
 * returns NULL. path is a buf the caller owns and releases. */
static cJSON *remote_get(cli_ctx *x, buf *path)
{
    if (path->err) { fprintf(stderr, "flightdeck: out of memory\n"); return NULL; }
    return cli_remote_json(x->r, "GET", buf_str(path), NULL);
}

/* ------------------------------------------------------ sessions list */

/* The table of a session list page ({"data":[...],"next_cursor"}). */
static void print_sessions(const cJSON *page)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(page, "data");
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
    printf("%-26s %-10s %-20s %-17s %-32s %10s\n", "ID", "STATUS", "AGENT", "STARTED (UTC)", "NAME", "COST");
    for (const cJSON *r = data ? data->child : NULL; r; r = r->next) {
        char name[200], started[17] = "-";
        one_line(js(r, "name"), 29, name, sizeof name);
        /* "2026-11-21T20:01:00.468Z" -> "2026-11-21 20:01": a minute is enough in a table */
        const char *st = js(r, "start_time");
        if (strlen(st) >= 16) {
            memcpy(started, st, 16);
            started[10] = ' ';
            started[16] = '\0';
        }
        printf("%-26.26s %-10.10s %-20.20s %-17s %-32s %10.4f\n", js(r, "id"), js(r, "status"),
               js(r, "agent"), started, name, jn(r, "total_cost", 0));
    }
    if (!data || !data->child) fprintf(stderr, "No sessions match.\n");
    if (cJSON_IsString(next)) printf("more: --cursor %s\n", next->valuestring);
}

/* "24h", "7d", "90m", "30s", "2w" as milliseconds; -1 when malformed. */
static long long since_ms(const char *s)
{
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (end == s || n < 0 || errno || n > 100000 || end[0] == '\0' || end[1] != '\0') return -1;
    switch (*end) {
    case 's': return n * 1000;
    case 'm': return n * 60000;
    case 'h': return n * 3600000;
    case 'd': return n * 86400000;
    case 'w': return n * 7 * 86400000;
    default:  return -1;
    }
}

/* sessions list / history list: every --name VALUE is the API's query
 * parameter of the same name (dashes for underscores); --since DURATION is
 * start_after = now - DURATION; --asc/--desc the direction. The query is
 * checked here (a bad one is a usage error either way), then run on the
 * local database (full access) or sent to the server. */
int cli_sessions_list(cli_ctx *x, int argc, char **argv)
{
    static const char *const params[] = {
        "status", "kind", "agent", "trigger", "source", "project", "environment", "cluster",
        "deployment", "thread_id", "parent", "success", "has_error", "range", "start_after",
        "start_before", "q", "meta", "metadata", "sort", "direction", "limit", "offset", "cursor", NULL };
    arena *a = arena_new();
    http_kv kvs[HTTP_MAX_PAIRS];
    http_kvs kv = { kvs, 0 };
    int json = 0, rc = 1, since = 0, after = 0;
    cJSON *o = NULL;
    buf path;
    buf_init(&path);
    if (!a) return 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) { json = 1; continue; }
        if (kv.n >= HTTP_MAX_PAIRS) {
            fprintf(stderr, "flightdeck: %s: too many options\n", x->name);
            rc = EXIT_USAGE;
            goto out;
        }
        if (!strcmp(argv[i], "--asc") || !strcmp(argv[i], "--desc")) {
            kvs[kv.n++] = (http_kv){ "direction", argv[i] + 2, strlen(argv[i] + 2) };
            continue;
        }
        char name[32] = "";
        const char *val = i + 1 < argc ? argv[i + 1] : NULL, *eq = NULL;
        if (!strncmp(argv[i], "--", 2)) {
            eq = strchr(argv[i] + 2, '=');
            size_t nl = eq ? (size_t)(eq - argv[i] - 2) : strlen(argv[i] + 2);
            snprintf(name, sizeof name, "%.*s", nl < sizeof name ? (int)nl : 0, argv[i] + 2);
            if (eq) val = eq + 1;
        }
        for (char *p = name; *p; p++) if (*p == '-') *p = '_';
        if (!strcmp(name, "since") && val) {
            long long ms = since_ms(val);
            if (ms < 0) {
                fprintf(stderr, "flightdeck: --since: give a duration such as 90m, 24h, 7d or 2w\n");
                rc = EXIT_USAGE;
                goto out;
            }
            const char *v = arena_printf(a, "%lld", (long long)db_now_ms() - ms);
            if (!v) goto out;
            kvs[kv.n++] = (http_kv){ "start_after", v, strlen(v) };
            since = 1;
            if (!eq) i++;
            continue;
        }
        int k;
        for (k = 0; params[k] && strcmp(params[k], name); k++) {}
        if (!params[k] || !val) {
            fprintf(stderr, "flightdeck: %s: unknown or incomplete option \"%s\"\n", x->name, argv[i]);
            rc = EXIT_USAGE;
            goto out;
        }
        if (!strcmp(params[k], "start_after")) after = 1;
        kvs[kv.n++] = (http_kv){ params[k], val, strlen(val) };
        if (!eq) i++;
    }
    if (since && after) {
        fprintf(stderr, "flightdeck: give --since or --start-after, not both\n");
        rc = EXIT_USAGE;
        goto out;
    }
    sessq q;
    sq_err err = { 0 };
    sessq_init(&q, LIST_DEFAULT);
    if (sessq_parse(&q, &kv, a, db_now_ms(), &err)) {
        char opt[40];
        snprintf(opt, sizeof opt, "%s", err.field ? err.field : "?");
        for (char *p = opt; *p; p++) if (*p == '_') *p = '-';
        fprintf(stderr, "flightdeck: --%s: %s\n", opt, err.message);
        rc = EXIT_USAGE;
        goto out;
    }
    if (x->r) {
        buf_puts(&path, "/api/v1/sessions");
        for (size_t i = 0; i < kv.n; i++) query_add(&path, kvs[i].key, kvs[i].val);
        o = remote_get(x, &path);
    } else {
        o = sessq_page_json(x->d, &q, a);
        if (!o) fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(x->d));
    }
    if (!o) goto out;
    if (json) rc = cli_print_json(o);
    else { print_sessions(o); rc = 0; }
out:
    cJSON_Delete(o);
    buf_fini(&path);
    arena_free(a);
    return rc;
}

/* ------------------------------------------------------- event lines */

/* The one-line summary of an event in its API shape ({seq, type, time,
 * actor, tool_call_id, data}) into out (n bytes), without time or seq. */
static void event_summary(const cJSON *ev, char *out, size_t n)
{
    const char *type = js(ev, "type");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(ev, "data");
    char a[LINE_MAX_CHARS * 4 + 8], b[LINE_MAX_CHARS * 4 + 8];
    if (!strcmp(type, "user_message") || !strcmp(type, "assistant_message") || !strcmp(type, "thought")) {
        one_line(js(d, "content"), LINE_MAX_CHARS, a, sizeof a);
        snprintf(out, n, "%s: %s", !strcmp(type, "user_message") ? "user"
                                   : !strcmp(type, "thought") ? "thought" : "assistant", a);
    } else if (!strcmp(type, "tool_call")) {
        json_line(cJSON_GetObjectItemCaseSensitive(d, "arguments"), 80, a, sizeof a);
        snprintf(out, n, "tool call %s (%s%s%s) %s", js(d, "tool"), *js(d, "kind") ? js(d, "kind") : "server",
                 *js(ev, "tool_call_id") ? ", " : "", js(ev, "tool_call_id"), a);
    } else if (!strcmp(type, "tool_result")) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(d, "error");
        if (cJSON_IsObject(e)) {
            one_line(js(e, "message"), 100, a, sizeof a);
            snprintf(out, n, "tool error %s: %s: %s", js(ev, "tool_call_id"),
                     *js(e, "category") ? js(e, "category") : "error", a);
        } else {
            json_line(cJSON_GetObjectItemCaseSensitive(d, "result"), 100, a, sizeof a);
            snprintf(out, n, "tool result %s: %s", js(ev, "tool_call_id"), a);
        }
    } else if (!strcmp(type, "error")) {
        one_line(js(d, "message"), LINE_MAX_CHARS, a, sizeof a);
        snprintf(out, n, "error: %s%s%s", a, *js(d, "step") ? " at " : "", js(d, "step"));
    } else if (!strcmp(type, "usage")) {
        snprintf(out, n, "usage %s: %.0f prompt + %.0f completion tokens, $%.4f", js(d, "model"),
                 jn(d, "prompt_tokens", 0), jn(d, "completion_tokens", 0), jn(d, "cost", 0));
    } else if (!strcmp(type, "status")) {
        const char *more = *js(d, "error") ? js(d, "error") : js(d, "response");
        one_line(more, 120, a, sizeof a);
        snprintf(out, n, "status: %s%s%s", js(d, "status"), *a ? ": " : "", a);
    } else if (!strcmp(type, "lifecycle")) {
        snprintf(out, n, "%s by %s: %s -> %s", js(d, "action"),
                 *js(d, "actor") ? js(d, "actor") : js(ev, "actor"), js(d, "from"), js(d, "to"));
    } else if (!strcmp(type, "log")) {
        one_line(js(d, "body"), LINE_MAX_CHARS, a, sizeof a);
        snprintf(out, n, "log %s: %s", *js(d, "severity") ? js(d, "severity") : "info", a);
    } else if (!strcmp(type, "span")) {
        one_line(js(d, "name"), 80, a, sizeof a);
        snprintf(out, n, "span %s%s%s", a, *js(d, "status") ? " " : "", js(d, "status"));
    } else {
        json_line(d, LINE_MAX_CHARS, b, sizeof b);
        snprintf(out, n, "%s %s", type, b);
    }
}

/* Print one activity line: "15:30:48  #12  tool call search (server, c1) {...}". */
static void print_event(const cJSON *ev)
{
    char t[16], s[LINE_MAX_CHARS * 8];
    clock_of(js(ev, "time"), t, sizeof t);
    event_summary(ev, s, sizeof s);
    printf("%s  #%-4.0f %s\n", t, jn(ev, "seq", 0), s);
}

/* ------------------------------------------------------- sessions get */

/* The readable view of a session object (API shape, with included parts). */
static void print_session(const cJSON *s, unsigned parts)
{
    char a[1024], b[64];
    one_line(*js(s, "name") ? js(s, "name") : "(no name)", 120, a, sizeof a);
    printf("%s  %s\n", js(s, "id"), a);
    printf("  %-10s %s\n", "status", js(s, "status"));
    printf("  %-10s %s (%s)\n", "agent", *js(s, "agent") ? js(s, "agent") : "-", js(s, "kind"));
    printf("  %-10s %s", "project", js(s, "project"));
    if (*js(s, "env")) printf(", env %s", js(s, "env"));
    if (*js(s, "cluster")) printf(", cluster %s", js(s, "cluster"));
    putchar('\n');
    printf("  %-10s %s%s%s\n", "trigger", js(s, "trigger"), *js(s, "trigger_source") ? ", " : "",
           js(s, "trigger_source"));
    if (*js(s, "parent_session_id")) printf("  %-10s %s\n", "parent", js(s, "parent_session_id"));
    if (*js(s, "thread_id")) printf("  %-10s %s\n", "thread", js(s, "thread_id"));
    printf("  %-10s %s\n", "started", *js(s, "start_time") ? js(s, "start_time") : "-");
    if (*js(s, "end_time")) printf("  %-10s %s\n", "ended", js(s, "end_time"));
    double dur = jn(s, "duration", -1);
    if (dur >= 0) {
        fmt_duration((int64_t)(dur / 1e6), b, sizeof b);
        printf("  %-10s %s\n", "duration", b);
    }
    printf("  %-10s %.0f prompt + %.0f completion\n", "tokens", jn(s, "llm_prompt_token_count", 0),
           jn(s, "llm_completion_token_count", 0));
    fmt_cost((int64_t)(jn(s, "total_cost", 0) * 1e6 + 0.5), b, sizeof b);
    printf("  %-10s %s\n", "cost", b);
    if (*js(s, "error")) {
        one_line(js(s, "error"), 200, a, sizeof a);
        printf("  %-10s %s%s%s\n", "error", a, *js(s, "error_step") ? " at " : "", js(s, "error_step"));
    }
    if (*js(s, "prompt")) {
        one_line(js(s, "prompt"), 200, a, sizeof a);
        printf("  %-10s %s\n", "prompt", a);
    }
    if (*js(s, "final_response")) {
        one_line(js(s, "final_response"), 200, a, sizeof a);
        printf("  %-10s %s\n", "response", a);
    }
    const cJSON *arr;
    if ((arr = cJSON_GetObjectItemCaseSensitive(s, "events"))) {
        if ((parts & SD_MESSAGES) && !(parts & SD_EVENTS)) {
            printf("\nConversation:\n");
            for (const cJSON *e = arr->child; e; e = e->next) {
                char t[16];
                clock_of(js(e, "time"), t, sizeof t);
                const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "data");
                printf("\n[%s] %s:\n", t, !strcmp(js(e, "type"), "user_message") ? "user" : "assistant");
                /* The content as written, each line indented. */
                const char *c = js(d, "content");
                while (*c) {
                    size_t l = strcspn(c, "\n");
                    printf("  %.*s\n", (int)l, c);
                    c += l + (c[l] == '\n');
                }
            }
            if (!arr->child) printf("  (no messages)\n");
        } else {
            printf("\nActivity:\n");
            for (const cJSON *e = arr->child; e; e = e->next) print_event(e);
            if (!arr->child) printf("  (no events)\n");
        }
    }
    if ((arr = cJSON_GetObjectItemCaseSensitive(s, "children"))) {
        printf("\nCalled sessions:\n");
        for (const cJSON *c = arr->child; c; c = c->next)
            printf("  %-26s %-10s %-20s %s\n", js(c, "id"), js(c, "status"), js(c, "agent"), js(c, "name"));
        if (!arr->child) printf("  (none)\n");
    }
    if ((arr = cJSON_GetObjectItemCaseSensitive(s, "agents"))) {
        printf("\nAgents below:\n");
        for (const cJSON *c = arr->child; c; c = c->next)
            printf("  %*s%-26s %-10s %-20s %s\n", 2 * ((int)jn(c, "depth", 1) - 1), "", js(c, "id"),
                   js(c, "status"), js(c, "agent"), js(c, "name"));
        if (!arr->child) printf("  (none)\n");
    }
    if ((arr = cJSON_GetObjectItemCaseSensitive(s, "trace"))) {
        printf("\nTrace:\n");
        for (const cJSON *c = arr->child; c; c = c->next) {
            fmt_duration((int64_t)(jn(c, "duration", 0) / 1e6), b, sizeof b);
            one_line(js(c, "name"), 60, a, sizeof a);
            printf("  %-18s %-40s %10s %s\n", js(c, "span_id"), a, b, js(c, "status"));
        }
        if (!arr->child) printf("  (no spans)\n");
    }
    if ((arr = cJSON_GetObjectItemCaseSensitive(s, "logs"))) {
        printf("\nLogs:\n");
        for (const cJSON *c = arr->child; c; c = c->next) {
            one_line(js(c, "body"), LINE_MAX_CHARS, a, sizeof a);
            printf("  %s %-5s %s\n", js(c, "time"), js(c, "severity"), a);
        }
        if (!arr->child) printf("  (no log lines)\n");
    }
    if ((arr = cJSON_GetObjectItemCaseSensitive(s, "artifacts"))) {
        printf("\nArtifacts:\n");
        for (const cJSON *c = arr->child; c; c = c->next) {
            fmt_bytes((int64_t)jn(c, "size", 0), b, sizeof b);
            one_line(js(c, "name"), 60, a, sizeof a);
            printf("  %-24s %-40s %-24s %10s\n", js(c, "id"), a, js(c, "media_type"), b);
        }
        if (!arr->child) printf("  (none)\n");
    }
    if ((arr = cJSON_GetObjectItemCaseSensitive(s, "evals"))) {
        printf("\nEvals:\n");
        for (const cJSON *c = arr->child; c; c = c->next) {
            one_line(js(c, "eval_id"), 60, a, sizeof a);
            printf("  %-40s %s\n", a, js(c, "state"));
        }
        if (!arr->child) printf("  (none)\n");
    }
}

/* sessions get ID [--include PARTS]... [--json]: the session as GET
 * /api/v1/sessions/{id} answers it (a repeated --include adds its parts);
 * readable by default, the API's JSON with --json. */
int cli_sessions_get(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "--include=", "--json", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos != 1) return EXIT_USAGE;
    const char *id = op.pos[0];
    unsigned parts = 0;
    buf inc;
    buf_init(&inc);
    for (int i = 0; i < op.n; i++) {
        if (strcmp(op.name[i], "--include=")) continue;
        unsigned more;
        char bad[48];
        if (sessdata_include_parse(op.val[i], &more, bad, sizeof bad)) {
            fprintf(stderr, "flightdeck: --include: unknown part \"%s\" (" SESSDATA_INCLUDE_PARTS ")\n",
                    bad);
            buf_fini(&inc);
            return EXIT_USAGE;
        }
        parts |= more;
        if (inc.len) buf_putc(&inc, ',');
        buf_puts(&inc, op.val[i]);
    }
    cJSON *o = NULL;
    int rc = 1;
    if (x->r) {
        buf path;
        buf_init(&path);
        session_path(&path, id, NULL);
        if (inc.len) query_add(&path, "include", buf_str(&inc));
        o = remote_get(x, &path);
        buf_fini(&path);
    } else {
        int missing;
        o = sessdata_session(x->d, id, &missing);
        if (!o && missing) fprintf(stderr, "flightdeck: no session %s\n", id);
        else if (!o || sessdata_include(x->d, o, id, parts, NULL)) {
            fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(x->d));
            cJSON_Delete(o);
            o = NULL;
        }
    }
    buf_fini(&inc);
    if (!o) return 1;
    if (cli_opt(&op, "--json")) rc = cli_print_json(o);
    else { print_session(o, parts); rc = 0; }
    cJSON_Delete(o);
    return rc;
}

/* -------------------------------------------- pause, resume, cancel, delete */

/* One action on one session; fills the API's per-id result object r
 * ({"id","ok","status","previous_status"} or {"id","ok":false,"error":{code,
 * message},"status"?}). 0, or -1 when the id failed. */
static int act_one(cli_ctx *x, const char *action, const char *id, cJSON *r)
{
    char from[16] = "", to[16] = "", msg[1600] = "", code_s[64] = "";
    const char *code = NULL;
    int lc = lc_action_parse(action), del = !strcmp(action, "delete");
    if (x->r) {
        buf path;
        buf_init(&path);
        session_path(&path, id, NULL);
        if (!del) { buf_putc(&path, '/'); buf_puts(&path, action); }
        int e = path.err ? -1 : cli_remote_do(x->r, del ? "DELETE" : "POST", buf_str(&path), NULL, 0);
        buf_fini(&path);
        if (e) {
            code = "network";
            snprintf(msg, sizeof msg, "%s", *x->r->err ? x->r->err : "out of memory");
        } else if (x->r->code >= 200 && x->r->code <= 299) {
            cJSON *j = x->r->body.len ? cJSON_ParseWithLength(x->r->body.p, x->r->body.len) : NULL;
            snprintf(to, sizeof to, "%s", del ? "deleted" : js(j, "status"));
            snprintf(from, sizeof from, "%s", js(j, "previous_status"));
            cJSON_Delete(j);
        } else {
            char m[512];
            cli_remote_message(x->r, m, sizeof m);
            cJSON *j = cJSON_ParseWithLength(x->r->body.p ? x->r->body.p : "", x->r->body.len);
            const cJSON *er = cJSON_GetObjectItemCaseSensitive(j, "error");
            snprintf(code_s, sizeof code_s, "%s", *js(er, "code") ? js(er, "code") : "http_error");
            code = code_s;
            snprintf(from, sizeof from, "%s", js(j, "status"));
            cJSON_Delete(j);
            snprintf(msg, sizeof msg, "%s (HTTP %ld, request %s)", m, x->r->code,
                     *x->r->request_id ? x->r->request_id : "-");
        }
    } else {
        lc_result lr = del ? lifecycle_delete(x->d, id, CLI_ACTOR, from)
                           : lifecycle_act(x->d, id, (lc_action)lc, CLI_ACTOR, from, to);
        if (lr == LC_OK && del) snprintf(to, sizeof to, "deleted");
        if (lr == LC_NOT_FOUND) {
            code = "not_found";
            snprintf(msg, sizeof msg, "no session %s", id);
        } else if (lr == LC_REFUSED) {
            code = "invalid_transition";
            snprintf(msg, sizeof msg, "a %s session cannot be %s", from,
                     del ? "deleted (only completed, failed or canceled ones can)"
                     : lc == LC_PAUSE ? "paused" : lc == LC_RESUME ? "resumed" : "canceled");
        } else if (lr != LC_OK) {
            code = "database";
            snprintf(msg, sizeof msg, "database error: %s", db_errmsg(x->d));
        }
    }
    cJSON_AddStringToObject(r, "id", id);
    cJSON_AddBoolToObject(r, "ok", code == NULL);
    if (code) {
        cJSON *er = cJSON_AddObjectToObject(r, "error");
        cJSON_AddStringToObject(er, "code", code);
        cJSON_AddStringToObject(er, "message", msg);
        if (*from) cJSON_AddStringToObject(r, "status", from);
        return -1;
    }
    cJSON_AddStringToObject(r, "status", to);
    if (*from) cJSON_AddStringToObject(r, "previous_status", from);
    return 0;
}

/* sessions pause|resume|cancel|delete ID... [--json]: each id gets a line,
 * "ID: ok, running -> paused" on stdout or "ID: failed: why" on stderr
 * (--json: the bulk API's {"results","succeeded","failed"}). Exit 1 when
 * any failed. */
static int sessions_act(cli_ctx *x, int argc, char **argv, const char *action)
{
    static const char *const spec[] = { "--json", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos < 1) return EXIT_USAGE;
    int json = cli_opt(&op, "--json") != NULL, okn = 0, failn = 0;
    cJSON *o = cJSON_CreateObject(), *results = cJSON_AddArrayToObject(o, "results");
    if (!results) { cJSON_Delete(o); return 1; }
    for (int i = 0; i < op.npos; i++) {
        cJSON *r = cJSON_CreateObject();
        if (!r) break;
        cJSON_AddItemToArray(results, r);
        if (act_one(x, action, op.pos[i], r)) {
            failn++;
            if (!json) {
                const cJSON *er = cJSON_GetObjectItemCaseSensitive(r, "error");
                fprintf(stderr, "%s: failed: %s\n", op.pos[i], js(er, "message"));
            }
        } else {
            okn++;
            if (!json) {
                if (*js(r, "previous_status"))
                    printf("%s: ok, %s -> %s\n", op.pos[i], js(r, "previous_status"), js(r, "status"));
                else printf("%s: ok, %s\n", op.pos[i], js(r, "status"));
            }
        }
        fflush(stdout);
    }
    cJSON_AddNumberToObject(o, "succeeded", okn);
    cJSON_AddNumberToObject(o, "failed", failn);
    int rc = json ? cli_print_json(o) : 0;
    cJSON_Delete(o);
    return rc || failn || okn + failn < op.npos ? 1 : 0;
}

/* The four actions, as sessions_act. */
int cli_sessions_pause(cli_ctx *x, int argc, char **argv) { return sessions_act(x, argc, argv, "pause"); }
int cli_sessions_resume(cli_ctx *x, int argc, char **argv) { return sessions_act(x, argc, argv, "resume"); }
int cli_sessions_cancel(cli_ctx *x, int argc, char **argv) { return sessions_act(x, argc, argv, "cancel"); }
int cli_sessions_delete(cli_ctx *x, int argc, char **argv) { return sessions_act(x, argc, argv, "delete"); }

/* ------------------------------------------------------ sessions watch */

/* Print a new event: a line, or its JSON on one line with --json. */
static void watch_print(const cJSON *ev, int json)
{
    if (json) {
        char *t = cJSON_PrintUnformatted(ev);
        if (t) puts(t);
        cJSON_free(t);
    } else {
        print_event(ev);
    }
    fflush(stdout);
}

/* The final line of a watch. Returns 0 (the exit code). */
static int watch_end(const char *id, const char *status, int json)
{
    if (json) printf("{\"session_id\":\"%s\",\"status\":\"%s\",\"ended\":true}\n", id, status);
    else printf("Session %s ended: %s.\n", id, status);
    fflush(stdout);
    return 0;
}

/* Local: status and last seq of id. 0, 1 when gone, -1 on error. */
static int watch_state(db *d, const char *id, char status[16])
{
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_CONTROL);
    if (!st) return -1;
    db_bind_text(st, 1, id);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* Local: print the events of id after *after (hidden ones left out, as the
 * API lists them), advancing *after. 0 or -1. */
static int watch_events_local(db *d, const char *id, long long *after, int json)
{
    for (;;) {
        sqlite3_stmt *st = db_stmt(d, SQL_EVENT_LIST_API);
        if (!st) return -1;
        db_bind_text(st, 1, id);
        sqlite3_bind_int64(st, 2, *after);
        sqlite3_bind_int64(st, 3, EVENTS_PAGE);
        sqlite3_bind_int(st, 4, 0);
        sqlite3_bind_null(st, 5);
        cJSON *rows = cJSON_CreateArray();
        int rc, n = 0;
        while (rows && (rc = db_step(st)) == SQLITE_ROW) {
            cJSON *row = db_row_json(st);
            if (!row) break;
            cJSON_AddItemToArray(rows, row);
            n++;
        }
        sqlite3_reset(st);
        if (!rows || rc != SQLITE_DONE) { cJSON_Delete(rows); return -1; }
        for (const cJSON *e = rows->child; e; e = e->next) {
            watch_print(e, json);
            long long seq = (long long)jn(e, "seq", 0);
            if (seq > *after) *after = seq;
        }
        cJSON_Delete(rows);
        if (n < EVENTS_PAGE) return 0;
    }
}

/* Local watch: read the database every WATCH_POLL_MS. */
static int watch_local(cli_ctx *x, const char *id, int json)
{
    long long after = 0;
    char status[16] = "";
    for (;;) {
        /* Status first: the events read after it include the one that ended it. */
        int e = watch_state(x->d, id, status);
        if (e > 0) {
            if (after) fprintf(stderr, "flightdeck: session %s was deleted\n", id);
            else fprintf(stderr, "flightdeck: no session %s\n", id);
            return 1;
        }
        if (e < 0 || watch_events_local(x->d, id, &after, json)) {
            fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(x->d));
            return 1;
        }
        if (lifecycle_is_terminal(status)) return watch_end(id, status, json);
        nap(WATCH_POLL_MS);
    }
}

/* Remote: print the events after *after, page by page. 0, or 1 (printed). */
static int watch_events_remote(cli_ctx *x, const char *id, long long *after, int json)
{
    for (;;) {
        buf path;
        buf_init(&path);
        session_path(&path, id, "/events");
        buf_printf(&path, "?after=%lld&limit=%d", *after, EVENTS_PAGE);
        cJSON *page = remote_get(x, &path);
        buf_fini(&path);
        if (!page) return 1;
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(page, "data");
        for (const cJSON *e = data ? data->child : NULL; e; e = e->next) {
            watch_print(e, json);
            long long seq = (long long)jn(e, "seq", 0);
            if (seq > *after) *after = seq;
        }
        int more = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(page, "next_cursor"));
        cJSON_Delete(page);
        if (!more) return 0;
    }
}

/* Remote watch: the events since the last seen, then the control long-poll
 * (it answers as soon as the status changes or a new event arrives). A
 * token without runtime permission may not long-poll: it reads the session
 * every WATCH_FALLBACK_S instead. */
static int watch_remote(cli_ctx *x, const char *id, int json)
{
    long long after = 0, ctl_seq = 0;
    int poll = 0;
    char status[16];
    buf path;
    buf_init(&path);
    session_path(&path, id, NULL);
    cJSON *s = remote_get(x, &path);
    buf_fini(&path);
    if (!s) return 1;
    snprintf(status, sizeof status, "%s", js(s, "status"));
    cJSON_Delete(s);
    for (;;) {
        if (watch_events_remote(x, id, &after, json)) return 1;
        if (lifecycle_is_terminal(status)) return watch_end(id, status, json);
        buf_init(&path);
        if (poll) {
            nap(WATCH_FALLBACK_S * 1000L);
            session_path(&path, id, NULL);
            s = remote_get(x, &path);
            buf_fini(&path);
            if (!s) return 1;
            snprintf(status, sizeof status, "%s", js(s, "status"));
            cJSON_Delete(s);
            continue;
        }
        long long known = after > ctl_seq ? after : ctl_seq;
        session_path(&path, id, "/control");
        buf_printf(&path, "?status=%s&seq=%lld&wait=%d", status, known, WATCH_WAIT_S);
        int e = path.err ? -1 : cli_remote_do(x->r, "GET", buf_str(&path), NULL, WATCH_WAIT_S);
        buf_fini(&path);
        if (e) return cli_remote_fail(x->r);
        if (x->r->code == 403) { poll = 1; continue; }
        if (x->r->code < 200 || x->r->code > 299) return cli_remote_fail(x->r);
        cJSON *c = cJSON_ParseWithLength(x->r->body.p ? x->r->body.p : "", x->r->body.len);
        const char *st = js(c, "status");
        long long seq = (long long)jn(c, "seq", -1);
        int changed = *st && (strcmp(st, status) != 0 || seq > known);
        if (*st) snprintf(status, sizeof status, "%s", st);
        if (seq > ctl_seq) ctl_seq = seq;
        cJSON_Delete(c);
        /* No long-poll slot free (Retry-After), or a garbled answer: wait a little. */
        if (!changed) nap(x->r->retry_after > 0 ? 1000L : 300L);
    }
}

/* sessions watch ID [--json]: the activity so far, then each new entry as
 * it arrives, one line each, until the session ends (exit 0 after a final
 * line with its status) or the watcher is interrupted. */
int cli_sessions_watch(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "--json", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos != 1) return EXIT_USAGE;
    /* A reader that went away (| head) ends the watch quietly. */
    signal(SIGPIPE, SIG_DFL);
    int json = cli_opt(&op, "--json") != NULL;
    return x->r ? watch_remote(x, op.pos[0], json) : watch_local(x, op.pos[0], json);
}

/* ------------------------------------------------------------- tasks */


/* Text column i of the current row, "" for NULL. */
static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : "";
}


/* tasks list [--json]: manual tool calls waiting for a person. */
int cli_tasks_list(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "--json", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos) return EXIT_USAGE;
    cJSON *o = NULL;
    if (x->r) {
        buf path;
        buf_init(&path);
        buf_puts(&path, "/api/v1/tasks");
        o = remote_get(x, &path);
        buf_fini(&path);
    } else {
        sqlite3_stmt *st = db_stmt(x->d, SQL_TASK_LIST);
        o = cJSON_CreateObject();
        cJSON *data = cJSON_AddArrayToObject(o, "data");
        int rc = SQLITE_ERROR;
        if (st && data) {
            sqlite3_bind_null(st, 1);
            sqlite3_bind_int(st, 2, TASKS_MAX);
            while ((rc = db_step(st)) == SQLITE_ROW) {
                cJSON *t = sessdata_task_json(st);
                if (t) cJSON_AddItemToArray(data, t);
            }
            sqlite3_reset(st);
        }
        cJSON_AddNullToObject(o, "next_cursor");
        if (rc != SQLITE_DONE) {
            fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(x->d));
            cJSON_Delete(o);
            o = NULL;
        }
    }
    if (!o) return 1;
    int rc = 0;
    if (cli_opt(&op, "--json")) {
        rc = cli_print_json(o);
    } else {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
        printf("%-8s %-26s %-20s %-24s %s\n", "ID", "SESSION", "TOOL", "WAITING SINCE", "ARGUMENTS");
        for (const cJSON *t = data ? data->child : NULL; t; t = t->next) {
            char args[300];
            json_line(cJSON_GetObjectItemCaseSensitive(t, "arguments"), 60, args, sizeof args);
            printf("%-8.0f %-26s %-20s %-24s %s\n", jn(t, "id", 0), js(t, "session_id"), js(t, "tool"),
                   js(t, "waiting_since"), args);
        }
        if (!data || !data->child) fprintf(stderr, "No tasks waiting.\n");
    }
    cJSON_Delete(o);
    return rc;
}

/* tasks complete ID [--result JSON | --reject REASON] [--json]: complete a
 * manual task with a result (default {}) or reject it, as POST
 * /api/v1/tasks/{id}/complete does (the session resumes if it was paused). */
int cli_tasks_complete(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "--result=", "--reject=", "--json", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos != 1) return EXIT_USAGE;
    const char *rs = cli_opt(&op, "--result"), *reason = cli_opt(&op, "--reject");
    char *end;
    errno = 0;
    long long tid = strtoll(op.pos[0], &end, 10);
    if (!*op.pos[0] || *end || errno || tid < 1) {
        fprintf(stderr, "flightdeck: a task ID is a number (see flightdeck tasks list)\n");
        return EXIT_USAGE;
    }
    if (rs && reason) {
        fprintf(stderr, "flightdeck: give --result or --reject, not both\n");
        return EXIT_USAGE;
    }
    cJSON *result = rs ? cJSON_Parse(rs) : reason ? NULL : cJSON_CreateObject();
    if (rs && !result) {
        fprintf(stderr, "flightdeck: --result is not valid JSON\n");
        return EXIT_USAGE;
    }
    cJSON *o = NULL;
    if (x->r) {
        cJSON *body = cJSON_CreateObject();
        if (reason) {
            cJSON_AddBoolToObject(body, "rejected", 1);
            cJSON_AddStringToObject(body, "reason", reason);
        } else if (body) {
            cJSON_AddItemToObject(body, "result", result);
            result = NULL;
        }
        char path[64];
        snprintf(path, sizeof path, "/api/v1/tasks/%lld/complete", tid);
        o = body ? cli_remote_json(x->r, "POST", path, body) : NULL;
        cJSON_Delete(body);
    } else {
        char sid[80] = "", tcid[200] = "";
        sqlite3_stmt *st = db_stmt(x->d, SQL_TASK_GET);
        int rc = SQLITE_ERROR;
        if (st) {
            sqlite3_bind_int64(st, 1, tid);
            rc = db_step(st);
            if (rc == SQLITE_ROW) {
                snprintf(sid, sizeof sid, "%s", col(st, 0));
                snprintf(tcid, sizeof tcid, "%s", col(st, 1));
            }
            sqlite3_reset(st);
        }
        cJSON *error = NULL;
        ingest_result res;
        ingest_err err = { 0 };
        if (rc == SQLITE_DONE) {
            fprintf(stderr, "flightdeck: no task %lld\n", tid);
        } else if (rc != SQLITE_ROW) {
            fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(x->d));
        } else {
            if (reason) {
                error = cJSON_CreateObject();
                cJSON_AddStringToObject(error, "category", "rejected");
                cJSON_AddStringToObject(error, "message", *reason ? reason : "rejected by a person");
            }
            if (ingest_resolve_call(x->d, sid, tcid, "waiting_for_human", reason ? NULL : result,
                                    error, NULL, CLI_ACTOR, &res, &err)) {
                fprintf(stderr, "flightdeck: task %lld: %s\n", tid, err.message);
            } else if ((o = cJSON_CreateObject())) {
                cJSON_AddNumberToObject(o, "id", (double)tid);
                cJSON_AddStringToObject(o, "session_id", sid);
                cJSON_AddStringToObject(o, "state", reason ? "failed" : "succeeded");
                cJSON_AddStringToObject(o, "session_status", res.status);
            }
        }
        cJSON_Delete(error);
    }
    cJSON_Delete(result);
    if (!o) return 1;
    int rc = 0;
    if (cli_opt(&op, "--json")) rc = cli_print_json(o);
    else printf("Task %lld %s; session %s is %s.\n", tid,
                !strcmp(js(o, "state"), "failed") ? "rejected" : "completed", js(o, "session_id"),
                js(o, "session_status"));
    cJSON_Delete(o);
    return rc;
}

/* --------------------------------------------------------- artifacts */

/* Local: does session id exist? 1 yes, 0 no (printed), -1 error (printed). */
static int session_exists(cli_ctx *x, const char *id)
{
    char status[16];
    int e = watch_state(x->d, id, status);
    if (e > 0) fprintf(stderr, "flightdeck: no session %s\n", id);
    if (e < 0) fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(x->d));
    return e == 0 ? 1 : e > 0 ? 0 : -1;
}

/* artifacts list SESSION_ID [--limit N] [--cursor C] [--json]: newest first,
 * without content, as GET /api/v1/sessions/{id}/artifacts. */
int cli_artifacts_list(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "--limit=", "--cursor=", "--json", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos != 1) return EXIT_USAGE;
    const char *sid = op.pos[0], *ls = cli_opt(&op, "--limit"), *cursor = cli_opt(&op, "--cursor");
    long limit = LIST_DEFAULT;
    if (ls) {
        char *end;
        limit = strtol(ls, &end, 10);
        if (!*ls || *end || limit < 1 || limit > 200) {
            fprintf(stderr, "flightdeck: --limit must be 1..200\n");
            return EXIT_USAGE;
        }
    }
    cJSON *o = NULL;
    if (x->r) {
        buf path;
        buf_init(&path);
        session_path(&path, sid, "/artifacts");
        buf_printf(&path, "?limit=%ld", limit);
        if (cursor) query_add(&path, "cursor", cursor);
        o = remote_get(x, &path);
        buf_fini(&path);
    } else {
        int ex = session_exists(x, sid);
        if (ex <= 0) return 1;
        char next[SD_CURSOR_MAX] = "";
        o = cJSON_CreateObject();
        cJSON *data = cJSON_AddArrayToObject(o, "data");
        int e = data ? sessdata_artifacts(x->d, sid, cursor, (int)limit, data, next) : -1;
        if (e == 1) {
            fprintf(stderr, "flightdeck: --cursor: not a cursor of this list\n");
            cJSON_Delete(o);
            return EXIT_USAGE;
        }
        if (e) {
            fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(x->d));
            cJSON_Delete(o);
            return 1;
        }
        if (*next) cJSON_AddStringToObject(o, "next_cursor", next);
        else cJSON_AddNullToObject(o, "next_cursor");
    }
    if (!o) return 1;
    int rc = 0;
    if (cli_opt(&op, "--json")) {
        rc = cli_print_json(o);
    } else {
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(o, "next_cursor");
        printf("%-24s %-32s %-28s %10s %-9s %s\n", "ID", "NAME", "TYPE", "SIZE", "ORIGIN", "CREATED");
        for (const cJSON *a = data ? data->child : NULL; a; a = a->next) {
            char name[200], size[32];
            one_line(js(a, "name"), 29, name, sizeof name);
            fmt_bytes((int64_t)jn(a, "size", 0), size, sizeof size);
            printf("%-24s %-32s %-28s %10s %-9s %s\n", js(a, "id"), name, js(a, "media_type"), size,
                   js(a, "origin"), js(a, "created_at"));
        }
        if (!data || !data->child) fprintf(stderr, "No artifacts.\n");
        if (cJSON_IsString(next)) printf("more: --cursor %s\n", next->valuestring);
    }
    cJSON_Delete(o);
    return rc;
}

/* Write n bytes to file `out` ("-" or NULL: stdout). 0, or 1 (printed). */
static int write_out(const char *out, const void *p, size_t n)
{
    if (!out || !strcmp(out, "-")) {
        if ((n && fwrite(p, 1, n, stdout) != n) || fflush(stdout)) {
            fprintf(stderr, "flightdeck: writing to standard output: %s\n", strerror(errno));
            return 1;
        }
        return 0;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "flightdeck: %s: %s\n", out, strerror(errno));
        return 1;
    }
    const char *s = p;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, s, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        s += w;
        left -= (size_t)w;
    }
    int err = errno;
    if (close(fd) != 0 && !left) { left = 1; err = errno; }
    if (left) {
        fprintf(stderr, "flightdeck: %s: %s\n", out, strerror(err));
        return 1;
    }
    fprintf(stderr, "Wrote %zu bytes to %s.\n", n, out);
    return 0;
}

/* artifacts get SESSION_ID ARTIFACT_ID [-o FILE]: the raw bytes, to
 * standard output or FILE. */
int cli_artifacts_get(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "-o=", "--output=", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos != 2) return EXIT_USAGE;
    const char *sid = op.pos[0], *aid = op.pos[1];
    const char *out = cli_opt(&op, "-o") ? cli_opt(&op, "-o") : cli_opt(&op, "--output");
    if (out && !*out) return EXIT_USAGE;
    if (x->r) {
        buf path;
        buf_init(&path);
        session_path(&path, sid, "/artifacts");
        cli_remote_seg(&path, aid);
        buf_puts(&path, "/download");
        int e = path.err ? -1 : cli_remote_do(x->r, "GET", buf_str(&path), NULL, 0);
        buf_fini(&path);
        if (e || x->r->code < 200 || x->r->code > 299) return cli_remote_fail(x->r);
        return write_out(out, x->r->body.p ? x->r->body.p : "", x->r->body.len);
    }
    cJSON *meta = NULL;
    buf content;
    buf_init(&content);
    int e = sessdata_artifact_read(x->d, sid, aid, &meta, &content), rc = 1;
    cJSON_Delete(meta);
    if (e > 0) {
        if (session_exists(x, sid) == 1) fprintf(stderr, "flightdeck: no artifact %s in session %s\n", aid, sid);
    } else if (e < 0 || content.err) {
        fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(x->d));
    } else {
        rc = write_out(out, content.p ? content.p : "", content.len);
    }
    buf_fini(&content);
    return rc;
}

/* ------------------------------------------------------------ report */

/* report get SESSION_ID [--format md|json|html] [--json]: the session's
 * report as Markdown (default), JSON or a complete HTML document. */
int cli_report_get(cli_ctx *x, int argc, char **argv)
{
    static const char *const spec[] = { "--format=", "--json", NULL };
    cli_opts op;
    if (cli_opts_parse(x->name, argc, argv, spec, &op)) return EXIT_USAGE;
    if (op.npos != 1) return EXIT_USAGE;
    const char *sid = op.pos[0], *format = cli_opt(&op, "--format");
    if (!format) format = cli_opt(&op, "--json") ? "json" : "md";
    int fjson = !strcmp(format, "json"), fmd = !strcmp(format, "md"), fhtml = !strcmp(format, "html");
    if (!fjson && !fmd && !fhtml) {
        fprintf(stderr, "flightdeck: --format must be md, json or html\n");
        return EXIT_USAGE;
    }
    if (x->r) {
        buf path;
        buf_init(&path);
        session_path(&path, sid, "/report");
        query_add(&path, "format", format);
        int e = path.err ? -1 : cli_remote_do(x->r, "GET", buf_str(&path), NULL, 0);
        buf_fini(&path);
        if (e || x->r->code < 200 || x->r->code > 299) return cli_remote_fail(x->r);
        if (fjson) {
            cJSON *j = cJSON_ParseWithLength(x->r->body.p ? x->r->body.p : "", x->r->body.len);
            int rc = j ? cli_print_json(j) : write_out(NULL, x->r->body.p, x->r->body.len);
            cJSON_Delete(j);
            return rc;
        }
        return write_out(NULL, x->r->body.p ? x->r->body.p : "", x->r->body.len);
    }
    cJSON *r = NULL;
    char name[1024];
    int e = sessdata_report_get(x->d, sid, &r, name, sizeof name);
    if (e > 0) { fprintf(stderr, "flightdeck: no session %s\n", sid); return 1; }
    if (e < 0) { fprintf(stderr, "flightdeck: database error: %s\n", db_errmsg(x->d)); return 1; }
    if (!r) { fprintf(stderr, "flightdeck: session %s has no report\n", sid); return 1; }
    int rc;
    if (fjson) {
        rc = cli_print_json(r);
    } else {
        buf b;
        buf_init(&b);
        int f = fmd ? report_markdown(r, &b) : report_html_document(r, name, sid, &b);
        if (f || b.err) {
            fprintf(stderr, "flightdeck: could not render the report (out of memory?)\n");
            rc = 1;
        } else {
            rc = write_out(NULL, b.p ? b.p : "", b.len);
        }
        buf_fini(&b);
    }
    cJSON_Delete(r);
    return rc;
}
