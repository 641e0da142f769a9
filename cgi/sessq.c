/* sessq: the session list query. See sessq.h. */
#include "sessq.h"
#include "log.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "db_cols.h"
#include "fmt.h"

#define TEXT_MAX 200   /* bytes of an equality filter value */
#define Q_MAX    500   /* bytes of a search */
#define Q_TERMS  16    /* words of a search that count */

/* ------------------------------------------------------------ the tables */

/* Sort orders: parameter name, key expression, and whether sort_time breaks
 * ties before the id (the three-part key of the (key, sort_time, id)
 * indexes); start/created/updated are unique enough with the id alone. */
static const struct sort_def {
    const char *name;
    const char *key;
    int         with_time;
    int         text;        /* key is text (agent) */
} sorts[SQ_SORT__COUNT] = {
    [SQ_SORT_START]    = { "start_time", "s.sort_time", 0, 0 },
    [SQ_SORT_CREATED]  = { "created", "s.created_at", 0, 0 },
    [SQ_SORT_UPDATED]  = { "updated", "s.updated_at", 0, 0 },
    [SQ_SORT_DURATION] = { "duration", "s.duration_ms", 1, 0 },
    [SQ_SORT_COST]     = { "cost", "s.total_cost_micros", 1, 0 },
    [SQ_SORT_TOKENS]   = { "tokens", "s.total_tokens", 1, 0 },
    [SQ_SORT_STATUS]   = { "status", "s.status_rank", 1, 0 },
    [SQ_SORT_AGENT]    = { "agent", "s.agent", 1, 1 },
};

static const char *const kinds[] = { "agent", "workflow", NULL };
static const char *const triggers[] = { "manual", "api", "event", "schedule", "agent", "workflow", NULL };
static const char *const statuses[] = { "pending", "running", "retrying", "pausing", "paused",
                                        "canceling", "canceled", "completed", "failed", NULL };
static const char *const ranges[] = { "1h", "24h", "7d", "30d", NULL };
static const int64_t range_ms[] = { 3600000LL, 86400000LL, 7 * 86400000LL, 30 * 86400000LL };

/* Equality filters: parameter, member of sessq, column, SQL parameter
 * number, allowed values (NULL = any text up to TEXT_MAX bytes). The order
 * is the order of the canonical query string. */
static const struct eq_def {
    const char        *name;
    size_t             off;
    const char        *sql;
    const char *const *allowed;
} eqs[] = {
    { "kind",        offsetof(sessq, kind),        "s.kind = ?2",              kinds },
    { "agent",       offsetof(sessq, agent),       "s.agent = ?3",             NULL },
    { "trigger",     offsetof(sessq, trigger),     "s.trigger_type = ?4",      triggers },
    { "source",      offsetof(sessq, source),      "s.trigger_source = ?5",    NULL },
    { "project",     offsetof(sessq, project),     "s.project = ?6",           NULL },
    { "environment", offsetof(sessq, environment), "s.environment = ?7",       NULL },
    { "cluster",     offsetof(sessq, cluster),     "s.cluster = ?8",           NULL },
    { "deployment",  offsetof(sessq, deployment),  "s.deployment = ?9",        NULL },
    { "thread_id",   offsetof(sessq, thread_id),   "s.thread_id = ?10",        NULL },
    { "parent",      offsetof(sessq, parent),      "s.parent_session_id = ?11", NULL },
};
#define NEQ (sizeof eqs / sizeof eqs[0])
#define EQ_FIRST_PARAM 2

/* Fixed parameter numbers of the other fragments. */
enum {
    P_STATUS = 1, P_AFTER = 13, P_BEFORE = 14, P_QID = 16, P_PROJECTS = 17,
    P_META = 20, /* 20 + 2i path, 21 + 2i value */
    P_CKEY = 30, P_CTIME = 31, P_CID = 32, P_LIMIT = 33, P_OFFSET = 34,
    P_BUCKET0 = 35, P_BUCKET = 36
};

static const char **eq_field(sessq *q, size_t i) { return (const char **)((char *)q + eqs[i].off); }
static const char *eq_value(const sessq *q, size_t i)
{
    return *(const char *const *)((const char *)q + eqs[i].off);
}

static int in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0) return i;
    return -1;
}

const char *sessq_sort_name(sq_sort s)
{
    return (unsigned)s < SQ_SORT__COUNT ? sorts[s].name : "start_time";
}

