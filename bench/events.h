/* events.h: the realistic runtime events of `make bench` (issue 9), shared by
 * bench/loadgen.c (which POSTs them to the app) and bench/sqlite_ref.c
 * (which writes the same rows straight into SQLite), so both measure the
 * same work.
 *
 * Usage:
 *     events_event ev;
 *     if (events_make(runtime, n, &ev) == 0) {
 *         char api[EVENTS_API_MAX];
 *         events_render(&ev, api, sizeof api);   // one event as the API takes it
 *         ... ev.body is what the app stores in events.body ...
 *     }
 *
 * Event n of runtime r is a pure function of (r, n): a seeded LCG, never
 * rand() or the clock, so every run sends the same events. Events come in
 * steps of two (events 2k and 2k+1), so a tool_result always follows its
 * tool_call without looking back at earlier events:
 *   40%  tool_call, tool_result (1 result in 12 is an error {category, message})
 *   30%  thought, assistant_message
 *   15%  assistant_message, usage
 *   10%  user_message, thought       (step 0 of every runtime is this one)
 *    5%  error, assistant_message
 * Messages and thoughts are 100 to 400 characters of varied words (some
 * Markdown, paragraph breaks, a little non-ASCII UTF-8); user messages are
 * shorter. Every event carries a unique client `id` (idempotency key)
 * "ev_R_N"; tool calls are "call_R_K" (K the step).
 *
 * `body` is the text cgi/ingest.c stores in events.body: the event minus
 * type, id and time, as cJSON_PrintUnformatted prints it (members in the
 * order sent, no whitespace, strings escaped as cJSON escapes them, numbers
 * as cJSON prints them). The API text is {"type":..,"id":.., + body without
 * its "{", so the two can never drift apart. */
#ifndef FD_BENCH_EVENTS_H
#define FD_BENCH_EVENTS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_TEXT_MAX 480                  /* a message's content, escapes included */
#define EVENTS_BODY_MAX 1536                 /* events.body of any event made here */
#define EVENTS_API_MAX  (EVENTS_BODY_MAX + 128) /* one event as the API takes it */

typedef enum events_type {
    EVENTS_USER_MESSAGE, EVENTS_ASSISTANT_MESSAGE, EVENTS_THOUGHT, EVENTS_TOOL_CALL,
    EVENTS_TOOL_RESULT, EVENTS_ERROR, EVENTS_USAGE
} events_type;

/* One event, split the way the app stores it. Fields that do not apply to
 * the type are "" (strings) or 0. */
typedef struct events_event {
    events_type type;
    const char *type_name;      /* events.type, as sent */
    char        client_id[40];  /* events.client_id: the idempotency key */
    char        tool_call_id[40]; /* events.tool_call_id (tool_call, tool_result) */
    const char *tool;           /* tool_call: tool_calls.tool, else "" */
    char        arguments[512]; /* tool_call: tool_calls.arguments (JSON) */
    char        result[512];    /* tool_result that succeeded: tool_calls.result (JSON) */
    const char *err_category;   /* tool_result that failed: tool_calls.error_category, else NULL */
    char        err_message[160]; /* ... and tool_calls.error_message */
    const char *model;          /* usage: the model, else "" */
    long long   prompt_tokens, completion_tokens, cost_micros; /* usage */
    char        body[EVENTS_BODY_MAX]; /* events.body */
} events_event;

/* ------------------------------------------------------------ the generator */

/* Advance the 64-bit LCG state *s (Knuth's MMIX constants) and return its
 * top 31 bits: the low bits of an LCG are poor, the high ones are fine for
 * picking words. */
static inline uint32_t events_lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

/* A number in [lo, hi] (lo <= hi) from *s. The modulo bias is irrelevant. */
static inline long long events_lcg_range(uint64_t *s, long long lo, long long hi)
{
    return lo + (long long)(events_lcg_next(s) % (uint32_t)(hi - lo + 1));
}

