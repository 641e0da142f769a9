/* demo: the demo data generator. See demo.h.
 *
 * How a run is played. Each agent has a script (sc_*) that tells one run the
 * way its runtime would report it: create the session, then batches of
 * events. A batch ends at every tool call (the runtime asks before each one)
 * and around every status change (so its lifecycle entry gets its own time);
 * a tool result goes out with the next batch. Operators pause,
 * resume and cancel through lifecycle_act().
 *
 * How a run ends is decided before it starts: the target status picks a
 * `mode`, and tool() stops the run at the chosen call (`cut`) — leaving the
 * call executing for pausing/canceling, failing it for failed, and so on.
 * sess_finish() covers scripts that end before their cut, and sess_post()
 * applies what comes after the stop (the operator's pause or cancel, the
 * runtime's retrying).
 *
 * Time. The server stamps what it generates (created, started and ended
 * times, lifecycle entries, audit) with the real clock. The loader notes the
 * real time each step began and moves the rows back to the step's simulated
 * time (DEMO_SHIFT_* in db_sql.h; sess_place): rows stamped at or after the
 * moment the load began are new; everything earlier is already in place. To know
 * where a run may start so that it ends before now, each top-level run is
 * played twice from the same random state: dry first (nothing written), to
 * measure it, then for real. */
#include "demo.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "fmt.h"
#include "ingest.h"
#include "lifecycle.h"
#include "sessdata.h"

#define SEC  1000LL
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define NELEM(a) (sizeof (a) / sizeof *(a))

/* ----------------------------------------------------------------- random */

/* splitmix64: small, fast, statistically fine for fake data, and the same on
 * every platform (rand() is neither). */
typedef struct rng {
    uint64_t s;
} rng;

/* Next 64 random bits. */
static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) (multiply-shift: no modulo bias worth the name); 0 when n is 0. */
static uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]; lo when hi <= lo. */
static int64_t rng_range(rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo) return lo;
    return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* True with the given probability in percent. */