void sessq_init(sessq *q, int default_limit)
{
    memset(q, 0, sizeof *q);
    q->success = -1;
    q->sort = SQ_SORT_START;
    q->limit = default_limit;
}

int sessq_filtered(const sessq *q)
{
    for (size_t i = 0; i < NEQ; i++)
        if (eq_value(q, i)) return 1;
    return q->nstatus || q->success >= 0 || q->has_error || q->range || q->has_after ||
           q->has_before || q->q || q->nmeta;
}

/* --------------------------------------------------------------- parsing */

static int fail(sq_err *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(sq_err *e, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->field = field;
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

/* A time filter: ms since the epoch, RFC 3339, "YYYY-MM-DDTHH:MM" (as a
 * datetime-local input sends it) or "YYYY-MM-DD", all UTC. */
static int time_value(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    int digits = n > 0 && n < 16;
    for (size_t i = 0; digits && i < n; i++) digits = isdigit((unsigned char)s[i]);
    if (digits) { *ms = strtoll(s, NULL, 10); return 0; }
    char full[40];
    if (n == 10) snprintf(full, sizeof full, "%sT00:00:00Z", s);
    else if (n == 16) snprintf(full, sizeof full, "%s:00Z", s);
    else if (n < sizeof full) memcpy(full, s, n + 1);
    else return -1;
    return fmt_time_parse(full, ms);
}

static int bool_value(const char *s)
{
    if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "yes")) return 1;
    if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no")) return 0;
    return -1;
}

static int text_ok(const char *s, size_t len, size_t max)
{
    if (len > max || strlen(s) != len) return 0; /* too long, or holds NUL */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20) return 0;
    return 1;
}

static int meta_key_ok(const char *k, size_t n)
{
    if (n == 0 || n > 100) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        /* No '=' either: the canonical query string writes meta=key=value,
         * which could not be read back (found by tests/fuzz/fuzz_sessq). */
        if (c < 0x20 || c == '"' || c == '\\' || c == '=') return 0;
    }
    return 1;
}

static int add_status(sessq *q, const char *s, size_t n, sq_err *e)
{
    char one[16];
    if (n == 0) return 0;
    if (n >= sizeof one) return fail(e, "status", "unknown status \"%.*s\"", (int)(n > 40 ? 40 : n), s);
    memcpy(one, s, n);
    one[n] = '\0';
    int k = in_list(statuses, one);
    if (k < 0) return fail(e, "status", "unknown status \"%s\"", one);
    for (int i = 0; i < q->nstatus; i++)
        if (q->status[i] == statuses[k]) return 0;
    q->status[q->nstatus++] = statuses[k];
    return 0;
}

static int add_meta(sessq *q, const char *key, size_t klen, const char *val, arena *a, sq_err *e)
{
    if (q->nmeta == SQ_META_MAX)
        return fail(e, "meta", "at most %d metadata filters", SQ_META_MAX);
    if (!meta_key_ok(key, klen))
        return fail(e, "meta", "a metadata key is 1 to 100 characters without quotes, backslashes, '=' or control characters");
    if (!text_ok(val, strlen(val), TEXT_MAX))
        return fail(e, "meta", "a metadata value is at most %d characters, without control characters", TEXT_MAX);
    q->meta[q->nmeta].key = arena_strndup(a, key, klen);
    q->meta[q->nmeta].value = val;
    if (!q->meta[q->nmeta].key) return fail(e, "meta", "out of memory");
    q->nmeta++;
    return 0;
}

/* metadata={"key": scalar, ...} (the API form). */
static int parse_metadata_json(sessq *q, const char *s, arena *a, sq_err *e)
{
    cJSON *j = cJSON_Parse(s);
    int rc = 0;
    if (!cJSON_IsObject(j)) {
        rc = fail(e, "metadata", "metadata must be a JSON object, e.g. {\"team\":\"billing\"}");
        goto out;
    }
    for (cJSON *m = j->child; m && rc == 0; m = m->next) {
        char num[64];
        const char *v;
        if (cJSON_IsString(m)) v = m->valuestring;
        else if (cJSON_IsTrue(m)) v = "true";
        else if (cJSON_IsFalse(m)) v = "false";
        else if (cJSON_IsNull(m)) v = "null";
        else if (cJSON_IsNumber(m)) {
            double d = m->valuedouble;
            /* The range first: casting 1e74 to long long is undefined
             * (found by tests/fuzz/fuzz_sessq). */
            if (d > -9e15 && d < 9e15 && d == (double)(long long)d) snprintf(num, sizeof num, "%lld", (long long)d);
            else snprintf(num, sizeof num, "%.15g", d); /* as SQLite casts a REAL to TEXT */
            v = num;
        } else {
            rc = fail(e, "metadata", "metadata filter values must be strings, numbers, booleans or null");
            break;
        }
        const char *val = arena_strndup(a, v, strlen(v));
        if (!val) { rc = fail(e, "metadata", "out of memory"); break; }
        rc = add_meta(q, m->string, strlen(m->string), val, a, e);
        if (rc) e->field = "metadata";
    }
    q->metadata_json = s;
out:
    cJSON_Delete(j);
    return rc;
}