/* The LCG seed of (runtime, key, salt): mixed (splitmix64's finaliser) so
 * that neighbouring runtimes and steps start far apart. */
static inline uint64_t events_seed(int runtime, long long key, unsigned salt)
{
    uint64_t z = ((uint64_t)(uint32_t)runtime << 40) ^ (uint64_t)key ^ ((uint64_t)salt << 58);
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The words of generated text. JSON-safe as they stand (no '"', no '\\', no
 * control characters), so text needs no escaping; the UTF-8 ones are printed
 * raw by cJSON too. */
static const char *const events_words[] = {
    "the", "the", "the", "a", "a", "of", "to", "to", "and", "and", "in", "is", "it", "that",
    "for", "on", "with", "this", "we", "I", "should", "will", "can", "not", "then", "first",
    "next", "file", "function", "request", "response", "error", "test", "tests", "config",
    "database", "query", "index", "table", "session", "token", "user", "customer", "ticket",
    "refund", "order", "invoice", "deploy", "build", "branch", "commit", "review", "patch",
    "timeout", "retry", "cache", "latency", "memory", "thread", "lock", "queue", "worker",
    "schema", "migration", "column", "field", "value", "result", "summary", "report", "check",
    "looks", "seems", "appears", "fails", "passes", "returns", "reads", "writes", "calls",
    "needs", "missing", "empty", "large", "small", "slow", "fast", "correct", "wrong", "likely",
    "probably", "because", "before", "after", "while", "again", "still", "only", "every",
    "`config.yaml`", "`retry_count`", "`GET /orders`", "**important**", "_maybe_",
    "r\xc3\xa9sum\xc3\xa9", "na\xc3\xafve", "caf\xc3\xa9", "\xe2\x80\x94", "\xe2\x86\x92",
    "v2.3.1", "HTTP 503", "42", "3 rows", "p99", "200ms", "#4821", "JSON", "SQLite", "UTC",
};
#define EVENTS_NWORDS ((int)(sizeof events_words / sizeof events_words[0]))

/* Write text of about lo..hi characters (hi < cap) into out: sentences of
 * words, capitalised, each ended by '.', now and then a paragraph break
 * (written as the JSON escape "\n\n", which cJSON prints the same way).
 * Always NUL-terminated and JSON-safe. Returns its length. */
static inline size_t events_text(uint64_t *s, char *out, size_t cap, int lo, int hi)
{
    /* A text stops short of its target by at most one word and separator
     * (18 bytes), so aiming at lo + 18 or more keeps it at lo or more. */
    size_t len = 0, target = (size_t)events_lcg_range(s, lo + 18, hi);
    int in_sentence = 0, words = 0, paragraph = 0;
    char coined[24];
    if (target + 8 > cap) target = cap - 8;
    out[0] = '\0';
    for (;;) {
        const char *w = events_words[events_lcg_next(s) % EVENTS_NWORDS];
        /* One word in 16 is an identifier of its own (an order number, a
         * build), so the search index sees a vocabulary that keeps growing,
         * as real text gives it. */
        if (events_lcg_next(s) % 16 == 0) {
            static const char *const kinds[] = { "ord-", "build-", "INV", "user_", "sha:" };
            snprintf(coined, sizeof coined, "%s%u", kinds[events_lcg_next(s) % 5],
                     (unsigned)(events_lcg_next(s) % 1000000));
            w = coined;
        }
        size_t wl = strlen(w), sep = paragraph ? 4 : len ? 1 : 0;
        /* Room for the separator, the word and a final '.'; else stop. */
        if (len + sep + wl + 1 > target) break;
        /* A paragraph break is written only before a word, never at the end. */
        memcpy(out + len, paragraph ? "\\n\\n" : " ", sep);
        len += sep;
        paragraph = 0;
        memcpy(out + len, w, wl);
        /* A sentence starts with a capital (ASCII words only). */
        if (!in_sentence && out[len] >= 'a' && out[len] <= 'z') out[len] = (char)(out[len] - 32);
        len += wl;
        in_sentence = 1;
        words++;
        uint32_t r = events_lcg_next(s) % 100;
        if (words >= 5 && r < 14) {
            out[len++] = '.';
            in_sentence = 0;
            words = 0;
            paragraph = r < 2;
        } else if (r > 92) {
            out[len++] = ',';
        }
        out[len] = '\0';
    }
    /* End on a full stop (a trailing comma becomes one). */
    if (len && (out[len - 1] == ',' || out[len - 1] == '.')) len--;
    out[len++] = '.';
    out[len] = '\0';
    return len;
}

/* A short identifier-like word (a table, a folder) for arguments. */
static inline const char *events_noun(uint64_t *s)
{
    static const char *const nouns[] = { "orders", "users", "tickets", "invoices", "payments",
                                         "sessions", "reports", "billing", "auth", "search" };
    return nouns[events_lcg_next(s) % (sizeof nouns / sizeof nouns[0])];
}

/* printf into out[0..cap), refusing truncation. 0, or -1 when it does not fit. */
static inline int events_put(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int events_put(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Number d as cJSON prints it (print_number): "%d" when it is a whole
 * number in int range, else "%1.15g", or "%1.17g" when that does not read
 * back the same. The app stores events.body as cJSON prints it, so numbers
 * with a fraction are written this way (5.10 would come back as 5.1). */
static inline void events_num_text(double d, char out[32])
{
    if (d == (double)(int)d && d > -2147483648.0 && d < 2147483647.0) {
        snprintf(out, 32, "%d", (int)d);
        return;
    }
    snprintf(out, 32, "%1.15g", d);
    if (strtod(out, NULL) != d) snprintf(out, 32, "%1.17g", d);
}

/* The tools agents call, with arguments and results of their own shape. */
static const char *const events_tools[] = { "search_docs", "read_file", "run_sql", "http_get",
                                            "get_ticket", "list_files", "write_file",
                                            "run_tests" };
#define EVENTS_NTOOLS ((int)(sizeof events_tools / sizeof events_tools[0]))

/* Fill ev->arguments for tool `tool` (an index into events_tools). 0 or -1. */
static inline int events_arguments(uint64_t *s, int tool, events_event *ev)
{
    char text[200];
    char *a = ev->arguments;
    size_t cap = sizeof ev->arguments;
    switch (tool) {
    case 0:
        events_text(s, text, sizeof text, 20, 60);
        return events_put(a, cap, "{\"query\":\"%s\",\"limit\":%lld}", text,
                          events_lcg_range(s, 3, 20));
    case 1:
        return events_put(a, cap, "{\"path\":\"src/%s/%s.c\",\"max_bytes\":%lld}", events_noun(s),
                          events_noun(s), events_lcg_range(s, 4096, 65536));
    case 2:
        return events_put(a, cap,
                          "{\"sql\":\"SELECT id, status, total FROM %s WHERE id = %lld\","
                          "\"read_only\":true}",
                          events_noun(s), events_lcg_range(s, 1, 99999));
    case 3:
        return events_put(a, cap,
                          "{\"url\":\"https://api.example.com/v2/%s/%lld\",\"method\":\"GET\","
                          "\"headers\":{\"Accept\":\"application/json\"}}",
                          events_noun(s), events_lcg_range(s, 1, 99999));
    case 4:
        return events_put(a, cap, "{\"id\":%lld,\"include\":[\"comments\",\"customer\"]}",
                          events_lcg_range(s, 1000, 9999));
    case 5:
        return events_put(a, cap, "{\"dir\":\"src/%s\",\"recursive\":%s}", events_noun(s),
                          events_lcg_next(s) % 2 ? "true" : "false");
    case 6:
        events_text(s, text, sizeof text, 60, 180);
        return events_put(a, cap, "{\"path\":\"docs/%s.md\",\"content\":\"%s\"}", events_noun(s),
                          text);
    default:
        return events_put(a, cap, "{\"target\":\"%s\",\"timeout_s\":%lld,\"args\":[\"-v\",\"--fast\"]}",
                          events_noun(s), events_lcg_range(s, 10, 600));
    }
}

/* Fill ev->result (a success) for tool `tool`. 0 or -1. */
static inline int events_result(uint64_t *s, int tool, events_event *ev)
{
    char text[320], total[32];
    char *r = ev->result;
    size_t cap = sizeof ev->result;
    switch (tool % 3) {
    case 0:
        events_text(s, text, sizeof text, 100, 300);
        return events_put(r, cap, "{\"content\":\"%s\",\"bytes\":%lld,\"truncated\":false}", text,
                          events_lcg_range(s, 200, 60000));
    case 1:
        /* A price in cents, written as cJSON will print it back. */
        events_num_text((double)events_lcg_range(s, 100, 99999) / 100.0, total);
        return events_put(r, cap,
                          "{\"rows\":[{\"id\":%lld,\"status\":\"open\",\"total\":%s},"
                          "{\"id\":%lld,\"status\":\"closed\",\"total\":%lld}],\"count\":2}",
                          events_lcg_range(s, 1, 99999), total, events_lcg_range(s, 1, 99999),
                          events_lcg_range(s, 1, 999));
    default:
        events_text(s, text, sizeof text, 40, 120);
        return events_put(r, cap, "{\"ok\":true,\"status\":%d,\"elapsed_ms\":%lld,\"summary\":\"%s\"}",
                          200, events_lcg_range(s, 2, 900), text);
    }
}

/* Fill *ev with event n (from 0) of runtime `runtime` (from 0). 0, or -1
 * when a text did not fit its buffer (cannot happen with these sizes; a
 * caller still checks). */
static inline int events_make(int runtime, long long n, events_event *ev)
{
    /* (kind of step, first and second event) */
    static const events_type steps[5][2] = {
        { EVENTS_TOOL_CALL, EVENTS_TOOL_RESULT },
        { EVENTS_THOUGHT, EVENTS_ASSISTANT_MESSAGE },
        { EVENTS_ASSISTANT_MESSAGE, EVENTS_USAGE },
        { EVENTS_USER_MESSAGE, EVENTS_THOUGHT },
        { EVENTS_ERROR, EVENTS_ASSISTANT_MESSAGE },
    };
    static const char *const names[] = {
        [EVENTS_USER_MESSAGE] = "user_message", [EVENTS_ASSISTANT_MESSAGE] = "assistant_message",
        [EVENTS_THOUGHT] = "thought", [EVENTS_TOOL_CALL] = "tool_call",
        [EVENTS_TOOL_RESULT] = "tool_result", [EVENTS_ERROR] = "error", [EVENTS_USAGE] = "usage",
    };
    static const char *const categories[] = { "timeout", "not_found", "permission_denied",
                                              "rate_limited" };
    static const char *const models[] = { "gpt-4o", "gpt-4o-mini", "claude-sonnet-4",
                                          "llama-3.1-70b" };
    long long step = n / 2;
    int pos = (int)(n % 2);
    /* What the step is and which tool it calls come from the step's seed,
     * so both of its events agree; the content from the event's own. */
    uint64_t ss = events_seed(runtime, step, 1), s = events_seed(runtime, n, 2);
    uint32_t pick = events_lcg_next(&ss) % 100;
    int kind = step == 0 ? 3 : pick < 40 ? 0 : pick < 70 ? 1 : pick < 85 ? 2 : pick < 95 ? 3 : 4;
    int tool = (int)(events_lcg_next(&ss) % EVENTS_NTOOLS);
    int failed = events_lcg_next(&ss) % 12 == 0;
    char text[EVENTS_TEXT_MAX], cost[32];

    memset(ev, 0, offsetof(events_event, body));
    ev->body[0] = '\0';
    ev->type = steps[kind][pos];
    ev->type_name = names[ev->type];
    ev->tool = "";
    ev->model = "";
    snprintf(ev->client_id, sizeof ev->client_id, "ev_%d_%lld", runtime, n);
    if (ev->type == EVENTS_TOOL_CALL || ev->type == EVENTS_TOOL_RESULT)
        snprintf(ev->tool_call_id, sizeof ev->tool_call_id, "call_%d_%lld", runtime, step);

    switch (ev->type) {
    case EVENTS_USER_MESSAGE:
        events_text(&s, text, sizeof text, 30, 160);
        return events_put(ev->body, sizeof ev->body, "{\"content\":\"%s\"}", text);
    case EVENTS_ASSISTANT_MESSAGE:
    case EVENTS_THOUGHT:
        events_text(&s, text, sizeof text, 100, 400);
        return events_put(ev->body, sizeof ev->body, "{\"content\":\"%s\"}", text);
    case EVENTS_TOOL_CALL:
        ev->tool = events_tools[tool];
        if (events_arguments(&s, tool, ev)) return -1;
        return events_put(ev->body, sizeof ev->body,
                          "{\"tool_call_id\":\"%s\",\"tool\":\"%s\",\"kind\":\"server\","
                          "\"arguments\":%s}",
                          ev->tool_call_id, ev->tool, ev->arguments);
    case EVENTS_TOOL_RESULT:
        if (failed) {
            ev->err_category = categories[events_lcg_next(&s) % 4];
            if (events_put(ev->err_message, sizeof ev->err_message,
                           "%s failed after %lld ms: %s", events_tools[tool],
                           events_lcg_range(&s, 50, 30000), ev->err_category))
                return -1;
            return events_put(ev->body, sizeof ev->body,
                              "{\"tool_call_id\":\"%s\",\"error\":{\"category\":\"%s\","
                              "\"message\":\"%s\"}}",
                              ev->tool_call_id, ev->err_category, ev->err_message);
        }
        if (events_result(&s, tool, ev)) return -1;
        return events_put(ev->body, sizeof ev->body, "{\"tool_call_id\":\"%s\",\"result\":%s}",
                          ev->tool_call_id, ev->result);
    case EVENTS_ERROR:
        events_text(&s, text, 200, 40, 140);
        return events_put(ev->body, sizeof ev->body, "{\"message\":\"%s\",\"step\":\"%s\"}", text,
                          events_tools[tool]);
    case EVENTS_USAGE:
        ev->model = models[events_lcg_next(&s) % 4];
        ev->prompt_tokens = events_lcg_range(&s, 200, 6000);
        ev->completion_tokens = events_lcg_range(&s, 20, 900);
        /* $2.50 per million prompt tokens, $10 per million completion tokens */
        ev->cost_micros = (ev->prompt_tokens * 25 + ev->completion_tokens * 100) / 10;
        events_num_text((double)ev->cost_micros / 1e6, cost);
        return events_put(ev->body, sizeof ev->body,
                          "{\"model\":\"%s\",\"prompt_tokens\":%lld,\"completion_tokens\":%lld,"
                          "\"cost\":%s}",
                          ev->model, ev->prompt_tokens, ev->completion_tokens, cost);
    }
    return -1;
}

/* Write ev as the JSON object POST /api/v1/sessions/{id}/events takes (no
 * time: the app stamps it, as sqlite_ref does) into out[0..cap). Returns its
 * length, or -1 when it does not fit. */
static inline int events_render(const events_event *ev, char *out, size_t cap)
{
    int n = snprintf(out, cap, "{\"type\":\"%s\",\"id\":\"%s\",%s", ev->type_name, ev->client_id,
                     ev->body + 1);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

#endif