static int rng_chance(rng *r, int percent)
{
    return (int)rng_below(r, 100) < percent;
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

/* An index in [0, n) with probability proportional to w[i]. */
static int rng_weighted(rng *r, const int *w, int n)
{
    int total = 0;
    for (int i = 0; i < n; i++) total += w[i];
    int x = (int)rng_below(r, (uint32_t)total);
    for (int i = 0; i < n; i++) {
        if (x < w[i]) return i;
        x -= w[i];
    }
    return n - 1;
}

/* n characters of `alphabet` into out (n + 1 bytes). */
static void rng_chars(rng *r, const char *alphabet, char *out, size_t n)
{
    uint32_t k = (uint32_t)strlen(alphabet);
    for (size_t i = 0; i < n; i++) out[i] = alphabet[rng_below(r, k)];
    out[n] = '\0';
}

#define HEX   "0123456789abcdef"
#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define PICK(r, arr) ((arr)[rng_below((r), (uint32_t)NELEM(arr))])

/* Element of a NULL-terminated list. */
static const char *rng_list(rng *r, const char *const *list)
{
    uint32_t n = 0;
    while (list[n]) n++;
    return list[rng_below(r, n)];
}

/* ---------------------------------------------------------------- catalog */

typedef struct model {
    const char *name;
    double      in, out;  /* dollars per million tokens, i.e. micro-dollars per token */
} model;

enum { GPT4O, GPT4O_MINI, CLAUDE_SONNET, CLAUDE_HAIKU, LLAMA3_70B };
static const model models[] = {
    [GPT4O] = { "gpt-4o", 2.50, 10.00 },
    [GPT4O_MINI] = { "gpt-4o-mini", 0.15, 0.60 },
    [CLAUDE_SONNET] = { "claude-sonnet", 3.00, 15.00 },
    [CLAUDE_HAIKU] = { "claude-haiku", 0.80, 4.00 },
    [LLAMA3_70B] = { "llama-3-70b", 0.59, 0.79 },
};

enum { TR_MANUAL, TR_API, TR_EVENT, TR_SCHEDULE, TR_AGENT, TR_WORKFLOW };
static const char *const trigger_names[] = { "manual", "api", "event", "schedule", "agent",
                                             "workflow" };

static const char *const staff[] = { "alice@example.com", "bob@example.com",
                                     "priya.natarajan@example.com", "marco.rossi@example.com",
                                     "chen.wei@example.com" };
/* Operators as auth_actor() names them. */
static const char *const operators[] = { "user:alice", "user:bob", "user:priya" };

typedef enum target {
    ST_PENDING, ST_RUNNING, ST_RETRYING, ST_PAUSING, ST_PAUSED, ST_CANCELING, ST_CANCELED,
    ST_COMPLETED, ST_FAILED
} target;

/* How a run ends (see the top of the file). */
typedef enum mode {
    M_AUTO,             /* (plans only) chosen from the target status */
    M_COMPLETE,         /* to the end: completed */
    M_PENDING,          /* created, never started */
    M_RUN_INFLIGHT,     /* stops while a call executes or waits for a person or client: running */
    M_RUN_AFTER,        /* stops between steps, the model still thinking: running */
    M_PAUSE_INFLIGHT,   /* paused while a call executes: pausing */
    M_PAUSE_AFTER,      /* paused between steps: paused */
    M_CANCEL_INFLIGHT,  /* canceled while a call executes: canceling */
    M_CANCEL_AFTER,     /* canceled between steps: canceled */
    M_CANCEL_SETTLE,    /* canceled while a call executes, which then ends: canceled */
    M_RETRY,            /* the runtime cannot reach its model provider: retrying */
    M_FAIL              /* a step fails for good: failed */
} mode;

typedef struct sess sess;

enum { AG_NONE, AG_SUPPORT, AG_REVIEW, AG_RELEASE, AG_PIPELINE, AG_RESEARCH, AG_INCIDENT,
       AG__COUNT };

typedef struct agent_def {
    const char        *name;
    const char        *kind;        /* agent | workflow */
    const char        *description;
    int                weight;      /* share of top-level runs */
    int                model;       /* the model of its final answer */
    int                trig_w[4];   /* manual, api, event, schedule */
    const char *const *events;      /* NULL-terminated lists of trigger sources */
    const char *const *tokens;
    const char *const *cadences;
    const char *const *projects;    /* repeated names weigh more */
    const char        *channel;     /* where it posts when a run has nothing else to do */
    void             (*script)(sess *s);
} agent_def;

static const agent_def *agent_by_id(int id);

/* --------------------------------------------------------------- sessions */

typedef struct demo_ctx {
    struct db *d;
    int64_t    t0;       /* real clock when the load began; simulated times lie before it */
    int        created;  /* sessions created so far */
    int        failed;   /* set on the first error; everything after it is skipped */
    char      *err;
    size_t     errlen;
} demo_ctx;

struct sess {
    demo_ctx        *c;
    const agent_def *a;
    const sess      *parent;     /* the caller, for called sessions */
    rng              r;          /* this run's own stream: the dry and real plays match */
    int              dry;        /* measure only: write nothing */
    target           st;
    mode             m;
    int              cut;        /* the run may stop at this tool call (1-based) or later */
    int              calls;      /* tool calls so far */
    int              stopped;    /* the script's remaining steps are skipped */
    int              want_manual; /* running: stop at a person's task, left waiting */
    int              full;        /* take every optional step (called sessions, questions) */
    int              trig;       /* TR_* */
    char             source[96]; /* trigger source */
    const char      *project, *env, *cluster, *runtime;
    char             deployment[64];
    const char      *topic;      /* what a caller asked (called sessions) */
    char             parent_tc[40];
    char             id[INGEST_ID_MAX + 1];
    int64_t          t;          /* simulated clock, ms */
    int64_t         *t_max;      /* latest simulated time of the whole tree of runs */
    int             *kids;       /* called sessions so far in the tree */
    int              room;       /* called sessions the tree may create */
    cJSON           *batch;      /* events not sent yet */
    cJSON           *steps;      /* steps not placed in time yet (see db_sql.h, demo) */
    int64_t          context;    /* prompt tokens the next model turn reads */
    char             trace[33];
    char             root_span[17];
    char             open_tc[40];  /* the call still executing when the run stopped */
    cJSON           *open_result;
    int64_t          open_end;
    char             response[2048]; /* final answer, or the error when failed */
};

static void ctx_fail(demo_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the first error; later ones are consequences of it. */
static void ctx_fail(demo_ctx *c, const char *fmt, ...)
{
    va_list ap;
    if (c->failed) return;
    c->failed = 1;
    if (!c->err || !c->errlen) return;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
}

/* Is the run over for this script (stopped or the load failed)? */
static int sess_done(const sess *s)
{
    return s->stopped || s->c->failed;
}

/* Move the simulated clock forward. */
static void advance(sess *s, int64_t dt)
{
    s->t += dt > 0 ? dt : 0;
    if (s->t > *s->t_max) *s->t_max = s->t;
}

static cJSON *jf(sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A JSON value from a printf template (the templates are ours and never
 * format quotes or backslashes into strings). NULL after recording the error. */
static cJSON *jf(sess *s, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    cJSON *j = n >= 0 && (size_t)n < sizeof text ? cJSON_Parse(text) : NULL;
    if (!j) ctx_fail(s->c, "demo: bad JSON template \"%.60s\"", fmt);
    return j;
}

/* An event object of `type`; NULL when out of memory (push reports it). */
static cJSON *ev_new(const char *type)
{
    cJSON *ev = cJSON_CreateObject();
    if (ev && !cJSON_AddStringToObject(ev, "type", type)) {
        cJSON_Delete(ev);
        return NULL;
    }
    return ev;
}

/* Append ev (taken) to the batch being built, dt ms after the previous event,
 * with the idempotency key and time a runtime would give it. A member that
 * fails to be added for lack of memory makes ingest refuse the batch, which
 * is reported then. */
static void push(sess *s, cJSON *ev, int64_t dt)
{
    char id[24], when[40];
    if (!ev) {
        ctx_fail(s->c, "demo: out of memory");
        return;
    }
    advance(s, dt);
    snprintf(id, sizeof id, "ev_%016llx", (unsigned long long)rng_next(&s->r));
    cJSON_AddStringToObject(ev, "id", id);
    /* Both forms the protocol accepts: ms for machine-made records, RFC 3339
     * for what people read. */
    const char *type = cJSON_GetObjectItemCaseSensitive(ev, "type")->valuestring;
    if (strcmp(type, "usage") == 0 || strcmp(type, "log") == 0 || strcmp(type, "span") == 0) {
        cJSON_AddNumberToObject(ev, "time", (double)s->t);
    } else {
        fmt_rfc3339(s->t, when, sizeof when);
        cJSON_AddStringToObject(ev, "time", when);
    }
    if (s->c->failed || !cJSON_AddItemToArray(s->batch, ev)) cJSON_Delete(ev);
}

/* A step begins: its real time and the lowest event id it may write. */
typedef struct step_mark {
    int64_t mark;
    int64_t first_event;
} step_mark;

/* Mark the beginning of a step (real mode). 0, or -1 after recording the error. */
static int step_begin(sess *s, step_mark *st)
{
    sqlite3_stmt *q = db_stmt(s->c->d, SQL_DEMO_NEXT_EVENT_ID);
    st->mark = db_now_ms();
    if (!q || db_step(q) != SQLITE_ROW) {
        ctx_fail(s->c, "demo: reading the next event id: %s", db_errmsg(s->c->d));
        return -1;
    }
    st->first_event = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return 0;
}

/* Note a step that has happened at the simulated time now on the clock;
 * sess_place() moves its rows there. */
static void sess_note(sess *s, const step_mark *st)
{
    cJSON *a = cJSON_CreateArray();
    if (!a || !cJSON_AddItemToArray(a, cJSON_CreateNumber((double)st->mark)) ||
        !cJSON_AddItemToArray(a, cJSON_CreateNumber((double)(st->mark - s->t))) ||
        !cJSON_AddItemToArray(a, cJSON_CreateNumber((double)st->first_event)) ||
        !cJSON_AddItemToArray(s->steps, a)) {
        cJSON_Delete(a);
        ctx_fail(s->c, "demo: out of memory");
    }
}

/* Move the rows of the steps noted since the last call (stamped at or after
 * the load's start) back to their simulated times, in one transaction.
 * Events are matched to their step by id. Other rows are matched by time,
 * which cannot tell apart two steps within one millisecond: so this runs
 * right after every step that changes the status, whose rows (start and
 * end times, audit) must be exact; the steps in between write no such rows
 * (only updated_at, which the last step sets anyway). */
static void sess_place(sess *s)
{
    static const db_sql_id moves[] = { SQL_DEMO_SHIFT_SESSION, SQL_DEMO_SHIFT_EVENTS,
                                       SQL_DEMO_SHIFT_TOOLCALLS, SQL_DEMO_SHIFT_LOGS,
                                       SQL_DEMO_SHIFT_SPANS, SQL_DEMO_SHIFT_AUDIT,
                                       SQL_DEMO_SHIFT_ARTIFACTS, SQL_DEMO_SHIFT_EVALS };
    struct db *d = s->c->d;
    char *steps = NULL;
    if (s->dry || s->c->failed || cJSON_GetArraySize(s->steps) == 0) return;
    steps = cJSON_PrintUnformatted(s->steps);
    if (!steps || db_begin(d)) goto fail;
    for (size_t i = 0; i < NELEM(moves); i++) {
        sqlite3_stmt *st = db_stmt(d, moves[i]);
        if (!st) goto fail;
        db_bind_text(st, 1, s->id);
        db_bind_text(st, 2, steps);
        sqlite3_bind_int64(st, 3, s->c->t0);
        if (db_exec(st)) goto fail;
    }
    if (db_commit(d)) goto fail;
    cJSON_free(steps);
    cJSON_Delete(s->steps);
    s->steps = cJSON_CreateArray();
    if (!s->steps) ctx_fail(s->c, "demo: out of memory");
    return;
fail:
    ctx_fail(s->c, "demo: moving %s back in time: %s", s->id, steps ? db_errmsg(d) : "no memory");
    db_rollback(d);
    cJSON_free(steps);
}

/* Send the batch, as one request of the runtime, and note the step for
 * sess_place(). */
static void sess_flush(sess *s)
{
    cJSON *body = NULL;
    ingest_result res;
    ingest_err e;
    if (cJSON_GetArraySize(s->batch) == 0) return;
    if (s->dry || s->c->failed) {
        cJSON_Delete(s->batch);
        s->batch = cJSON_CreateArray();
        goto check;
    }
    body = cJSON_CreateObject();
    if (!body) goto check;
    cJSON_AddItemToObject(body, "events", s->batch);
    s->batch = cJSON_CreateArray();
    memset(&e, 0, sizeof e);
    step_mark st;
    if (step_begin(s, &st)) goto check;
    if (ingest_events(s->c->d, s->id, body, s->runtime, &res, NULL, &e)) {
        ctx_fail(s->c, "demo: events of %s refused (%d %s%s%s): %s", s->id, e.status,
                 e.code ? e.code : "", *e.field ? " at " : "", e.field, e.message);
    } else {
        sess_note(s, &st);
    }
check:
    if (!s->batch) ctx_fail(s->c, "demo: out of memory");
    cJSON_Delete(body);
}

/* A status event, sent alone so that the lifecycle entry it causes gets this
 * moment as its time. */
static void sess_status(sess *s, const char *status, const char *error, const char *step,
                        const char *response)
{
    if (s->c->failed) return;
    sess_flush(s);
    cJSON *ev = ev_new("status");
    if (ev) {
        cJSON_AddStringToObject(ev, "status", status);
        if (error) cJSON_AddStringToObject(ev, "error", error);
        if (step) cJSON_AddStringToObject(ev, "step", step);
        if (response) cJSON_AddStringToObject(ev, "response", response);
    }
    push(s, ev, 0);
    sess_flush(s);
    sess_place(s);
}

/* An operator's pause, resume or cancel, `delay` ms from now. */
static void act(sess *s, lc_action a, int64_t delay)
{
    const char *who = PICK(&s->r, operators);
    char from[16] = "?", to[16]; /* from is set only when the session was found */
    sess_flush(s);
    advance(s, delay);
    step_mark st;
    if (s->dry || s->c->failed || step_begin(s, &st)) return;
    lc_result r = lifecycle_act(s->c->d, s->id, a, who, from, to);
    if (r != LC_OK) {
        ctx_fail(s->c, "demo: %s of %s (%s) refused: %d", lc_action_name(a), s->id, from, (int)r);
        return;
    }
    sess_note(s, &st);
    sess_place(s);
}

static void say(sess *s, const char *type, int64_t dt, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A message or thought (`type`), dt ms after the previous event. */
static void say(sess *s, const char *type, int64_t dt, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    if (sess_done(s)) return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    cJSON *ev = ev_new(type);
    if (ev) cJSON_AddStringToObject(ev, "content", text);
    push(s, ev, dt);
}

static void log_vpush(sess *s, const char *severity, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* A log line of the runtime, whatever the state of the run. */
static void log_vpush(sess *s, const char *severity, const char *fmt, va_list ap)
{
    char text[1024];
    if (s->c->failed) return;
    vsnprintf(text, sizeof text, fmt, ap);
    cJSON *ev = ev_new("log");
    if (ev) {
        cJSON_AddStringToObject(ev, "severity", severity);
        cJSON_AddStringToObject(ev, "body", text);
    }
    push(s, ev, rng_range(&s->r, 1, 40));
}

static void slog(sess *s, const char *severity, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A log line while the run goes on; nothing once it stopped (a log line is
 * an event too: it would start a session meant to stay pending). */
static void slog(sess *s, const char *severity, const char *fmt, ...)
{
    va_list ap;
    if (sess_done(s)) return;
    va_start(ap, fmt);
    log_vpush(s, severity, fmt, ap);
    va_end(ap);
}

static void post_log(sess *s, const char *severity, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A log line about what happens after the run stopped (sess_post). */
static void post_log(sess *s, const char *severity, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vpush(s, severity, fmt, ap);
    va_end(ap);
}

/* A trace span of this run; span_id NULL for a new one, end < 0 while open.
 * Takes attrs (may be NULL). */
static void span(sess *s, const char *span_id, const char *name, int64_t start, int64_t end,
                 const char *status, cJSON *attrs)
{
    char id[17];
    if (s->c->failed) {
        cJSON_Delete(attrs);
        return;
    }
    if (!span_id) {
        rng_chars(&s->r, HEX, id, 16);
        span_id = id;
    }
    cJSON *ev = ev_new("span");
    if (!ev) cJSON_Delete(attrs);
    else {
        cJSON_AddStringToObject(ev, "trace_id", s->trace);
        cJSON_AddStringToObject(ev, "span_id", span_id);
        if (span_id != s->root_span) cJSON_AddStringToObject(ev, "parent_span_id", s->root_span);
        cJSON_AddStringToObject(ev, "name", name);
        cJSON_AddNumberToObject(ev, "start", (double)start);
        if (end >= 0) cJSON_AddNumberToObject(ev, "end", (double)end);
        cJSON_AddStringToObject(ev, "status", status);
        if (attrs) cJSON_AddItemToObject(ev, "attributes", attrs);
    }
    push(s, ev, 0);
}

/* The run's root span: opened when it starts (end < 0), closed when it ends.
 * Sent whole each time, since the upsert replaces the attributes. */
static void root_span(sess *s, int64_t end, const char *status)
{
    span(s, s->root_span, s->a->name, s->t, end, status,
         jf(s, "{\"agent\":\"%s\",\"kind\":\"%s\",\"trigger\":\"%s\",\"env\":\"%s\"}",
            s->a->name, s->a->kind, trigger_names[s->trig], s->env));
}

/* One model turn: the model reads the conversation so far (so prompt tokens
 * grow turn by turn) and writes `completion` tokens at a plausible speed.
 * Reports usage with its cost and a span. */
static void llm(sess *s, int mi, int out_lo, int out_hi)
{
    if (sess_done(s)) return;
    const model *m = &models[mi];
    int64_t pt = s->context + rng_range(&s->r, 150, 700);
    int64_t ct = rng_range(&s->r, out_lo, out_hi);
    int64_t start = s->t;
    advance(s, 300 + ct * 1000 / rng_range(&s->r, 30, 95));
    double micros = (double)pt * m->in + (double)ct * m->out;
    cJSON *u = ev_new("usage");
    if (u) {
        cJSON_AddStringToObject(u, "model", m->name);
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)pt);
        cJSON_AddNumberToObject(u, "completion_tokens", (double)ct);
        cJSON_AddNumberToObject(u, "cost", (double)(int64_t)(micros + 0.5) / 1e6);
    }
    push(s, u, 0);
    cJSON *attrs = cJSON_CreateObject();
    if (attrs) {
        cJSON_AddStringToObject(attrs, "gen_ai.request.model", m->name);
        cJSON_AddNumberToObject(attrs, "gen_ai.usage.input_tokens", (double)pt);
        cJSON_AddNumberToObject(attrs, "gen_ai.usage.output_tokens", (double)ct);
    }
    char name[64];
    snprintf(name, sizeof name, "chat %s", m->name);
    span(s, NULL, name, start, s->t, "ok", attrs);
    s->context = pt + ct;
}

/* An error event: something went wrong at `step`. */
static void error_ev(sess *s, const char *step, const char *message)
{
    cJSON *ev = ev_new("error");
    if (ev) {
        cJSON_AddStringToObject(ev, "message", message);
        cJSON_AddStringToObject(ev, "step", step);
    }
    push(s, ev, rng_range(&s->r, 5, 200));
}

/* The run fails for good at `step`. */
static void sess_extras(sess *s, int completed);

static void sess_fail(sess *s, const char *step, const char *message)
{
    if (sess_done(s)) return;
    error_ev(s, step, message);
    slog(s, "error", "run failed at %s: %s", step, message);
    root_span(s, s->t, "error");
    advance(s, rng_range(&s->r, 50, 600));
    sess_status(s, "failed", message, step, NULL);
    snprintf(s->response, sizeof s->response, "%s", message);
    sess_extras(s, 0);
    s->stopped = 1;
}

/* A tool_result event; takes result and error (either may be NULL). */
static void tool_result(sess *s, const char *tcid, cJSON *result, cJSON *error, int retries)
{
    cJSON *ev = ev_new("tool_result");
    if (!ev) {
        cJSON_Delete(result);
        cJSON_Delete(error);
    } else {
        cJSON_AddStringToObject(ev, "tool_call_id", tcid);
        if (error) cJSON_AddItemToObject(ev, "error", error);
        else cJSON_AddItemToObject(ev, "result", result ? result : cJSON_CreateNull());
        if (error) cJSON_Delete(result);
        if (retries) cJSON_AddNumberToObject(ev, "retries", retries);
    }
    push(s, ev, 0);
}

/* A tool_call event; dups args. */
static void tool_call(sess *s, const char *tcid, const char *name, const char *kind,
                      const cJSON *args, const char *called)
{
    cJSON *ev = ev_new("tool_call");
    if (ev) {
        cJSON_AddStringToObject(ev, "tool_call_id", tcid);
        cJSON_AddStringToObject(ev, "tool", name);
        cJSON_AddStringToObject(ev, "kind", kind);
        cJSON_AddItemToObject(ev, "arguments",
                              args ? cJSON_Duplicate(args, 1) : cJSON_CreateObject());
        if (called) cJSON_AddStringToObject(ev, "called_session_id", called);
    }
    push(s, ev, 0);
}

/* A span over one tool call. */
static void tool_span(sess *s, const char *name, const char *kind, int64_t start, int ok)
{
    char sname[96];
    snprintf(sname, sizeof sname, "tool %s", name);
    cJSON *attrs = cJSON_CreateObject();
    if (attrs) {
        cJSON_AddStringToObject(attrs, "tool.name", name);
        cJSON_AddStringToObject(attrs, "tool.kind", kind);
    }
    span(s, NULL, sname, start, s->t, ok ? "ok" : "error", attrs);
}

/* A fresh tool call id, shaped like the ones model APIs hand out. */
static void call_id(sess *s, char out[40])
{
    char tail[25];
    rng_chars(&s->r, ALNUM, tail, 24);
    snprintf(out, 40, "call_%s", tail);
}

typedef struct tool_spec {
    const char *name;
    const char *kind;     /* NULL: server */
    int64_t     ms;       /* typical run time of a server call */
    cJSON      *args;     /* taken */
    cJSON      *result;   /* taken; for agent and workflow calls, the callee's answer instead */
    const char *err_cat;  /* how it fails when the run fails here (NULL: generic) */
    const char *err_msg;
    int         child;    /* AG_* for agent and workflow calls */
    const char *topic;    /* what the callee is asked */
} tool_spec;

/* May the run stop at this call (given its mode and cut)? */
static int qualifies(const sess *s, const char *kind)
{
    int waits = strcmp(kind, "manual") == 0 || strcmp(kind, "client") == 0;
    switch (s->m) {
    case M_COMPLETE:
    case M_PENDING:
        return 0;
    case M_RUN_INFLIGHT:
        if (s->want_manual && strcmp(kind, "manual") != 0) return 0;
        break;
    case M_PAUSE_INFLIGHT:
    case M_CANCEL_INFLIGHT:
    case M_CANCEL_SETTLE:
    case M_FAIL:
        /* These need a call that executes (a person's or client's wait does
         * not hold up pause or cancel), and people do not "fail". */
        if (waits) return 0;
        break;
    default:
        break;
    }
    return s->calls >= s->cut;
}

/* A first attempt that fails the way networks do; the caller retries. */
static void flaky_attempt(sess *s, const tool_spec *t)
{
    static const struct {
        const char *cat, *text;
    } errs[] = {
        { "timeout", "did not answer within 10 s" },
        { "rate_limited", "429 Too Many Requests (retry after 2 s)" },
        { "upstream_error", "502 Bad Gateway" },
        { "connection_error", "connection reset by peer" },
    };
    char tcid[40], msg[300];
    int k = (int)rng_below(&s->r, NELEM(errs));
    call_id(s, tcid);
    tool_call(s, tcid, t->name, "server", t->args, NULL);
    int64_t start = s->t;
    sess_flush(s);
    advance(s, k == 0 ? 10 * SEC + rng_range(&s->r, 0, 80) : rng_range(&s->r, 80, 1500));
    snprintf(msg, sizeof msg, "%s: %s", t->name, errs[k].text);
    tool_result(s, tcid, NULL, jf(s, "{\"category\":\"%s\",\"message\":\"%s\"}", errs[k].cat, msg),
                0);
    tool_span(s, t->name, "server", start, 0);
    if (rng_chance(&s->r, 50)) error_ev(s, t->name, msg);
    slog(s, "warn", "tool %s failed (%s); retry 1 of 3", t->name, errs[k].cat);
    advance(s, rng_range(&s->r, 500, 4000));
}

/* Sometimes, in runs that complete, an interruption they recover from: the
 * model provider is overloaded for a while, or an operator pauses and later
 * resumes. */
static void maybe_interrupt(sess *s)
{
    if (s->m != M_COMPLETE || sess_done(s)) return;
    int roll = (int)rng_below(&s->r, 100);
    if (roll < 4) {
        advance(s, rng_range(&s->r, 200, 1500));
        sess_status(s, "retrying", "LLM provider returned 529 overloaded; retrying with backoff",
                    NULL, NULL);
        slog(s, "warn", "model provider overloaded; backing off");
        advance(s, rng_range(&s->r, 4 * SEC, 45 * SEC));
        sess_status(s, "running", NULL, NULL, NULL);
    } else if (roll < 6) {
        act(s, LC_PAUSE, rng_range(&s->r, 5 * SEC, 60 * SEC));
        act(s, LC_RESUME, rng_range(&s->r, 2 * MIN, 40 * MIN));
    }
}

static void sess_init(sess *s, demo_ctx *c, int agent, target st, uint64_t seed, int dry,
                      int64_t start, int64_t *t_max, int *kids, int room);
static void sess_run(sess *s);

/* One tool call, as the runtime reports it: the call (asking first), then
 * its result, with a span. Agent and workflow calls run the called session
 * in between. This is where a run stops when its mode says so. Takes the
 * spec's JSON. 1 when the run goes on; 0 when it stopped here (or earlier). */
static int tool(sess *s, tool_spec t)
{
    int rc = 0, have_kid = 0, retries = 0;
    const char *kind = t.kind ? t.kind : "server";
    int waits = strcmp(kind, "manual") == 0 || strcmp(kind, "client") == 0;
    char tcid[40], msg[600];
    sess kid;

    if (sess_done(s) || !t.args) goto out;
    if (t.child && *s->kids >= s->room) { /* no sessions left to call: skip the call */
        rc = 1;
        goto out;
    }
    s->calls++;
    int cut = qualifies(s, kind);
    advance(s, rng_range(&s->r, 300, 2500)); /* the model decides to call */
    if (!cut && !waits && !t.child && rng_chance(&s->r, 7)) {
        flaky_attempt(s, &t);
        retries = 1;
    }
    call_id(s, tcid);
    if (t.child) {
        /* The callee runs while the call executes; it keeps running when the
         * caller stops here (cancel does not cascade), and fails when the
         * caller fails here. */
        target kt = ST_COMPLETED;
        if (cut && (s->m == M_RUN_INFLIGHT || s->m == M_PAUSE_INFLIGHT ||
                    s->m == M_CANCEL_INFLIGHT))
            kt = ST_RUNNING;
        else if (cut && s->m == M_FAIL)
            kt = ST_FAILED;
        sess_init(&kid, s->c, t.child, kt, rng_next(&s->r), s->dry,
                  s->t + rng_range(&s->r, 150, 700), s->t_max, s->kids, s->room);
        kid.parent = s;
        kid.topic = t.topic;
        snprintf(kid.parent_tc, sizeof kid.parent_tc, "%s", tcid);
        (*s->kids)++;
        have_kid = 1;
        sess_run(&kid);
        cJSON_Delete(t.result);
        t.result = cJSON_CreateObject();
        if (t.result) {
            cJSON_AddStringToObject(t.result, "session_id", kid.id);
            cJSON_AddStringToObject(t.result, "status",
                                    kt == ST_COMPLETED ? "completed"
                                    : kt == ST_FAILED  ? "failed" : "running");
            cJSON_AddStringToObject(t.result, "answer", kid.response);
        }
    }
    if (s->c->failed) goto out;
    tool_call(s, tcid, t.name, kind, t.args, have_kid ? kid.id : NULL);
    int64_t start = s->t;
    sess_flush(s);

    int64_t end;
    if (have_kid) end = (kid.t > start ? kid.t : start) + rng_range(&s->r, 200, 900);
    else if (strcmp(kind, "manual") == 0) end = start + rng_range(&s->r, 3 * MIN, 40 * MIN);
    else if (strcmp(kind, "client") == 0) end = start + rng_range(&s->r, 4 * SEC, 50 * SEC);
    else end = start + t.ms * rng_range(&s->r, 60, 160) / 100 + rng_range(&s->r, 20, 90);

    if (cut && (s->m == M_RUN_INFLIGHT || s->m == M_PAUSE_INFLIGHT ||
                s->m == M_CANCEL_INFLIGHT || s->m == M_CANCEL_SETTLE)) {
        /* Left executing (or waiting): sess_post() pauses or cancels around it. */
        snprintf(s->open_tc, sizeof s->open_tc, "%s", tcid);
        s->open_result = t.result;
        t.result = NULL;
        s->open_end = end;
        s->stopped = 1;
        goto out;
    }
    advance(s, end - s->t);
    if (cut && s->m == M_FAIL) {
        if (have_kid)
            snprintf(msg, sizeof msg, "%s session %s failed: %.400s", kid.a->name, kid.id,
                     kid.response);
        else if (t.err_msg)
            snprintf(msg, sizeof msg, "%s", t.err_msg);
        else
            snprintf(msg, sizeof msg, "%s: 503 Service Unavailable after 3 attempts", t.name);
        cJSON *e = cJSON_CreateObject();
        if (e) {
            cJSON_AddStringToObject(e, "category",
                                    have_kid ? "agent_failed"
                                    : t.err_cat ? t.err_cat : "upstream_error");
            cJSON_AddStringToObject(e, "message", msg);
        }
        tool_result(s, tcid, NULL, e, 0);
        tool_span(s, t.name, kind, start, 0);
        sess_flush(s);
        sess_fail(s, t.name, msg);
        goto out;
    }
    /* The result goes out with the next request (the runtime reports it
     * with the model's next turn and call), as runtimes batch. */
    tool_result(s, tcid, t.result, NULL, retries);
    t.result = NULL;
    tool_span(s, t.name, kind, start, 1);
    s->context += rng_range(&s->r, 150, 1800); /* the result goes into the next prompt */
    if (cut) { /* stops between steps; sess_post() does the rest */
        s->stopped = 1;
        goto out;
    }
    maybe_interrupt(s);
    rc = !sess_done(s);
out:
    cJSON_Delete(t.args);
    cJSON_Delete(t.result);
    return rc;
}

/* What a session is created with, besides what the runner decides. */
typedef struct header {
    const char *name;
    const char *prompt;    /* resolved, the inputs substituted */
    cJSON      *inputs;    /* taken */
    cJSON      *metadata;  /* taken */
    const char *thread_id; /* NULL: none */
    const char *actor;     /* who the run acts for; NULL: the person who started it, if any */
} header;

/* Create the session and, unless it stays pending, start it. */
static void sess_create(sess *s, header h)
{
    ingest_err e;
    char url[160];
    cJSON *b = cJSON_CreateObject();
    if (!b || s->c->failed || !h.inputs || !h.metadata) {
        ctx_fail(s->c, "demo: out of memory");
        goto out;
    }
    int start_now = s->m != M_PENDING && (s->parent || s->trig == TR_SCHEDULE);
    cJSON_AddStringToObject(b, "kind", s->a->kind);
    cJSON_AddStringToObject(b, "agent", s->a->name);
    cJSON_AddStringToObject(b, "name", h.name);
    cJSON_AddStringToObject(b, "description", s->a->description);
    if (start_now) cJSON_AddStringToObject(b, "status", "running");
    cJSON_AddStringToObject(b, "trigger", trigger_names[s->trig]);
    cJSON_AddStringToObject(b, "trigger_source", s->source);
    cJSON_AddStringToObject(b, "actor", h.actor ? h.actor : s->trig == TR_MANUAL ? s->source : "");
    cJSON_AddStringToObject(b, "project", s->project);
    cJSON_AddStringToObject(b, "env", s->env);
    cJSON_AddStringToObject(b, "cluster", s->cluster);
    cJSON_AddStringToObject(b, "deployment", s->deployment);
    if (h.thread_id) cJSON_AddStringToObject(b, "thread_id", h.thread_id);
    if (s->parent) {
        cJSON_AddStringToObject(b, "parent_session_id", s->parent->id);
        cJSON_AddStringToObject(b, "parent_tool_call_id", s->parent_tc);
    }
    cJSON_AddStringToObject(b, "prompt", h.prompt);
    cJSON_AddItemToObject(b, "inputs", h.inputs);
    h.inputs = NULL;
    cJSON_AddItemToObject(b, "metadata", h.metadata);
    h.metadata = NULL;
    if (s->trig == TR_API) {
        snprintf(url, sizeof url, "https://agents.acme.example/v1/agents/%s/runs", s->a->name);
        cJSON_AddStringToObject(b, "method", "POST");
        cJSON_AddStringToObject(b, "url", url);
        cJSON_AddStringToObject(b, "route_id", "agents.runs.create");
    }

    if (s->dry) {
        snprintf(s->id, sizeof s->id, "ses_dry");
    } else {
        memset(&e, 0, sizeof e);
        step_mark st;
        if (step_begin(s, &st)) goto out;
        if (ingest_session_create(s->c->d, b, s->runtime, s->id, &e)) {
            ctx_fail(s->c, "demo: session \"%s\" refused (%d %s): %s", h.name, e.status,
                     e.code ? e.code : "", e.message);
            goto out;
        }
        s->c->created++;
        sess_note(s, &st);
        sess_place(s);
    }
    if (s->m == M_PENDING) {
        s->stopped = 1;
        goto out;
    }
    if (!start_now) { /* queued for a moment, then the runtime picks it up */
        advance(s, rng_range(&s->r, 400, 6 * SEC));
        sess_status(s, "running", NULL, NULL, NULL);
    }
    root_span(s, -1, "unset");
out:
    cJSON_Delete(b);
    cJSON_Delete(h.inputs);
    cJSON_Delete(h.metadata);
}

static void sess_finish(sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The end of a script: the final answer and `completed` — or, for a run
 * that was to stop earlier and has not, the stop now. */
static void sess_finish(sess *s, const char *fmt, ...)
{
    va_list ap;
    if (sess_done(s)) return;
    switch (s->m) {
    case M_COMPLETE:
        break;
    case M_RUN_INFLIGHT:
    case M_PAUSE_INFLIGHT:
    case M_CANCEL_INFLIGHT:
    case M_CANCEL_SETTLE: {
        /* Stop on one last call that executes. */
        char text[160];
        s->cut = 0;
        s->want_manual = 0;
        snprintf(text, sizeof text, "%s: run %s finished its work, posting the summary",
                 s->a->name, s->id);
        tool(s, (tool_spec){ .name = "post_slack_message", .ms = 600,
                             .args = jf(s, "{\"channel\":\"%s\",\"text\":\"%s\"}",
                                        s->a->channel, text),
                             .result = jf(s, "{\"ok\":true,\"channel\":\"%s\",\"ts\":\"%lld.%06d\"}",
                                          s->a->channel, (long long)(s->t / 1000),
                                          (int)rng_range(&s->r, 0, 999999)) });
        s->stopped = 1;
        return;
    }
    case M_FAIL:
        llm(s, s->a->model, 200, 900);
        sess_fail(s, "llm.generate",
                  "model error: context_length_exceeded (prompt and answer exceed the "
                  "128,000-token window)");
        return;
    default: /* stops between steps; sess_post() does the rest */
        s->stopped = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s->response, sizeof s->response, fmt, ap);
    va_end(ap);
    llm(s, s->a->model, 150, 700);
    root_span(s, s->t, "ok");
    advance(s, rng_range(&s->r, 20, 300));
    sess_status(s, "completed", NULL, NULL, s->response);
    sess_extras(s, 1);
    s->stopped = 1;
}

/* What a finished run leaves besides its events, as its runtime would post
 * it through the API: a report and an artifact (most completed runs), and
 * the eval runs an evaluator posts afterwards. Draws from the run's random
 * stream in dry runs too, so both plays stay alike. */
static void sess_extras(sess *s, int completed)
{
    static const char *const judges[] = { "answer_relevance", "groundedness", "policy_compliance" };
    int with_report = completed && rng_chance(&s->r, 75);
    int with_artifact = completed && rng_chance(&s->r, 60);
    int n_evals = (int)rng_below(&s->r, 3) + (completed ? 1 : 0);
    int score[3];
    for (int i = 0; i < 3; i++) score[i] = 55 + (int)rng_below(&s->r, 45);
    if (!with_report && !with_artifact && !n_evals) return;
    advance(s, rng_range(&s->r, 2 * SEC, 20 * SEC)); /* the evaluator comes a little later */
    if (s->dry || s->c->failed) return;

    /* One step of its own, placed right after the run's end like the rest. */
    step_mark mark;
    if (step_begin(s, &mark)) return;
    char *text = NULL;
    cJSON *meta = NULL, *run = NULL;
    db *d = s->c->d;
    if (with_report) {
        cJSON *r = jf(s, "{\"sections\":[],\"data\":{}}");
        if (!r) return;
        cJSON_AddStringToObject(r, "title", s->a->name);
        cJSON_AddStringToObject(r, "summary", s->response);
        cJSON *sec = cJSON_CreateObject();
        cJSON_AddStringToObject(sec, "title", "How the run went");
        char body[512];
        snprintf(body, sizeof body,
                 "- **Agent**: `%s` (%s)\n- **Deployment**: `%s` in %s\n- **Tool calls**: %d\n"
                 "- **Trigger**: %s",
                 s->a->name, s->a->kind, s->deployment, s->cluster, s->calls, s->source);
        cJSON_AddStringToObject(sec, "content", body);
        cJSON_AddItemToArray(cJSON_GetObjectItem(r, "sections"), sec);
        cJSON *data = cJSON_GetObjectItem(r, "data");
        cJSON_AddNumberToObject(data, "tool_calls", s->calls);
        cJSON_AddStringToObject(data, "environment", s->env);
        text = cJSON_PrintUnformatted(r);
        cJSON_Delete(r);
        if (!text || sessdata_report_set(d, s->id, text) != 0)
            ctx_fail(s->c, "demo: report of %s: %s", s->id, db_errmsg(d));
        cJSON_free(text);
    }
    if (with_artifact) {
        char md[2300];
        int n = snprintf(md, sizeof md, "# %s\n\n%s\n", s->a->name, s->response);
        char aid[SD_ARTIFACT_ID_LEN + 1];
        if (sessdata_artifact_add(d, s->id, "summary.md", "text/markdown", "generated", md,
                                  n < 0 ? 0 : (size_t)n >= sizeof md ? sizeof md - 1 : (size_t)n,
                                  aid, &meta) != 0)
            ctx_fail(s->c, "demo: artifact of %s: %s", s->id, db_errmsg(d));
        cJSON_Delete(meta);
    }
    for (int i = 0; i < n_evals && i < 3; i++) {
        char result[160];
        int pass = score[i] >= 65;
        snprintf(result, sizeof result, "{\"score\":%d.%02d,\"threshold\":0.65,\"judge\":\"%s\"}",
                 score[i] / 100, score[i] % 100, s->a->model < 2 ? "gpt-4.1-mini" : "claude-haiku");
        if (sessdata_eval_put(d, s->id, 0, judges[i], pass ? "success" : "error", result, &run) != 0)
            ctx_fail(s->c, "demo: eval of %s: %s", s->id, db_errmsg(d));
        cJSON_Delete(run);
        run = NULL;
    }
    sess_note(s, &mark);
    sess_place(s);
}

/* After the run stopped: what the operator or the runtime does next. */
static void sess_post(sess *s)
{
    static const char *const retry_errors[] = {
        "OpenAI API: 503 Service Unavailable; retrying in 8 s (attempt 2 of 5)",
        "Anthropic API: 529 overloaded_error; backing off 12 s",
        "model gateway timed out after 30 s; retrying",
        "rate limit reached for requests per minute; retrying in 20 s",
    };
    if (s->c->failed) return;
    switch (s->m) {
    case M_PAUSE_INFLIGHT:
    case M_PAUSE_AFTER:
        act(s, LC_PAUSE, rng_range(&s->r, 2 * SEC, 40 * SEC));
        break;
    case M_CANCEL_INFLIGHT:
    case M_CANCEL_AFTER:
        act(s, LC_CANCEL, rng_range(&s->r, 2 * SEC, 60 * SEC));
        break;
    case M_CANCEL_SETTLE:
        act(s, LC_CANCEL, rng_range(&s->r, 1 * SEC, 20 * SEC));
        if (s->open_tc[0]) {
            /* The call that was executing ends; its late result settles the cancel. */
            advance(s, (s->open_end > s->t + 500 ? s->open_end : s->t + 500) - s->t);
            tool_result(s, s->open_tc, s->open_result, NULL, 0);
            s->open_result = NULL;
            post_log(s, "info", "late result of %s recorded after cancel", s->open_tc);
            sess_flush(s);
        }
        break;
    case M_RETRY: {
        const char *why = PICK(&s->r, retry_errors);
        advance(s, rng_range(&s->r, 500, 3 * SEC));
        sess_status(s, "retrying", why, NULL, NULL);
        post_log(s, "warn", "%s", why);
        sess_flush(s);
        break;
    }
    default:
        break;
    }
}

/* Mode for a target status. */
static mode mode_for(rng *r, target st)
{
    switch (st) {
    case ST_PENDING: return M_PENDING;
    case ST_RUNNING: return rng_chance(r, 60) ? M_RUN_INFLIGHT : M_RUN_AFTER;
    case ST_RETRYING: return M_RETRY;
    case ST_PAUSING: return M_PAUSE_INFLIGHT;
    case ST_PAUSED: return M_PAUSE_AFTER;
    case ST_CANCELING: return M_CANCEL_INFLIGHT;
    case ST_CANCELED: return rng_chance(r, 50) ? M_CANCEL_AFTER : M_CANCEL_SETTLE;
    case ST_FAILED: return M_FAIL;
    case ST_COMPLETED: break;
    }
    return M_COMPLETE;
}

/* Set up a run of agent `agent` starting at simulated time `start`. */
static void sess_init(sess *s, demo_ctx *c, int agent, target st, uint64_t seed, int dry,
                      int64_t start, int64_t *t_max, int *kids, int room)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->a = agent_by_id(agent);
    s->r.s = seed;
    s->dry = dry;
    s->st = st;
    s->t = start;
    s->t_max = t_max;
    if (start > *t_max) *t_max = start;
    s->kids = kids;
    s->room = room;
    s->trig = -1;
}

/* Play the run: who started it and where, the agent's script, the stop. */
static void sess_run(sess *s)
{
    rng *r = &s->r;
    static const char *const prod_clusters[] = { "prod-us-east-1", "prod-eu-west-1" };
    mode m = mode_for(r, s->st);
    if (s->m == M_AUTO) s->m = m;
    /* Running runs often wait for a person: that is what the Work Center shows. */
    if (rng_chance(r, 50) && s->m == M_RUN_INFLIGHT) s->want_manual = 1;
    s->cut = s->want_manual ? 1 : 1 + (int)rng_below(r, 3);
    s->batch = cJSON_CreateArray();
    s->steps = cJSON_CreateArray();
    if (!s->batch || !s->steps) {
        ctx_fail(s->c, "demo: out of memory");
        goto out;
    }
    rng_chars(r, HEX, s->trace, 32);
    rng_chars(r, HEX, s->root_span, 16);
    s->context = rng_range(r, 500, 1800); /* the system prompt and tool schemas */
    if (s->parent) {
        s->trig = strcmp(s->parent->a->kind, "workflow") == 0 ? TR_WORKFLOW : TR_AGENT;
        snprintf(s->source, sizeof s->source, "%s", s->parent->a->name);
        s->project = s->parent->project;
        s->env = s->parent->env;
        s->cluster = s->parent->cluster;
    } else {
        if (s->trig < 0) s->trig = rng_weighted(r, s->a->trig_w, 4);
        const char *src = s->trig == TR_MANUAL ? PICK(r, staff)
                          : s->trig == TR_API  ? rng_list(r, s->a->tokens)
                          : s->trig == TR_EVENT ? rng_list(r, s->a->events)
                                                : rng_list(r, s->a->cadences);
        snprintf(s->source, sizeof s->source, "%s", src);
        s->project = rng_list(r, s->a->projects);
        s->env = rng_chance(r, 80) ? "production" : "staging";
        s->cluster = s->env[0] == 'p' ? PICK(r, prod_clusters) : "staging-us-east-1";
    }
    s->runtime = s->env[0] == 'p' ? "token:runtime-prod" : "token:runtime-staging";
    snprintf(s->deployment, sizeof s->deployment, "%s@1.%d.%d", s->a->name,
             s->env[0] == 'p' ? 8 : 9, (int)rng_below(r, 6));
    s->a->script(s);
    sess_post(s);
    sess_flush(s);
    sess_place(s);
out:
    cJSON_Delete(s->batch);
    s->batch = NULL;
    cJSON_Delete(s->steps);
    s->steps = NULL;
    cJSON_Delete(s->open_result);
    s->open_result = NULL;
}

/* ---------------------------------------------------------------- scripts */

static const char *const customers[] = {
    "maria.gonzalez@example.net", "j.smith@example.org",  "li.na@example.com",
    "tom.becker@example.de",      "aisha.khan@example.co.uk", "pedro.alves@example.com",
    "emma.wilson@example.net",    "kenji.sato@example.jp",
};

/* support-triage: a customer ticket, from classification to the reply. */
static void sc_support(sess *s)
{
    static const struct issue {
        const char *subject, *category, *body;
        int         path; /* 0 refund, 1 bug, 2 account */
    } issues[] = {
        { "refund not received", "refund",
          "Hi, I returned my order two weeks ago and the refund still has not shown up on my "
          "card. Tracking says the parcel reached your warehouse. Can you check what is going on?",
          0 },
        { "charged twice for one order", "billing",
          "I was charged twice for the same order this morning: two identical charges on my "
          "Visa. Please refund the duplicate.", 0 },
        { "package marked delivered but missing", "shipping",
          "Tracking says delivered yesterday but nothing arrived, and my neighbours do not have "
          "it either. I would like a refund or a replacement.", 0 },
        { "discount code not applied at checkout", "billing",
          "The code SPRING20 was accepted at checkout but the total did not change. I would "
          "like the 20% back.", 0 },
        { "cannot reset password", "account",
          "The reset link in your email says the token expired, every time, even when I click "
          "it right away.", 1 },
        { "checkout fails with error 500 on PayPal", "bug",
          "Every time I try to pay with PayPal the checkout page says: Something went wrong "
          "(500). Paying by card works.", 1 },
        { "invoice shows wrong VAT number", "account",
          "Our invoice lists VAT number DE811907980 but ours is DE811907981. We need a "
          "corrected invoice for our accounting.", 2 },
        { "cancel my subscription", "account",
          "Please cancel my Pro subscription at the end of this billing period. I do not want "
          "it to renew.", 2 },
    };
    static const char *const plans[] = { "free", "plus", "pro", "enterprise" };
    rng *r = &s->r;
    /* the refund issues (0 to 3) ask a person to approve large amounts */
    const struct issue *is = s->want_manual   ? &issues[rng_below(r, 4)]
                             : s->full ? &issues[1]
                                              : &PICK(r, issues);
    const char *cust = PICK(r, customers);
    const char *plan = PICK(r, plans);
    const char *prio = plan[0] == 'p' || plan[0] == 'e' ? "high" : "normal";
    int ticket = (int)rng_range(r, 40000, 49999);
    int order = (int)rng_range(r, 50000, 69999);
    int cents = (int)(s->want_manual ? rng_range(r, 18000, 64000) : rng_range(r, 1899, 29900));
    int last4 = (int)rng_range(r, 1000, 9999);
    char name[160], prompt[1400], thread[32], charge[32], refund[32], msgid[24], tail[20];
    char errmsg[200];
    snprintf(name, sizeof name, "Triage ticket #%d: %s", ticket, is->subject);
    snprintf(prompt, sizeof prompt,
             "You are the support triage agent of Acme Store. Refunds up to $150 need no "
             "approval; above that a support lead must approve first.\n\n"
             "Ticket #%d from %s (plan: %s)\nSubject: %s\n\n%s\n\n"
             "Classify the ticket, look up the customer and their orders, resolve it if policy "
             "allows, and reply to the customer.",
             ticket, cust, plan, is->subject, is->body);
    snprintf(thread, sizeof thread, "zendesk-%d", ticket);
    rng_chars(r, ALNUM, tail, 14);
    snprintf(charge, sizeof charge, "ch_3P%s", tail);
    rng_chars(r, ALNUM, tail, 14);
    snprintf(refund, sizeof refund, "re_3P%s", tail);
    rng_chars(r, HEX, tail, 12);
    snprintf(msgid, sizeof msgid, "msg_%s", tail);
    cJSON *in = cJSON_CreateObject();
    if (in) {
        cJSON_AddNumberToObject(in, "ticket_id", ticket);
        cJSON_AddStringToObject(in, "customer_email", cust);
        cJSON_AddStringToObject(in, "plan", plan);
        cJSON_AddStringToObject(in, "subject", is->subject);
        cJSON_AddStringToObject(in, "body", is->body);
    }
    sess_create(s, (header){
        .name = name, .prompt = prompt, .inputs = in, .thread_id = thread, .actor = cust,
        .metadata = jf(s, "{\"team\":\"support\",\"ticket_id\":%d,\"category\":\"%s\","
                          "\"plan\":\"%s\",\"priority\":\"%s\",\"channel\":\"email\"}",
                       ticket, is->category, plan, prio) });

    say(s, "user_message", rng_range(r, 200, 900), "%s", is->body);
    llm(s, GPT4O_MINI, 20, 80);
    say(s, "thought", 0,
        "Category: **%s**, customer on the %s plan. Before touching anything I check for other "
        "open tickets from %s, so that I do not answer the same problem twice.",
        is->category, plan, cust);
    slog(s, "info", "classified ticket #%d as %s (confidence 0.%02d)", ticket, is->category,
         (int)rng_range(r, 81, 98));
    if (!tool(s, (tool_spec){
            .name = "search_tickets", .ms = 700,
            .args = jf(s, "{\"requester\":\"%s\",\"status\":[\"new\",\"open\",\"pending\"],"
                          "\"limit\":5}", cust),
            .result = jf(s, "{\"total\":1,\"tickets\":[{\"id\":%d,\"subject\":\"%s\","
                            "\"status\":\"new\",\"priority\":\"%s\"}]}",
                         ticket, is->subject, prio),
            .err_msg = "Zendesk API: 503 Service Unavailable (maintenance window)" }))
        return;

    if (is->path == 0) {
        static const char *const items[] = { "Trail running shoes", "Noise-cancelling headphones",
                                             "Espresso grinder", "Rain jacket", "Standing desk mat" };
        const char *order_status = is == &issues[0] ? "returned" : is == &issues[2] ? "delivered"
                                                                                    : "paid";
        int big = cents > 15000;
        llm(s, GPT4O, 60, 220);
        say(s, "thought", 0,
            "No other open tickets. The customer did not quote an order number, so I look up "
            "their most recent order.");
        if (!tool(s, (tool_spec){
                .name = "get_order", .ms = 450,
                .args = jf(s, "{\"customer_email\":\"%s\",\"latest\":true}", cust),
                .result = jf(s, "{\"order_id\":\"ORD-%d\",\"status\":\"%s\",\"total\":%d.%02d,"
                                "\"currency\":\"USD\",\"payment\":{\"method\":\"card\","
                                "\"brand\":\"visa\",\"last4\":\"%04d\",\"charge_id\":\"%s\"},"
                                "\"items\":[{\"sku\":\"SKU-%d\",\"name\":\"%s\",\"qty\":1}]}",
                             order, order_status, cents / 100, cents % 100, last4, charge,
                             (int)rng_range(r, 10000, 99999), PICK(r, items)),
                .err_msg = "orders-service: 504 Gateway Timeout after 30 s" }))
            return;
        if (is == &issues[1] && (s->full || rng_chance(r, 25))) {
            char topic[120];
            snprintf(topic, sizeof topic, "Reconcile duplicate card charges for ORD-%d", order);
            if (!tool(s, (tool_spec){
                    .name = "run_workflow", .kind = "workflow", .child = AG_PIPELINE,
                    .topic = topic,
                    .args = jf(s, "{\"workflow\":\"data-pipeline\",\"job\":\"reconcile-charges\","
                                  "\"order_id\":\"ORD-%d\",\"wait\":true}", order) }))
                return;
        }
        llm(s, GPT4O, 80, 260);
        say(s, "thought", 0,
            "Order `ORD-%d` totals **$%d.%02d**, paid by card (charge `%s`), status `%s`. "
            "No refund is recorded yet. The amount is %s the $150 self-service limit%s.",
            order, cents / 100, cents % 100, charge, order_status, big ? "above" : "within",
            big ? ", so a support lead has to approve it first" : "");
        if (big && !tool(s, (tool_spec){
                       .name = "approve_refund", .kind = "manual",
                       .args = jf(s, "{\"order_id\":\"ORD-%d\",\"amount\":%d.%02d,"
                                     "\"currency\":\"USD\",\"reason\":\"%s\",\"ticket_id\":%d}",
                                  order, cents / 100, cents % 100, is->subject, ticket),
                       .result = jf(s, "{\"approved\":true,\"approver\":\"%s\","
                                       "\"comment\":\"Checked the order history, approved.\"}",
                                    PICK(r, staff)) }))
            return;
        snprintf(errmsg, sizeof errmsg, "Stripe: charge %s has already been refunded", charge);
        if (!tool(s, (tool_spec){
                .name = "refund_payment", .ms = 1200,
                .args = jf(s, "{\"charge_id\":\"%s\",\"amount_cents\":%d,\"currency\":\"usd\","
                              "\"reason\":\"requested_by_customer\","
                              "\"idempotency_key\":\"refund-ORD-%d\"}", charge, cents, order),
                .result = jf(s, "{\"refund_id\":\"%s\",\"status\":\"succeeded\","
                                "\"amount_cents\":%d}", refund, cents),
                .err_cat = "payment_provider_error", .err_msg = errmsg }))
            return;
        if (!tool(s, (tool_spec){
                .name = "send_email", .ms = 400,
                .args = jf(s, "{\"to\":\"%s\",\"template\":\"refund_issued\","
                              "\"subject\":\"Your refund for order ORD-%d\","
                              "\"variables\":{\"amount\":\"$%d.%02d\",\"refund_id\":\"%s\"}}",
                           cust, order, cents / 100, cents % 100, refund),
                .result = jf(s, "{\"message_id\":\"%s\",\"status\":\"queued\"}", msgid) }))
            return;
        sess_finish(s,
                    "**Ticket #%d resolved**: refund issued.\n\n"
                    "- Order `ORD-%d`: **$%d.%02d** refunded to the Visa card ending %04d\n"
                    "- Refund `%s` succeeded; it shows on the statement in 5 to 10 business days\n"
                    "%s- Reply sent to %s\n\nTags: `%s`, `plan:%s`",
                    ticket, order, cents / 100, cents % 100, last4, refund,
                    big ? "- Approved by a support lead (over the $150 limit)\n" : "", cust,
                    is->category, plan);
        return;
    }

    if (is->path == 1) {
        int similar = (int)rng_range(r, 2, 14), key = (int)rng_range(r, 1200, 4800);
        int paypal = is == &issues[5];
        llm(s, GPT4O, 60, 200);
        say(s, "thought", 0,
            "This looks like a product bug rather than a billing problem. I search for similar "
            "reports from the last 7 days to judge how widespread it is.");
        if (!tool(s, (tool_spec){
                .name = "search_tickets", .ms = 900,
                .args = jf(s, "{\"query\":\"%s\",\"created_after\":\"-7d\",\"limit\":20}",
                           is->subject),
                .result = jf(s, "{\"total\":%d,\"tickets\":[{\"id\":%d,\"subject\":\"%s\","
                                "\"status\":\"open\"},{\"id\":%d,\"subject\":\"%s\","
                                "\"status\":\"pending\"}]}",
                             similar, ticket - (int)rng_range(r, 10, 400), is->subject,
                             ticket - (int)rng_range(r, 401, 900), is->subject) }))
            return;
        if (rng_chance(r, 50) &&
            !tool(s, (tool_spec){
                .name = "collect_browser_info", .kind = "client",
                .args = jf(s, "{\"fields\":[\"user_agent\",\"console_errors\","
                              "\"cookies_enabled\"]}"),
                .result = jf(s, "{\"user_agent\":\"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) "
                                "AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15\","
                                "\"console_errors\":[\"%s\"],\"cookies_enabled\":true}",
                             paypal ? "POST /api/checkout/paypal 500"
                                    : "GET /account/reset?token=... 410") }))
            return;
        llm(s, GPT4O, 80, 240);
        say(s, "thought", 0,
            "%d similar tickets this week: worth a bug with priority **High**. The customer "
            "gets a workaround in the meantime.", similar);
        if (!tool(s, (tool_spec){
                .name = "create_jira_issue", .ms = 800,
                .args = jf(s, "{\"project\":\"SUP\",\"issue_type\":\"Bug\",\"summary\":\"%s\","
                              "\"priority\":\"High\",\"labels\":[\"customer-reported\","
                              "\"triage-agent\"],\"description\":\"Reported in ticket #%d; %d "
                              "similar tickets in the last 7 days.\"}",
                           is->subject, ticket, similar),
                .result = jf(s, "{\"key\":\"SUP-%d\","
                                "\"url\":\"https://acme.atlassian.net/browse/SUP-%d\"}", key, key),
                .err_cat = "permission_denied",
                .err_msg = "Jira: the token lacks the Create Issues permission in project SUP" }))
            return;
        if (!tool(s, (tool_spec){
                .name = "send_email", .ms = 400,
                .args = jf(s, "{\"to\":\"%s\",\"template\":\"bug_acknowledged\","
                              "\"subject\":\"We are on it: %s\"}", cust, is->subject),
                .result = jf(s, "{\"message_id\":\"%s\",\"status\":\"queued\"}", msgid) }))
            return;
        sess_finish(s,
                    "**Escalated to engineering**: this is a product bug, not a billing problem.\n\n"
                    "- Created `SUP-%d` (priority **High**) and linked %d similar tickets\n"
                    "- Told %s we are working on it\n"
                    "- Workaround: %s\n\nNo refund needed.",
                    key, similar, cust,
                    paypal ? "pay by card until the fix ships"
                           : "request a new link from the *Sign in* page instead of an old email");
        return;
    }

    /* account */
    int vat = is == &issues[6];
    int inv = (int)rng_range(r, 100000, 999999);
    char cus[24];
    rng_chars(r, ALNUM, tail, 14);
    snprintf(cus, sizeof cus, "cus_%s", tail);
    llm(s, GPT4O, 60, 180);
    say(s, "thought", 0, "An account change. I need the customer record first.");
    if (!tool(s, (tool_spec){
            .name = "get_customer", .ms = 300,
            .args = jf(s, "{\"email\":\"%s\"}", cust),
            .result = jf(s, "{\"customer_id\":\"%s\",\"plan\":\"%s\",\"status\":\"active\","
                            "\"vat_id\":\"DE811907980\",\"billing\":\"monthly\"}", cus, plan) }))
        return;
    if (vat) {
        if (!tool(s, (tool_spec){
                .name = "regenerate_invoice", .ms = 2500,
                .args = jf(s, "{\"invoice_id\":\"INV-%d\",\"vat_id\":\"DE811907981\"}", inv),
                .result = jf(s, "{\"invoice_id\":\"INV-%d-R1\",\"pdf_url\":"
                                "\"https://billing.acme.example/invoices/INV-%d-R1.pdf\"}",
                             inv, inv),
                .err_cat = "validation_error",
                .err_msg = "billing: VAT id DE811907981 failed the VIES check" }))
            return;
    } else if (!tool(s, (tool_spec){
                   .name = "update_subscription", .ms = 600,
                   .args = jf(s, "{\"customer_id\":\"%s\",\"cancel_at_period_end\":true}", cus),
                   .result = jf(s, "{\"status\":\"active\",\"cancel_at_period_end\":true}") })) {
        return;
    }
    if (!tool(s, (tool_spec){
            .name = "send_email", .ms = 400,
            .args = jf(s, "{\"to\":\"%s\",\"template\":\"%s\"}", cust,
                       vat ? "invoice_corrected" : "subscription_canceled"),
            .result = jf(s, "{\"message_id\":\"%s\",\"status\":\"queued\"}", msgid) }))
        return;
    if (vat)
        sess_finish(s,
                    "**Corrected invoice sent.**\n\n- Reissued `INV-%d` as `INV-%d-R1` with VAT "
                    "id `DE811907981`\n- The PDF link went to %s",
                    inv, inv, cust);
    else
        sess_finish(s,
                    "**Subscription set to cancel** at the end of the current billing period.\n\n"
                    "- Customer `%s` keeps **%s** features until then\n- No further charges\n"
                    "- Confirmation sent to %s",
                    cus, plan, cust);
}

/* code-reviewer: a pull request, from the diff to the submitted review. */
static void sc_review(sess *s)
{
    static const struct repo {
        const char *name, *lang, *test_cmd, *files[2], *titles[3], *finding, *fix;
    } repos[] = {
        { "acme/payments-api", "go", "go test -race ./...",
          { "internal/client/retry.go", "internal/client/retry_test.go" },
          { "add retry budget to payment client", "fix double refund on webhook replay",
            "add idempotency keys to the refund endpoint" },
          "the retry budget is a plain int shared by goroutines: a data race under load",
          "use `atomic.Int64` or keep the budget per request" },
        { "acme/web", "typescript", "pnpm test --run",
          { "src/checkout/PaymentForm.tsx", "src/checkout/usePayPal.ts" },
          { "show PayPal errors in the payment form", "migrate checkout to server components",
            "fix layout shift on the product page" },
          "the error from `usePayPal()` is swallowed when the popup is closed",
          "surface it through the form's `onError` and add a test" },
        { "acme/platform-infra", "terraform", "terraform validate && tflint",
          { "modules/db/main.tf", "envs/prod/db.tf" },
          { "raise db-primary connection limit", "add an eu-west-1 read replica",
            "rotate TLS certificates with cert-manager" },
          "`max_connections` is raised without raising the instance class's memory",
          "move to `db.r6g.2xlarge` or keep the limit at 800" },
    };
    static const char *const authors[] = { "dkim", "sofia-m", "jlee", "r-okafor", "nina.v" };
    static const char *const verdicts[] = { "APPROVE", "COMMENT", "REQUEST_CHANGES" };
    static const int verdict_w[] = { 45, 25, 30 };
    rng *r = &s->r;
    const struct repo *rp = &PICK(r, repos);
    const char *title = PICK(r, rp->titles);
    const char *author = PICK(r, authors);
    int pr = (int)rng_range(r, 900, 1480);
    int v = rng_weighted(r, verdict_w, 3);
    int line = (int)rng_range(r, 20, 240), adds = (int)rng_range(r, 12, 420);
    int tests = (int)rng_range(r, 80, 640);
    char name[200], prompt[800], sha[41];
    rng_chars(r, HEX, sha, 40);
    snprintf(name, sizeof name, "Review PR #%d: %s", pr, title);
    snprintf(prompt, sizeof prompt,
             "Review pull request #%d in %s (%s) by @%s: \"%s\".\n\n"
             "Focus on correctness, concurrency and security. Leave inline comments for concrete "
             "problems only, then submit one review: APPROVE, COMMENT or REQUEST_CHANGES.",
             pr, rp->name, rp->lang, author, title);
    cJSON *in = cJSON_CreateObject();
    if (in) {
        cJSON_AddStringToObject(in, "repo", rp->name);
        cJSON_AddNumberToObject(in, "pr_number", pr);
        cJSON_AddStringToObject(in, "title", title);
        cJSON_AddStringToObject(in, "author", author);
    }
    char actor[48];
    snprintf(actor, sizeof actor, "github:%s", author);
    sess_create(s, (header){
        .name = name, .prompt = prompt, .inputs = in, .actor = actor,
        .metadata = jf(s, "{\"team\":\"platform\",\"repo\":\"%s\",\"pr\":%d,\"language\":\"%s\","
                          "\"head_sha\":\"%s\"}", rp->name, pr, rp->lang, sha) });

    say(s, "user_message", rng_range(r, 100, 600),
        "PR #%d by @%s: **%s**\n\n%d lines added. Please review before merge.", pr, author, title,
        adds);
    llm(s, CLAUDE_SONNET, 60, 200);
    say(s, "thought", 0,
        "I will fetch the list of changed files first, then read the main one in full: diffs "
        "hide the context that concurrency bugs live in.");
    if (!tool(s, (tool_spec){
            .name = "http_get", .ms = 500,
            .args = jf(s, "{\"url\":\"https://api.github.com/repos/%s/pulls/%d/files\","
                          "\"headers\":{\"Accept\":\"application/vnd.github+json\"}}",
                       rp->name, pr),
            .result = jf(s, "{\"status\":200,\"files\":[{\"filename\":\"%s\",\"additions\":%d,"
                            "\"deletions\":%d},{\"filename\":\"%s\",\"additions\":%d,"
                            "\"deletions\":0}]}",
                         rp->files[0], adds * 2 / 3, (int)rng_range(r, 0, 80), rp->files[1],
                         adds / 3),
            .err_cat = "auth_error", .err_msg = "GitHub: 401 Bad credentials (app token expired)" }))
        return;
    if (!tool(s, (tool_spec){
            .name = "read_file", .ms = 350,
            .args = jf(s, "{\"repo\":\"%s\",\"path\":\"%s\",\"ref\":\"%s\"}", rp->name,
                       rp->files[0], sha),
            .result = jf(s, "{\"path\":\"%s\",\"size\":%d,\"lines\":%d,\"truncated\":false}",
                         rp->files[0], (int)rng_range(r, 2000, 24000), line + 120) }))
        return;
    llm(s, CLAUDE_SONNET, 150, 600);
    say(s, "thought", 0, "In `%s` around line %d: %s. Running the test suite before I comment.",
        rp->files[0], line, rp->finding);
    if (!tool(s, (tool_spec){
            .name = "run_tests", .ms = 75 * SEC,
            .args = jf(s, "{\"repo\":\"%s\",\"ref\":\"%s\",\"command\":\"%s\"}", rp->name, sha,
                       rp->test_cmd),
            .result = jf(s, "{\"passed\":%d,\"failed\":0,\"skipped\":%d,\"exit_code\":0}", tests,
                         (int)rng_range(r, 0, 6)),
            .err_cat = "ci_error",
            .err_msg = "test runner killed: exit code 137 (out of memory)" }))
        return;
    if (v != 0) {
        int cid = (int)rng_range(r, 1400000000, 1499999999);
        if (!tool(s, (tool_spec){
                .name = "post_review_comment", .ms = 600,
                .args = jf(s, "{\"repo\":\"%s\",\"pr\":%d,\"path\":\"%s\",\"line\":%d,"
                              "\"body\":\"%s; %s.\"}",
                           rp->name, pr, rp->files[0], line, rp->finding, rp->fix),
                .result = jf(s, "{\"id\":%d,\"url\":\"https://github.com/%s/pull/%d"
                                "#discussion_r%d\"}", cid, rp->name, pr, cid) }))
            return;
    }
    if (!tool(s, (tool_spec){
            .name = "submit_review", .ms = 700,
            .args = jf(s, "{\"repo\":\"%s\",\"pr\":%d,\"event\":\"%s\"}", rp->name, pr,
                       verdicts[v]),
            .result = jf(s, "{\"id\":%d,\"state\":\"%s\"}", (int)rng_range(r, 2000000, 2999999),
                         v == 0 ? "APPROVED" : v == 1 ? "COMMENTED" : "CHANGES_REQUESTED") }))
        return;
    if (v == 0)
        sess_finish(s,
                    "### Review of #%d\n\n**Verdict:** approve\n\n"
                    "- The change is small and covered by tests\n"
                    "- Minor, not blocking: in `%s:%d`, %s\n\n"
                    "Tests: `%s` → **%d passed**, 0 failed.",
                    pr, rp->files[0], line, rp->finding, rp->test_cmd, tests);
    else
        sess_finish(s,
                    "### Review of #%d\n\n**Verdict:** %s\n\n"
                    "1. `%s:%d`: %s. Suggested fix: %s.\n"
                    "2. `%s` does not cover the failure path.\n\n"
                    "Tests: `%s` → **%d passed**, 0 failed.",
                    pr, v == 1 ? "comment" : "request changes", rp->files[0], line, rp->finding,
                    rp->fix, rp->files[1], rp->test_cmd, tests);
}

/* release-notes: notes for a tagged release, approved by a person, published. */
static void sc_release(sess *s)
{
    static const char *const services[] = { "payments-api", "web", "billing-worker",
                                            "auth-service" };
    static const char *const jira[] = { "PAY", "WEB", "BILL", "AUTH" };
    rng *r = &s->r;
    int si = (int)rng_below(r, NELEM(services));
    const char *svc = services[si];
    int major = (int)rng_range(r, 1, 4), minor = (int)rng_range(r, 2, 30);
    int feats = (int)rng_range(r, 1, 5), fixes = (int)rng_range(r, 2, 9);
    int k1 = (int)rng_range(r, 100, 900), k2 = k1 + (int)rng_range(r, 1, 40);
    int bytes = (int)rng_range(r, 1800, 7200);
    char name[120], prompt[600], ver[24], prev[24], url[200];
    snprintf(ver, sizeof ver, "v%d.%d.0", major, minor);
    snprintf(prev, sizeof prev, "v%d.%d.0", major, minor - 1);
    snprintf(name, sizeof name, "Release notes for %s %s", svc, ver);
    snprintf(url, sizeof url, "https://github.com/acme/%s/releases/tag/%s", svc, ver);
    snprintf(prompt, sizeof prompt,
             "Write release notes for %s %s (changes since %s). Audience: customers and support. "
             "Group by Features, Fixes and Internal; link Jira keys; skip dependency bumps unless "
             "they fix a security issue.",
             svc, ver, prev);
    cJSON *in = cJSON_CreateObject();
    if (in) {
        cJSON_AddStringToObject(in, "service", svc);
        cJSON_AddStringToObject(in, "version", ver);
        cJSON_AddStringToObject(in, "previous_version", prev);
    }
    sess_create(s, (header){
        .name = name, .prompt = prompt, .inputs = in,
        .metadata = jf(s, "{\"team\":\"platform\",\"service\":\"%s\",\"version\":\"%s\"}", svc,
                       ver) });

    llm(s, GPT4O, 40, 120);
    say(s, "thought", 0, "First the merged pull requests between `%s` and `%s`.", prev, ver);
    if (!tool(s, (tool_spec){
            .name = "list_merged_prs", .ms = 1100,
            .args = jf(s, "{\"repo\":\"acme/%s\",\"base\":\"%s\",\"head\":\"%s\"}", svc, prev,
                       ver),
            .result = jf(s, "{\"total\":%d,\"pull_requests\":[{\"number\":%d,\"title\":\"%s-%d: "
                            "add export to CSV\",\"labels\":[\"feature\"]},{\"number\":%d,"
                            "\"title\":\"%s-%d: fix rounding of tax totals\",\"labels\":[\"bug\"]},"
                            "{\"number\":%d,\"title\":\"bump golang.org/x/net\","
                            "\"labels\":[\"dependencies\"]}]}",
                         feats + fixes + 2, (int)rng_range(r, 1000, 1400), jira[si], k1,
                         (int)rng_range(r, 1000, 1400), jira[si], k2,
                         (int)rng_range(r, 1000, 1400)) }))
        return;
    if (!tool(s, (tool_spec){
            .name = "get_jira_issues", .ms = 800,
            .args = jf(s, "{\"keys\":[\"%s-%d\",\"%s-%d\"]}", jira[si], k1, jira[si], k2),
            .result = jf(s, "{\"issues\":[{\"key\":\"%s-%d\",\"type\":\"Story\",\"summary\":"
                            "\"Export invoices to CSV\"},{\"key\":\"%s-%d\",\"type\":\"Bug\","
                            "\"summary\":\"Tax totals off by one cent\"}]}",
                         jira[si], k1, jira[si], k2) }))
        return;
    llm(s, GPT4O, 500, 1400);
    say(s, "assistant_message", 0,
        "Draft for **%s %s**:\n\n#### Features\n- Export invoices to CSV (`%s-%d`)\n\n"
        "#### Fixes\n- Tax totals no longer differ by one cent on mixed-rate carts (`%s-%d`)\n\n"
        "#### Internal\n- Dependency updates (no security impact)\n\nSending it for approval.",
        svc, ver, jira[si], k1, jira[si], k2);
    if (!tool(s, (tool_spec){
            .name = "approve_publish", .kind = "manual",
            .args = jf(s, "{\"draft_url\":\"https://docs.acme.example/drafts/%s-%s\","
                          "\"reviewers\":[\"release-managers\"]}", svc, ver),
            .result = jf(s, "{\"approved\":true,\"approver\":\"%s\",\"comment\":\"Ship it.\"}",
                         PICK(r, staff)) }))
        return;
    if (!tool(s, (tool_spec){
            .name = "publish_release_notes", .ms = 900,
            .args = jf(s, "{\"repo\":\"acme/%s\",\"tag\":\"%s\",\"body_bytes\":%d}", svc, ver,
                       bytes),
            .result = jf(s, "{\"url\":\"%s\"}", url),
            .err_cat = "conflict", .err_msg = "GitHub: 422 a release for this tag already exists" }))
        return;
    if (!tool(s, (tool_spec){
            .name = "post_slack_message", .ms = 500,
            .args = jf(s, "{\"channel\":\"#releases\",\"text\":\"%s %s is out: %s\"}", svc, ver,
                       url),
            .result = jf(s, "{\"ok\":true,\"channel\":\"#releases\"}") }))
        return;
    sess_finish(s,
                "Published the release notes of **%s %s**: %s\n\n"
                "- %d features, %d fixes, 2 internal changes\n- Announced in `#releases`",
                svc, ver, url, feats, fixes);
}

/* data-pipeline (a workflow): extract, load, check, export. */
static void sc_pipeline(sess *s)
{
    static const struct job {
        const char *title, *source, *target;
    } jobs[] = {
        { "Sync orders to warehouse", "orders", "analytics.orders" },
        { "Hourly revenue rollup", "payments", "analytics.revenue_hourly" },
        { "Refresh customer LTV", "analytics.orders", "analytics.customer_ltv" },
        { "Import Stripe payouts", "stripe.payouts", "finance.payouts" },
        { "Reconcile refunds", "stripe.refunds", "finance.refunds" },
    };
    rng *r = &s->r;
    const struct job *j = &PICK(r, jobs);
    int run = (int)rng_range(r, 18000, 24000);
    int rows = (int)rng_range(r, 800, 60000);
    int anomaly = s->full || rng_chance(r, 25);
    int drop = (int)rng_range(r, 25, 60);
    char name[200], prompt[600], wm[40];
    fmt_rfc3339(s->t - rng_range(r, 15 * MIN, 2 * HOUR), wm, sizeof wm);
    if (s->topic) snprintf(name, sizeof name, "%s", s->topic);
    else snprintf(name, sizeof name, "%s · run %d", j->title, run);
    snprintf(prompt, sizeof prompt,
             "Workflow %s: extract %s changed since %s, load into %s, then flag anomalies over "
             "3 sigma against the same hour last week.",
             s->topic ? s->topic : j->title, j->source, wm, j->target);
    cJSON *in = cJSON_CreateObject();
    if (in) {
        cJSON_AddStringToObject(in, "source_table", j->source);
        cJSON_AddStringToObject(in, "target_table", j->target);
        cJSON_AddStringToObject(in, "watermark", wm);
        if (s->topic) cJSON_AddStringToObject(in, "request", s->topic);
    }
    sess_create(s, (header){
        .name = name, .prompt = prompt, .inputs = in,
        .metadata = jf(s, "{\"team\":\"data\",\"job\":\"%s\",\"run\":%d,\"target\":\"%s\"}",
                       j->title, run, j->target) });

    slog(s, "info", "step extract started (watermark %s)", wm);
    if (!tool(s, (tool_spec){
            .name = "run_sql", .ms = 14 * SEC,
            .args = jf(s, "{\"database\":\"replica\",\"query\":\"SELECT * FROM %s WHERE "
                          "updated_at > $1\",\"params\":[\"%s\"]}", j->source, wm),
            .result = jf(s, "{\"rows\":%d,\"bytes\":%d}", rows, rows * 212),
            .err_cat = "timeout",
            .err_msg = "canceling statement due to statement timeout (300 s)" }))
        return;
    slog(s, "info", "extracted %d rows from %s", rows, j->source);
    if (!tool(s, (tool_spec){
            .name = "run_sql", .ms = 22 * SEC,
            .args = jf(s, "{\"database\":\"warehouse\",\"query\":\"MERGE INTO %s USING staging "
                          "ON (id) WHEN MATCHED THEN UPDATE WHEN NOT MATCHED THEN INSERT\"}",
                       j->target),
            .result = jf(s, "{\"rows_affected\":%d}", rows),
            .err_cat = "constraint_violation",
            .err_msg = "duplicate key value violates unique constraint on (id, day)" }))
        return;
    llm(s, LLAMA3_70B, 40, 160);
    if (anomaly)
        say(s, "thought", 0,
            "The last hour is **%d%%** below the same hour last week and refunds are 4x normal. "
            "That is over 3 sigma: asking for an explanation before exporting.", drop);
    else
        say(s, "thought", 0, "Volumes are within 1 sigma of last week. No anomaly.");
    if (anomaly) {
        char topic[160];
        snprintf(topic, sizeof topic,
                 "Explain the %d%% drop in %s for run %d (refunds 4x normal)", drop, j->target,
                 run);
        if (!tool(s, (tool_spec){
                .name = "summarize_anomaly", .kind = "agent", .child = AG_RESEARCH,
                .topic = topic,
                .args = jf(s, "{\"agent\":\"research-assistant\",\"table\":\"%s\",\"run\":%d}",
                           j->target, run) }))
            return;
    }
    if (!tool(s, (tool_spec){
            .name = "upload_to_s3", .ms = 3 * SEC,
            .args = jf(s, "{\"bucket\":\"acme-warehouse-exports\",\"key\":\"%s/run-%d.parquet\","
                          "\"bytes\":%d}", j->target, run, rows * 61),
            .result = jf(s, "{\"etag\":\"%016llx\",\"version_id\":\"v%d\"}",
                         (unsigned long long)rng_next(r), run) }))
        return;
    if (!tool(s, (tool_spec){
            .name = "run_sql", .ms = 300,
            .args = jf(s, "{\"database\":\"warehouse\",\"query\":\"UPDATE etl_watermarks SET "
                          "value = now() WHERE job = $1\",\"params\":[\"%s\"]}", j->title),
            .result = jf(s, "{\"rows_affected\":1}") }))
        return;
    sess_finish(s,
                "Loaded **%d** rows into `%s`.\n\n- Extracted from `%s` since `%s`\n"
                "- Exported `s3://acme-warehouse-exports/%s/run-%d.parquet`\n- Anomalies: %s",
                rows, j->target, j->source, wm, j->target, run,
                anomaly ? "**one**, explained by the research assistant" : "none");
}

/* research-assistant: a question, searched, read and answered with sources. */
static void sc_research(sess *s)
{
    static const char *const topics[] = {
        "competitor pricing for EU small-business plans",
        "PCI DSS 4.0 changes that affect tokenized card storage",
        "best practices for idempotency keys in payment APIs",
        "vector databases for searching support tickets",
        "GDPR retention rules for support chat transcripts",
    };
    static const char *const sources[] = {
        "https://docs.acme.example/runbooks/payments", "https://stripe.com/docs/api/idempotent_requests",
        "https://www.pcisecuritystandards.org/document_library/", "https://gdpr.eu/data-retention/",
        "https://wiki.acme.example/postmortems/", "https://status.acme.example/history",
    };
    rng *r = &s->r;
    const char *topic = s->topic ? s->topic : PICK(r, topics);
    const char *src1 = PICK(r, sources), *src2 = PICK(r, sources);
    int hits = (int)rng_range(r, 4, 40);
    char name[200], prompt[700], thread[32], tail[12];
    rng_chars(r, ALNUM, tail, 10);
    snprintf(thread, sizeof thread, "thr_%s", tail);
    snprintf(name, sizeof name, "Research: %s", topic);
    snprintf(prompt, sizeof prompt,
             "Research the question below with web search and the internal wiki. Cite every "
             "claim with a numbered source. Answer in under 300 words.\n\nQuestion: %s",
             topic);
    cJSON *in = cJSON_CreateObject();
    if (in) {
        cJSON_AddStringToObject(in, "question", topic);
        cJSON_AddNumberToObject(in, "max_sources", 5);
    }
    sess_create(s, (header){
        .name = name, .prompt = prompt, .inputs = in, .thread_id = s->parent ? NULL : thread,
        .metadata = jf(s, "{\"team\":\"research\",\"depth\":\"%s\"}",
                       rng_chance(r, 30) ? "deep" : "quick") });

    say(s, "user_message", rng_range(r, 100, 500), "%s", topic);
    llm(s, CLAUDE_HAIKU, 40, 140);
    say(s, "thought", 0,
        "I will search broadly first, then open the two most authoritative sources. Internal "
        "postmortems may already answer part of it.");
    /* Asked by a person in the chat UI: sometimes the model narrows the
     * question down with them first, through a tool the UI (client) runs. */
    if (!s->parent && (s->full || (s->trig == TR_MANUAL && rng_chance(r, 40))) &&
        !tool(s, (tool_spec){
            .name = "ask_user", .kind = "client",
            .args = jf(s, "{\"question\":\"Should I cover only the EU, or worldwide?\","
                          "\"options\":[\"EU only\",\"Worldwide\"]}"),
            .result = jf(s, "{\"choice\":\"%s\"}", rng_chance(r, 60) ? "EU only" : "Worldwide") }))
        return;
    if (!tool(s, (tool_spec){
            .name = "web_search", .ms = 1300,
            .args = jf(s, "{\"query\":\"%s\",\"top_k\":5}", topic),
            .result = jf(s, "{\"results\":[{\"title\":\"Reference\",\"url\":\"%s\"},"
                            "{\"title\":\"Background\",\"url\":\"%s\"}]}", src1, src2) }))
        return;
    if (!tool(s, (tool_spec){
            .name = "search_internal_docs", .ms = 700,
            .args = jf(s, "{\"query\":\"%s\",\"space\":\"ENG\"}", topic),
            .result = jf(s, "{\"total\":%d,\"hits\":[{\"title\":\"Postmortem index\","
                            "\"url\":\"https://wiki.acme.example/postmortems/\"}]}", hits) }))
        return;
    if (!tool(s, (tool_spec){
            .name = "http_get", .ms = 900,
            .args = jf(s, "{\"url\":\"%s\"}", src1),
            .result = jf(s, "{\"status\":200,\"content_type\":\"text/html\",\"bytes\":%d}",
                         (int)rng_range(r, 20000, 180000)),
            .err_cat = "http_error", .err_msg = "403 Forbidden (the site blocks automated clients)" }))
        return;
    llm(s, CLAUDE_SONNET, 300, 900);
    say(s, "thought", 0,
        "The two sources agree on the main point; the internal wiki adds one earlier case "
        "(%d hits, one relevant). Enough to answer.", hits);
    sess_finish(s,
                "**Short answer:** %s is well covered; the key points:\n\n"
                "1. The current guidance changed in the last year; check the dates [1].\n"
                "2. Our own history has one comparable case, resolved without customer impact [2].\n"
                "3. Open question: nothing public on `eu-west-1` specifics.\n\n"
                "Sources:\n[1] %s\n[2] https://wiki.acme.example/postmortems/",
                topic, src1);
}

/* incident-responder: an alert, diagnosed, mitigated with a person's go-ahead. */
static void sc_incident(sess *s)
{
    static const struct inc {
        const char *title, *service, *query, *sev, *cause;
    } incs[] = {
        { "checkout latency p99 > 2s", "checkout",
          "p99:trace.http.request.duration{service:checkout}", "SEV-2",
          "a connection-pool regression in the last deploy" },
        { "payment webhooks failing with 401", "payments-webhooks",
          "sum:webhooks.failed{provider:stripe}", "SEV-2", "a signing secret rotated without a deploy" },
        { "5xx rate above 3% on auth-service", "auth-service",
          "sum:http.5xx{service:auth-service}.as_rate()", "SEV-1", "a bad feature flag" },
        { "billing-worker queue backlog > 50k", "billing-worker",
          "max:queue.depth{queue:billing}", "SEV-3", "a slow downstream after the last deploy" },
    };
    rng *r = &s->r;
    const struct inc *ic = &PICK(r, incs);
    int inc = (int)rng_range(r, 2100, 2999);
    int minor = (int)rng_range(r, 10, 40);
    int key = (int)rng_range(r, 300, 900);
    int base = (int)rng_range(r, 180, 420), now_v = base * (int)rng_range(r, 4, 12);
    const char *oncall = PICK(r, staff);
    char name[160], prompt[700], chan[24];
    snprintf(chan, sizeof chan, "#inc-%d", inc);
    snprintf(name, sizeof name, "Incident INC-%d: %s", inc, ic->title);
    snprintf(prompt, sizeof prompt,
             "You are the first responder for INC-%d (%s, %s) on %s. Find the likely cause, "
             "propose a mitigation, and get the on-call engineer (%s) to confirm before any "
             "rollback. Keep %s updated.",
             inc, ic->title, ic->sev, ic->service, oncall, chan);
    cJSON *in = cJSON_CreateObject();
    if (in) {
        cJSON_AddStringToObject(in, "incident", ic->title);
        cJSON_AddStringToObject(in, "service", ic->service);
        cJSON_AddStringToObject(in, "severity", ic->sev);
        cJSON_AddStringToObject(in, "oncall", oncall);
    }
    sess_create(s, (header){
        .name = name, .prompt = prompt, .inputs = in, .actor = oncall,
        .metadata = jf(s, "{\"team\":\"sre\",\"incident\":\"INC-%d\",\"severity\":\"%s\","
                          "\"service\":\"%s\"}", inc, ic->sev, ic->service) });

    say(s, "user_message", rng_range(r, 100, 400),
        "[%s] INC-%d triggered: **%s** on `%s` (monitor value %d, threshold %d).", ic->sev, inc,
        ic->title, ic->service, now_v, base * 3);
    llm(s, GPT4O, 60, 200);
    say(s, "thought", 0,
        "Start with the metric over the last 30 minutes to see when it began, then line that "
        "up with recent deploys.");
    if (!tool(s, (tool_spec){
            .name = "query_metrics", .ms = 1100,
            .args = jf(s, "{\"query\":\"%s\",\"from\":\"-30m\",\"rollup\":\"1m\"}", ic->query),
            .result = jf(s, "{\"points\":30,\"baseline\":%d,\"current\":%d,"
                            "\"started\":\"-%dm\"}", base, now_v, (int)rng_range(r, 8, 25)),
            .err_cat = "rate_limited", .err_msg = "Datadog API: 429 rate limit for metrics query" }))
        return;
    if (!tool(s, (tool_spec){
            .name = "get_recent_deploys", .ms = 600,
            .args = jf(s, "{\"service\":\"%s\",\"since\":\"-6h\"}", ic->service),
            .result = jf(s, "{\"deploys\":[{\"version\":\"v2.%d.1\",\"at\":\"-%dm\","
                            "\"author\":\"dkim\"},{\"version\":\"v2.%d.0\",\"at\":\"-2d\"}]}",
                         minor, (int)rng_range(r, 12, 40), minor) }))
        return;
    if (s->full || rng_chance(r, 65)) {
        char topic[200];
        snprintf(topic, sizeof topic, "Find past incidents similar to INC-%d (%s) and what fixed them",
                 inc, ic->title);
        if (!tool(s, (tool_spec){
                .name = "ask_research_assistant", .kind = "agent", .child = AG_RESEARCH,
                .topic = topic,
                .args = jf(s, "{\"agent\":\"research-assistant\",\"question\":\"%s\"}", topic) }))
            return;
    }
    llm(s, GPT4O, 120, 400);
    say(s, "thought", 0,
        "The regression started minutes after `v2.%d.1` went out; the likely cause is %s. "
        "Rolling back to `v2.%d.0` is the fastest mitigation, and it needs the on-call's "
        "go-ahead.", minor, ic->cause, minor);
    if (!tool(s, (tool_spec){
            .name = "confirm_rollback", .kind = "manual",
            .args = jf(s, "{\"service\":\"%s\",\"from_version\":\"v2.%d.1\","
                          "\"to_version\":\"v2.%d.0\",\"incident\":\"INC-%d\",\"assignee\":\"%s\"}",
                       ic->service, minor, minor, inc, oncall),
            .result = jf(s, "{\"approved\":true,\"approver\":\"%s\",\"comment\":\"Go ahead.\"}",
                         oncall) }))
        return;
    if (!tool(s, (tool_spec){
            .name = "rollback_deployment", .ms = 95 * SEC,
            .args = jf(s, "{\"service\":\"%s\",\"to_version\":\"v2.%d.0\",\"strategy\":"
                          "\"rolling\"}", ic->service, minor),
            .result = jf(s, "{\"status\":\"rolled_back\",\"pods\":6,\"duration_s\":%d}",
                         (int)rng_range(r, 60, 180)),
            .err_cat = "deploy_error",
            .err_msg = "rollout stuck: 2 of 6 pods in CrashLoopBackOff" }))
        return;
    if (!tool(s, (tool_spec){
            .name = "query_metrics", .ms = 900,
            .args = jf(s, "{\"query\":\"%s\",\"from\":\"-10m\",\"rollup\":\"1m\"}", ic->query),
            .result = jf(s, "{\"points\":10,\"baseline\":%d,\"current\":%d}", base,
                         base + (int)rng_range(r, 0, 40)) }))
        return;
    if (!tool(s, (tool_spec){
            .name = "create_jira_issue", .ms = 800,
            .args = jf(s, "{\"project\":\"OPS\",\"issue_type\":\"Postmortem\",\"summary\":"
                          "\"INC-%d: %s\",\"priority\":\"High\"}", inc, ic->title),
            .result = jf(s, "{\"key\":\"OPS-%d\",\"url\":\"https://acme.atlassian.net/browse/"
                            "OPS-%d\"}", key, key) }))
        return;
    if (!tool(s, (tool_spec){
            .name = "post_slack_message", .ms = 500,
            .args = jf(s, "{\"channel\":\"%s\",\"text\":\"Mitigated: %s rolled back to v2.%d.0; "
                          "metrics back to baseline. Postmortem: OPS-%d\"}",
                       chan, ic->service, minor, key),
            .result = jf(s, "{\"ok\":true,\"channel\":\"%s\"}", chan) }))
        return;
    sess_finish(s,
                "**INC-%d mitigated.**\n\n- Cause: %s (`v2.%d.1`)\n"
                "- Action: rolled back `%s` to `v2.%d.0`, approved by %s\n"
                "- Recovery: back to baseline (%d)\n- Follow-up: postmortem `OPS-%d`",
                inc, ic->cause, minor, ic->service, minor, oncall, base, key);
}

/* -------------------------------------------------------------- agents */

static const char *const ev_support[] = { "zendesk.ticket.created", "zendesk.ticket.reopened",
                                          NULL };
static const char *const tok_support[] = { "helpdesk-bridge", "support-widget", NULL };
static const char *const cad_support[] = { "every 5 min (backlog sweep)", NULL };
static const char *const pr_support[] = { "default", "default", "payments", NULL };

static const char *const ev_review[] = { "github.pull_request.opened",
                                         "github.pull_request.synchronize", NULL };
static const char *const tok_review[] = { "ci-runner", NULL };
static const char *const cad_review[] = { "nightly 01:00 UTC", NULL };
static const char *const pr_review[] = { "platform", "platform", "payments", NULL };

static const char *const ev_release[] = { "github.release.created", NULL };
static const char *const tok_release[] = { "ci-runner", "release-bot", NULL };
static const char *const cad_release[] = { "every Monday 09:00 UTC", "daily 17:00 UTC", NULL };
static const char *const pr_release[] = { "platform", NULL };

static const char *const ev_pipeline[] = { "s3.object.created", NULL };
static const char *const tok_pipeline[] = { "airflow-prod", NULL };
static const char *const cad_pipeline[] = { "every 15 min", "hourly", "daily 02:00 UTC", NULL };
static const char *const pr_pipeline[] = { "payments", "payments", "default", NULL };

static const char *const ev_research[] = { "slack.app_mention", NULL };
static const char *const tok_research[] = { "slack-bot", "notebook-api", NULL };
static const char *const cad_research[] = { "weekly Friday 08:00 UTC", NULL };
static const char *const pr_research[] = { "default", NULL };

static const char *const ev_incident[] = { "pagerduty.incident.triggered",
                                           "datadog.monitor.alert", NULL };
static const char *const tok_incident[] = { "opsgenie-bridge", NULL };
static const char *const cad_incident[] = { "every 10 min (health sweep)", NULL };
static const char *const pr_incident[] = { "platform", "payments", NULL };

/* A few agents have most of the runs, as in real deployments. */
static const agent_def agents[AG__COUNT] = {
    [AG_SUPPORT] = { "support-triage", "agent",
                     "Classifies support tickets, resolves refunds within policy, replies.",
                     36, GPT4O, { 15, 20, 60, 5 }, ev_support, tok_support, cad_support,
                     pr_support, "#support-bots", sc_support },
    [AG_REVIEW] = { "code-reviewer", "agent",
                    "Reviews pull requests: reads the diff, runs the tests, comments, submits.",
                    22, CLAUDE_SONNET, { 15, 10, 75, 0 }, ev_review, tok_review, cad_review,
                    pr_review, "#code-review", sc_review },
    [AG_RELEASE] = { "release-notes", "agent",
                     "Drafts release notes from merged PRs; a release manager approves.",
                     6, GPT4O, { 25, 15, 10, 50 }, ev_release, tok_release, cad_release,
                     pr_release, "#releases", sc_release },
    [AG_PIPELINE] = { "data-pipeline", "workflow",
                      "Extract, load and anomaly check for the warehouse.",
                      16, LLAMA3_70B, { 10, 15, 5, 70 }, ev_pipeline, tok_pipeline, cad_pipeline,
                      pr_pipeline, "#data-alerts", sc_pipeline },
    [AG_RESEARCH] = { "research-assistant", "agent",
                      "Answers questions from the web and the wiki, with sources.",
                      7, CLAUDE_SONNET, { 60, 20, 15, 5 }, ev_research, tok_research,
                      cad_research, pr_research, "#research", sc_research },
    [AG_INCIDENT] = { "incident-responder", "agent",
                      "First response to alerts: diagnose, mitigate with a human's go-ahead.",
                      8, GPT4O, { 15, 10, 70, 5 }, ev_incident, tok_incident, cad_incident,
                      pr_incident, "#incidents", sc_incident },
};

/* The agent of id AG_*, from the table above (scripts come before it). */
static const agent_def *agent_by_id(int id)
{
    return &agents[id > AG_NONE && id < AG__COUNT ? id : AG_SUPPORT];
}

/* ------------------------------------------------------------------ load */

/* A top-level run to play. */
typedef struct plan {
    int    agent;
    target st;
    int    trig;        /* TR_*, or -1: the agent's usual mix */
    int    full;        /* take every optional step: called sessions, client questions */
    int    want_manual; /* running: stop while a person's task waits */
    mode   m;           /* how it ends; M_AUTO: as its status usually does */
} plan;

/* The first runs cover every status, trigger type, kind of caller and kind
 * of tool call, so that even a small demo shows all of them; the rest follow
 * the weights. */
static plan plan_root(rng *r, int i)
{
    static const plan first[] = {
        { AG_INCIDENT, ST_COMPLETED, TR_EVENT, 1, 0, M_AUTO },
        { AG_PIPELINE, ST_COMPLETED, TR_SCHEDULE, 1, 0, M_AUTO },
        { AG_SUPPORT, ST_COMPLETED, TR_EVENT, 1, 0, M_AUTO },
        { AG_SUPPORT, ST_RUNNING, TR_MANUAL, 0, 1, M_RUN_INFLIGHT },
        { AG_REVIEW, ST_FAILED, TR_EVENT, 0, 0, M_AUTO },
        { AG_SUPPORT, ST_PENDING, TR_API, 0, 0, M_AUTO },
        { AG_REVIEW, ST_RETRYING, TR_MANUAL, 0, 0, M_AUTO },
        { AG_RESEARCH, ST_PAUSING, TR_MANUAL, 1, 0, M_AUTO },
        { AG_SUPPORT, ST_PAUSED, TR_EVENT, 0, 0, M_AUTO },
        { AG_RELEASE, ST_CANCELING, TR_SCHEDULE, 0, 0, M_AUTO },
        { AG_PIPELINE, ST_CANCELED, TR_API, 0, 0, M_CANCEL_SETTLE },
    };
    /* per mille, in target order */
    static const int status_w[] = { 40, 60, 25, 20, 30, 25, 50, 630, 120 };
    int agent_w[AG__COUNT];
    if ((size_t)i < NELEM(first)) return first[i];
    for (int a = 0; a < AG__COUNT; a++) agent_w[a] = agents[a].weight;
    plan p = { rng_weighted(r, agent_w, AG__COUNT), (target)rng_weighted(r, status_w, 9), -1, 0,
               0, M_AUTO };
    return p;
}

/* Play one top-level run (and the runs it calls) starting at `start`;
 * returns how long it lasted, in simulated ms. */
static int64_t play(demo_ctx *c, const plan *p, uint64_t seed, int dry, int64_t start, int room)
{
    sess s;
    int64_t t_max = start;
    int kids = 0;
    sess_init(&s, c, p->agent, p->st, seed, dry, start, &t_max, &kids, room);
    if (p->trig >= 0) s.trig = p->trig;
    s.full = p->full;
    s.want_manual = p->want_manual;
    s.m = p->m;
    sess_run(&s);
    return t_max - start;
}

/* When a run of `len` ms with target status st starts, so that it ends
 * before now: active runs end in the last minutes, paused ones within two
 * days, finished ones anywhere in the last 7 days (more of them recently). */
static int64_t place(rng *r, target st, int64_t len, int64_t now)
{
    int64_t end;
    switch (st) {
    case ST_PENDING:
        end = now - rng_range(r, 10 * SEC, 8 * MIN);
        break;
    case ST_RUNNING:
    case ST_RETRYING:
    case ST_PAUSING:
    case ST_CANCELING:
        end = now - rng_range(r, 3 * SEC, 9 * MIN);
        break;
    case ST_PAUSED: {
        double u = rng_unit(r);
        end = now - 4 * MIN - (int64_t)(u * u * (double)(2 * DAY));
        break;
    }
    default: {
        /* u * (0.4 + 0.6 u): about a quarter of the runs in the last day */
        double u = rng_unit(r);
        int64_t span_ms = 7 * DAY - len - 2 * MIN;
        end = now - 90 * SEC -
              (int64_t)(u * (0.4 + 0.6 * u) * (double)(span_ms > 0 ? span_ms : 0));
        break;
    }
    }
    return end - len;
}

/* Plan top-level runs one by one until nsessions sessions exist; each is
 * measured dry, placed in time, then played for real. */
int demo_load(struct db *d, int nsessions, unsigned seed, char *err, size_t errlen)
{
    demo_ctx c = { .d = d, .err = err, .errlen = errlen };
    rng pr = { 0x5DEECE66DULL ^ ((uint64_t)seed << 17) ^ seed }; /* plans and placement */
    if (err && errlen) err[0] = '\0';
    if (!d || nsessions < 0 || nsessions > DEMO_MAX_SESSIONS) {
        ctx_fail(&c, "demo: the number of sessions must be 0 to %d", DEMO_MAX_SESSIONS);
        return -1;
    }
    c.t0 = db_now_ms();
    for (int i = 0; c.created < nsessions && !c.failed; i++) {
        plan p = plan_root(&pr, i);
        uint64_t sseed = rng_next(&pr);
        int room = nsessions - c.created - 1; /* called sessions this run may create */
        int64_t len = play(&c, &p, sseed, 1, 0, room);
        int64_t start = place(&pr, p.st, len, c.t0);
        play(&c, &p, sseed, 0, start, room);
    }
    return c.failed ? -1 : c.created;
}