static int parse_cursor(sessq *q, const char *s, arena *a, sq_err *e);

int sessq_parse(sessq *q, const http_kvs *kv, arena *a, int64_t now_ms, sq_err *err)
{
    const char *cursor = NULL;
    int have_limit = 0;
    for (size_t i = 0; i < kv->n; i++) {
        const char *k = kv->v[i].key, *v = kv->v[i].val;
        size_t vlen = kv->v[i].val_len;
        if (vlen == 0) continue; /* an empty form field is no filter */
        size_t e;
        for (e = 0; e < NEQ; e++)
            if (strcmp(eqs[e].name, k) == 0) break;
        if (e < NEQ) {
            if (!text_ok(v, vlen, TEXT_MAX))
                return fail(err, eqs[e].name, "%s must be at most %d characters, without control characters",
                            eqs[e].name, TEXT_MAX);
            if (eqs[e].allowed && in_list(eqs[e].allowed, v) < 0)
                return fail(err, eqs[e].name, "unknown %s \"%.40s\"", eqs[e].name, v);
            *eq_field(q, e) = v;
        } else if (!strcmp(k, "status")) {
            if (strlen(v) != vlen) return fail(err, "status", "unknown status");
            for (const char *p = v; ; ) {
                const char *comma = strchr(p, ',');
                size_t n = comma ? (size_t)(comma - p) : strlen(p);
                if (add_status(q, p, n, err)) return -1;
                if (!comma) break;
                p = comma + 1;
            }
        } else if (!strcmp(k, "success")) {
            if ((q->success = bool_value(v)) < 0)
                return fail(err, "success", "success must be true or false");
        } else if (!strcmp(k, "has_error")) {
            int b = bool_value(v);
            if (b < 0) return fail(err, "has_error", "has_error must be 1 or 0");
            q->has_error = b;
        } else if (!strcmp(k, "range")) {
            int r = in_list(ranges, v);
            if (r < 0) return fail(err, "range", "range must be one of 1h, 24h, 7d, 30d");
            q->range = ranges[r];
        } else if (!strcmp(k, "start_after") || !strcmp(k, "start_before")) {
            int64_t ms;
            if (!text_ok(v, vlen, 40) || time_value(v, &ms) || ms < 0)
                return fail(err, k, "%s must be a time: RFC 3339 (2026-11-21T15:30:00Z), "
                            "YYYY-MM-DDTHH:MM or YYYY-MM-DD in UTC, or milliseconds", k);
            if (k[6] == 'a') { q->start_after = ms; q->start_after_text = v; q->has_after = 1; }
            else { q->start_before = ms; q->start_before_text = v; q->has_before = 1; }
        } else if (!strcmp(k, "q")) {
            if (!text_ok(v, vlen, Q_MAX))
                return fail(err, "q", "a search is at most %d characters", Q_MAX);
            q->q = v;
        } else if (!strcmp(k, "meta")) {
            const char *eq = strchr(v, '=');
            if (!eq || strlen(v) != vlen)
                return fail(err, "meta", "a metadata filter is key=value");
            if (add_meta(q, v, (size_t)(eq - v), eq + 1, a, err)) return -1;
        } else if (!strcmp(k, "metadata")) {
            if (strlen(v) != vlen || parse_metadata_json(q, v, a, err)) {
                if (!err->field) fail(err, "metadata", "metadata must be a JSON object");
                return -1;
            }
        } else if (!strcmp(k, "sort")) {
            int s;
            for (s = 0; s < SQ_SORT__COUNT; s++)
                if (!strcmp(sorts[s].name, v)) break;
            if (s == SQ_SORT__COUNT && !strcmp(v, "started")) s = SQ_SORT_START;
            if (s == SQ_SORT__COUNT)
                return fail(err, "sort", "sort must be one of start_time, created, updated, "
                            "duration, cost, tokens, status, agent");
            q->sort = (sq_sort)s;
        } else if (!strcmp(k, "direction")) {
            if (!strcmp(v, "asc")) q->asc = 1;
            else if (!strcmp(v, "desc")) q->asc = 0;
            else return fail(err, "direction", "direction must be asc or desc");
        } else if (!strcmp(k, "limit") || !strcmp(k, "offset")) {
            char *end;
            errno = 0;
            long long n = strtoll(v, &end, 10);
            int lim = k[0] == 'l';
            if (*end || errno || n < (lim ? 1 : 0) || n > (lim ? SQ_LIMIT_MAX : SQ_OFFSET_MAX))
                return fail(err, k, "%s must be a whole number from %d to %d", k, lim ? 1 : 0,
                            lim ? SQ_LIMIT_MAX : SQ_OFFSET_MAX);
            if (lim) { q->limit = (int)n; have_limit = 1; }
            else q->offset = n;
        } else if (!strcmp(k, "cursor")) {
            cursor = v;
        }
    }
    (void)have_limit;
    if (q->range) {
        int64_t from = now_ms - range_ms[in_list(ranges, q->range)];
        if (!q->has_after || from > q->start_after) q->start_after = from;
        q->has_after = 1;
    }
    if (cursor) {
        if (q->offset) return fail(err, "cursor", "use cursor or offset, not both");
        if (parse_cursor(q, cursor, a, err)) return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- cursor */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64_encode(buf *b, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        buf_putc(b, b64url[v >> 18 & 63]);
        buf_putc(b, b64url[v >> 12 & 63]);
        if (i + 1 < n) buf_putc(b, b64url[v >> 6 & 63]);
        if (i + 2 < n) buf_putc(b, b64url[v & 63]);
    }
}

/* Decode into the arena; NULL when s is not base64url. */
static char *b64_decode(arena *a, const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    if (n % 4 == 1 || n > 2048) return NULL;
    char *out = arena_alloc(a, n * 3 / 4 + 1);
    if (!out) return NULL;
    size_t o = 0;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        /* 64: the alphabet without its terminator (a NUL is no digit) */
        const char *p = memchr(b64url, s[i], 64); /* NOLINT(bugprone-not-null-terminated-result) */
        if (!p || !s[i]) return NULL;
        v = v << 6 | (unsigned)(p - b64url);
        if (i % 4 == 3) {
            out[o++] = (char)(v >> 16);
            out[o++] = (char)(v >> 8);
            out[o++] = (char)v;
            v = 0;
        }
    }
    if (n % 4 == 2) out[o++] = (char)(v >> 4);
    else if (n % 4 == 3) { out[o++] = (char)(v >> 10); out[o++] = (char)(v >> 2); }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* A cursor is base64url of the JSON [sort, asc, key, sort_time, id]. */
const char *sessq_cursor(arena *a, const sessq *q, sqlite3_stmt *st)
{
    int k = sessq_key_col(st);
    cJSON *j = cJSON_CreateArray();
    cJSON_AddItemToArray(j, cJSON_CreateString(sorts[q->sort].name));
    cJSON_AddItemToArray(j, cJSON_CreateNumber(q->asc));
    if (sorts[q->sort].text) {
        const char *t = (const char *)sqlite3_column_text(st, k);
        cJSON_AddItemToArray(j, cJSON_CreateString(t ? t : ""));
    } else {
        cJSON_AddItemToArray(j, cJSON_CreateNumber((double)sqlite3_column_int64(st, k)));
    }
    cJSON_AddItemToArray(j, cJSON_CreateNumber((double)sqlite3_column_int64(st, k + 1)));
    const char *id = (const char *)sqlite3_column_text(st, k + 2);
    cJSON_AddItemToArray(j, cJSON_CreateString(id ? id : ""));
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) return NULL;
    buf b;
    buf_init(&b);
    b64_encode(&b, (const unsigned char *)text, strlen(text));
    cJSON_free(text);
    const char *out = b.err ? NULL : arena_strndup(a, buf_str(&b), b.len);
    buf_fini(&b);
    return out;
}

static int parse_cursor(sessq *q, const char *s, arena *a, sq_err *e)
{
    size_t n;
    char *text = b64_decode(a, s, &n);
    cJSON *j = text ? cJSON_ParseWithLength(text, n) : NULL;
    int rc = fail(e, "cursor", "cursor is not one this list returned");
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != 5) goto out;
    cJSON *sort = cJSON_GetArrayItem(j, 0), *asc = cJSON_GetArrayItem(j, 1),
          *key = cJSON_GetArrayItem(j, 2), *t = cJSON_GetArrayItem(j, 3), *id = cJSON_GetArrayItem(j, 4);
    if (!cJSON_IsString(sort) || !cJSON_IsNumber(asc) || !cJSON_IsNumber(t) || !cJSON_IsString(id))
        goto out;
    if (strcmp(sort->valuestring, sorts[q->sort].name) || (asc->valueint != 0) != (q->asc != 0)) {
        rc = fail(e, "cursor", "cursor belongs to another sort order; start again without it");
        goto out;
    }
    if (sorts[q->sort].text ? !cJSON_IsString(key) : !cJSON_IsNumber(key)) goto out;
    /* Keys are whole numbers well inside int64_t; anything else was not made here. */
    if ((cJSON_IsNumber(key) && !(key->valuedouble > -9e15 && key->valuedouble < 9e15)) ||
        !(t->valuedouble > -9e15 && t->valuedouble < 9e15))
        goto out;
    if (strlen(id->valuestring) > 128 || (cJSON_IsString(key) && strlen(key->valuestring) > 1024)) goto out;
    q->cur_key_is_text = cJSON_IsString(key);
    if (q->cur_key_is_text) q->cur_key_text = arena_strndup(a, key->valuestring, strlen(key->valuestring));
    else q->cur_key = (int64_t)key->valuedouble;
    q->cur_time = (int64_t)t->valuedouble;
    q->cur_id = arena_strndup(a, id->valuestring, strlen(id->valuestring));
    if (!q->cur_id || (q->cur_key_is_text && !q->cur_key_text)) goto out;
    q->has_cursor = 1;
    rc = 0;
    e->field = NULL;
out:
    cJSON_Delete(j);
    return rc;
}

/* -------------------------------------------------------------- building */

/* The FTS5 queries for what was typed, one per word, separated by '\n'
 * (a search holds no control characters): each word quoted, so nothing
 * typed is FTS syntax, and a prefix. Each must match the session's own text
 * or one of its events, so words may sit in different fields. "" when no
 * word has a letter or digit. */
static void fts_query(buf *b, const char *q)
{
    int terms = 0;
    const char *p = q;
    while (*p && terms < Q_TERMS) {
        while (*p == ' ' || *p == '\t') p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        int useful = 0;
        for (const char *c = w; c < p; c++)
            if (isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80) useful = 1;
        if (!useful) continue;
        if (terms++) buf_putc(b, '\n');
        buf_putc(b, '"');
        for (const char *c = w; c < p; c++) {
            if (*c == '"') buf_putc(b, '"');
            buf_putc(b, *c);
        }
        buf_puts(b, "\"*");
    }
}

/* Shape bits: which fragments a statement holds. */
enum {
    SH_EQ = 0,              /* bits 0..NEQ-1 */
    SH_STATUS1 = 12, SH_STATUSN, SH_SUCCESS, SH_FAILURE, SH_ERROR, SH_AFTER, SH_BEFORE,
    SH_FTS, SH_QID, SH_PROJECTS,
    SH_NMETA = 24,          /* 3 bits */
    SH_SORT = 28,           /* 4 bits */
    SH_ASC = 32, SH_BACK, SH_CURSOR, SH_OFFSET,
    SH_COLS = 36,           /* 2 bits */
    SH_SUMMARY = 40,
    SH_TERMS = 41           /* 5 bits: words of the search */
};
#define P_TERM 40           /* ?40 + i: the i-th word's FTS query */

typedef struct built {
    uint64_t shape;
    buf      sql;
    int         nterms;  /* FTS queries, one per word */
    const char *terms[Q_TERMS];
} built;

#define BIT(n) (1ULL << (n))

/* WHERE fragments of q (without status/agent when `facets`), as " AND x". */
static void build_where(built *bl, const sessq *q, buf *fts, int facets)
{
    buf *b = &bl->sql;
    for (size_t i = 0; i < NEQ; i++) {
        if (!eq_value(q, i) || (facets && !strcmp(eqs[i].name, "agent"))) continue;
        buf_printf(b, " AND %s", eqs[i].sql);
        bl->shape |= BIT(SH_EQ + i);
    }
    if (q->nstatus == 1 && !facets) {
        buf_puts(b, " AND s.status = ?1");
        bl->shape |= BIT(SH_STATUS1);
    } else if (q->nstatus > 1 && !facets) {
        buf_puts(b, " AND s.status IN (SELECT value FROM json_each(?1))");
        bl->shape |= BIT(SH_STATUSN);
    }
    if (q->success == 1) { buf_puts(b, " AND s.status = 'completed'"); bl->shape |= BIT(SH_SUCCESS); }
    if (q->success == 0) { buf_puts(b, " AND s.status = 'failed'"); bl->shape |= BIT(SH_FAILURE); }
    if (q->has_error) {
        buf_puts(b, " AND (s.error_count > 0 OR s.status = 'failed')");
        bl->shape |= BIT(SH_ERROR);
    }
    if (q->has_after || facets) { buf_puts(b, " AND s.sort_time >= ?13"); bl->shape |= BIT(SH_AFTER); }
    if (q->has_before || facets) { buf_puts(b, " AND s.sort_time < ?14"); bl->shape |= BIT(SH_BEFORE); }
    if (q->q) {
        fts_query(fts, q->q);
        if (fts->len && !fts->err) {
            for (char *t = fts->p; t && bl->nterms < Q_TERMS; ) {
                char *nl = strchr(t, '\n');
                if (nl) *nl = '\0';
                int p = P_TERM + bl->nterms;
                bl->terms[bl->nterms++] = t;
                buf_printf(b, " AND s.id IN (SELECT sid FROM search_sessions WHERE search_sessions MATCH ?%d"
                              " UNION SELECT sid FROM search_events WHERE search_events MATCH ?%d"
                              " UNION SELECT ?16)", p, p);
                t = nl ? nl + 1 : NULL;
            }
            bl->shape |= BIT(SH_FTS) | (uint64_t)bl->nterms << SH_TERMS;
        } else {
            buf_puts(b, " AND s.id = ?16");
            bl->shape |= BIT(SH_QID);
        }
    }
    if (q->projects) {
        buf_puts(b, " AND s.project IN (SELECT value FROM json_each(?17))");
        bl->shape |= BIT(SH_PROJECTS);
    }
    for (int i = 0; i < q->nmeta; i++) {
        int p = P_META + 2 * i, v = p + 1;
        buf_printf(b, " AND ((json_type(s.metadata, ?%d) IN ('text','integer','real') AND "
                      "CAST(json_extract(s.metadata, ?%d) AS TEXT) = ?%d) OR "
                      "(json_type(s.metadata, ?%d) IN ('true','false','null') AND "
                      "json_type(s.metadata, ?%d) = ?%d))", p, p, v, p, p, v);
    }
    bl->shape |= (uint64_t)q->nmeta << SH_NMETA;
}

/* Bind the filter values of the fragments build_where emitted. */
static int bind_where(sqlite3_stmt *st, const built *bl, const sessq *q)
{
    int rc = 0;
    for (size_t i = 0; i < NEQ; i++)
        if (bl->shape & BIT(SH_EQ + i))
            rc |= db_bind_text(st, EQ_FIRST_PARAM + (int)i, eq_value(q, i));
    if (bl->shape & BIT(SH_STATUS1)) rc |= db_bind_text(st, P_STATUS, q->status[0]);
    if (bl->shape & BIT(SH_STATUSN)) {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; i < q->nstatus; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(q->status[i]));
        char *t = cJSON_PrintUnformatted(arr);
        cJSON_Delete(arr);
        rc |= t ? db_bind_text(st, P_STATUS, t) : SQLITE_NOMEM;
        cJSON_free(t);
    }
    if (bl->shape & BIT(SH_AFTER)) rc |= sqlite3_bind_int64(st, P_AFTER, q->start_after);
    if (bl->shape & BIT(SH_BEFORE))
        rc |= sqlite3_bind_int64(st, P_BEFORE, q->has_before ? q->start_before : INT64_MAX);
    for (int i = 0; i < bl->nterms; i++) rc |= db_bind_text(st, P_TERM + i, bl->terms[i]);
    if (bl->shape & (BIT(SH_FTS) | BIT(SH_QID))) rc |= db_bind_text(st, P_QID, q->q);
    if (bl->shape & BIT(SH_PROJECTS)) rc |= db_bind_text(st, P_PROJECTS, q->projects);
    for (int i = 0; i < q->nmeta; i++) {
        char path[128]; /* keys are at most 100 bytes (meta_key_ok) */
        snprintf(path, sizeof path, "$.\"%s\"", q->meta[i].key);
        rc |= db_bind_text(st, P_META + 2 * i, path);
        rc |= db_bind_text(st, P_META + 2 * i + 1, q->meta[i].value);
    }
    return rc;
}

int sessq_key_col(sqlite3_stmt *st)
{
    return sqlite3_column_count(st) - 3;
}

sqlite3_stmt *sessq_prepare(db *d, const sessq *q, sq_cols cols, int backward)
{
    /* The server indexes search text in the background (bg.h): a search
     * indexes what is still queued first, so it misses nothing committed. */
    if (q->q) db_search_sync(d);
    built bl = { 0 };
    buf fts;
    buf_init(&bl.sql);
    buf_init(&fts);
    sqlite3_stmt *st = NULL;
    const struct sort_def *sd = &sorts[q->sort];
    int desc = !q->asc ^ (backward != 0); /* walking back reverses the order */

    buf_puts(&bl.sql, "SELECT ");
    if (cols == SQ_COLS_ROW) buf_puts(&bl.sql, SESSION_ROW_COLS ", ");
    else if (cols == SQ_COLS_API) buf_puts(&bl.sql, SESSION_API_COLS ", ");
    buf_printf(&bl.sql, "%s AS _k, s.sort_time AS _t, s.id AS _i FROM sessions s WHERE 1", sd->key);
    build_where(&bl, q, &fts, 0);
    if (q->has_cursor) {
        const char *op = desc ? "<" : ">";
        if (sd->with_time)
            buf_printf(&bl.sql, " AND (%s, s.sort_time, s.id) %s (?30, ?31, ?32)", sd->key, op);
        else
            buf_printf(&bl.sql, " AND (%s, s.id) %s (?30, ?32)", sd->key, op);
        bl.shape |= BIT(SH_CURSOR);
    }
    const char *dir = desc ? "DESC" : "ASC";
    if (sd->with_time)
        buf_printf(&bl.sql, " ORDER BY %s %s, s.sort_time %s, s.id %s", sd->key, dir, dir, dir);
    else
        buf_printf(&bl.sql, " ORDER BY %s %s, s.id %s", sd->key, dir, dir);
    buf_puts(&bl.sql, " LIMIT ?33");
    if (q->offset && !q->has_cursor) { buf_puts(&bl.sql, " OFFSET ?34"); bl.shape |= BIT(SH_OFFSET); }
    bl.shape |= (uint64_t)q->sort << SH_SORT | (uint64_t)(q->asc != 0) << SH_ASC |
                (uint64_t)(backward != 0) << SH_BACK | (uint64_t)cols << SH_COLS;
    if (bl.sql.err || fts.err) goto out;

    st = db_stmt_shape(d, bl.shape, buf_str(&bl.sql));
    if (!st) goto out;
    int rc = bind_where(st, &bl, q);
    if (q->has_cursor) {
        if (q->cur_key_is_text) rc |= db_bind_text(st, P_CKEY, q->cur_key_text);
        else rc |= sqlite3_bind_int64(st, P_CKEY, q->cur_key);
        if (sd->with_time) rc |= sqlite3_bind_int64(st, P_CTIME, q->cur_time);
        rc |= db_bind_text(st, P_CID, q->cur_id);
    }
    rc |= sqlite3_bind_int64(st, P_LIMIT, (sqlite3_int64)q->limit + 1);
    if (bl.shape & BIT(SH_OFFSET)) rc |= sqlite3_bind_int64(st, P_OFFSET, q->offset);
    if (rc != SQLITE_OK) {
        log_msg(LOGL_ERROR, "sessq: cannot bind: %s", sqlite3_errmsg(db_handle(d)));
        st = NULL;
    }
out:
    buf_fini(&bl.sql);
    buf_fini(&fts);
    return st;
}

sqlite3_stmt *sessq_prepare_summary(db *d, const sessq *q, int64_t from, int64_t to,
                                    int64_t bucket_ms)
{
    if (q->q) db_search_sync(d);
    built bl = { 0 };
    buf fts;
    buf_init(&bl.sql);
    buf_init(&fts);
    sqlite3_stmt *st = NULL;
    if (bucket_ms <= 0) goto out;
    /* One row per session, summed by the caller: SQLite's GROUP BY sorts
     * through a temporary b-tree and costs four times the scan itself. */
    buf_puts(&bl.sql, "SELECT (s.sort_time - ?35) / ?36, s.status, s.agent, 1, "
                      "s.total_cost_micros, s.prompt_tokens + s.completion_tokens FROM sessions s WHERE 1");
    build_where(&bl, q, &fts, 1);
    bl.shape |= BIT(SH_SUMMARY);
    if (bl.sql.err || fts.err) goto out;
    st = db_stmt_shape(d, bl.shape, buf_str(&bl.sql));
    if (!st) goto out;
    sessq w = *q;
    w.start_after = q->has_after && q->start_after > from ? q->start_after : from;
    w.start_before = q->has_before && q->start_before < to ? q->start_before : to;
    w.has_after = w.has_before = 1;
    int rc = bind_where(st, &bl, &w);
    rc |= sqlite3_bind_int64(st, P_BUCKET0, from);
    rc |= sqlite3_bind_int64(st, P_BUCKET, bucket_ms);
    if (rc != SQLITE_OK) st = NULL;
out:
    buf_fini(&bl.sql);
    buf_fini(&fts);
    return st;
}

/* ---------------------------------------------------------------- links */

void sessq_query_string(buf *b, const sessq *q, int default_limit)
{
    size_t start = b->len;
    /* Pairs are separated by '&' from the second on. */
    #define ADD(k, v) do { if (b->len > start) buf_putc(b, '&'); buf_puts(b, k); buf_putc(b, '='); \
                           buf_add_urlenc(b, (v), strlen(v)); } while (0)
    if (q->q) ADD("q", q->q);
    for (int i = 0; i < q->nstatus; i++) ADD("status", q->status[i]);
    for (size_t i = 0; i < NEQ; i++)
        if (eq_value(q, i)) ADD(eqs[i].name, eq_value(q, i));
    if (q->success >= 0) ADD("success", q->success ? "true" : "false");
    if (q->has_error) ADD("has_error", "1");
    if (q->range) ADD("range", q->range);
    if (q->start_after_text) ADD("start_after", q->start_after_text);
    if (q->start_before_text) ADD("start_before", q->start_before_text);
    /* Metadata filters, whether given as meta= or metadata=, are written as
     * meta= pairs: one form, and none lost when both were used. */
    for (int i = 0; i < q->nmeta; i++) {
        if (b->len > start) buf_putc(b, '&');
        buf_puts(b, "meta=");
        buf_add_urlenc(b, q->meta[i].key, strlen(q->meta[i].key));
        buf_puts(b, "%3D");
        buf_add_urlenc(b, q->meta[i].value, strlen(q->meta[i].value));
    }
    if (q->sort != SQ_SORT_START) ADD("sort", sorts[q->sort].name);
    if (q->asc) ADD("direction", "asc");
    if (q->limit != default_limit) {
        char n[16];
        snprintf(n, sizeof n, "%d", q->limit);
        ADD("limit", n);
    }
    #undef ADD
}

cJSON *sessq_page_json(db *d, const sessq *q, arena *a)
{
    sqlite3_stmt *st = sessq_prepare(d, q, SQ_COLS_API, 0);
    if (!st) return NULL;
    cJSON *out = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(out, "data");
    const char *next = NULL;
    int n = 0, rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (n == q->limit) break; /* the extra row: a next page exists */
        cJSON *row = db_row_json(st);
        if (!row) { rc = SQLITE_NOMEM; break; }
        /* The key columns serve the cursor only. */
        cJSON_DeleteItemFromObjectCaseSensitive(row, "_k");
        cJSON_DeleteItemFromObjectCaseSensitive(row, "_t");
        cJSON_DeleteItemFromObjectCaseSensitive(row, "_i");
        cJSON_AddItemToArray(data, row);
        if (++n == q->limit && !(next = sessq_cursor(a, q, st))) { rc = SQLITE_NOMEM; break; }
    }
    int more = rc == SQLITE_ROW && n == q->limit;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) { cJSON_Delete(out); return NULL; }
    if (more && next) cJSON_AddStringToObject(out, "next_cursor", next);
    else cJSON_AddNullToObject(out, "next_cursor");
    return out;
}
