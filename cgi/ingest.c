/* ingest: validation tables and the writes behind the runtime protocol.
 * See ingest.h. */
#include "ingest.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "bg.h"
#include "db.h"
#include "fmt.h"
#include "lifecycle.h"
#include "retention.h"
#include "seal.h"
#include "utf8.h"

/* ---------------------------------------------------------------- fields */

typedef enum ftype { F_STRING, F_INT, F_NUMBER, F_OBJECT, F_ANY, F_TIME, F_BOOL } ftype;

typedef struct field {
    const char        *name;
    ftype              type;
    int                required;
    size_t             max;      /* strings: bytes; ints: upper bound (0 = none) */
    const char *const *choices;  /* strings: allowed values, NULL-terminated */
} field;

static const char *const kinds[] = { "agent", "workflow", NULL };
static const char *const triggers[] = { "manual", "api", "event", "schedule", "agent",
                                        "workflow", NULL };
static const char *const create_statuses[] = { "pending", "running", NULL };
static const char *const call_kinds[] = { "server", "client", "manual", "agent", "workflow",
                                          NULL };
static const char *const runtime_statuses[] = { "running", "retrying", "completed", "failed",
                                                NULL };
static const char *const severities[] = { "debug", "info", "warn", "error", NULL };

#define KB 1024
#define MB (1024 * 1024)

static const field session_fields[] = {
    { "id", F_STRING, 0, INGEST_ID_MAX, NULL },
    { "kind", F_STRING, 0, 0, kinds },
    { "agent", F_STRING, 0, 200, NULL },
    { "name", F_STRING, 0, 500, NULL },
    { "description", F_STRING, 0, 10 * KB, NULL },
    { "status", F_STRING, 0, 0, create_statuses },
    { "trigger", F_STRING, 0, 0, triggers },
    { "trigger_source", F_STRING, 0, 200, NULL },
    { "actor", F_STRING, 0, 200, NULL },
    { "project", F_STRING, 0, 100, NULL },
    { "env", F_STRING, 0, 100, NULL },
    { "cluster", F_STRING, 0, 100, NULL },
    { "deployment", F_STRING, 0, 200, NULL },
    { "thread_id", F_STRING, 0, 200, NULL },
    { "parent_session_id", F_STRING, 0, INGEST_ID_MAX, NULL },
    { "parent_tool_call_id", F_STRING, 0, 128, NULL },
    { "prompt", F_STRING, 0, 1 * MB, NULL },
    { "inputs", F_OBJECT, 0, 0, NULL },
    { "metadata", F_OBJECT, 0, 0, NULL },
    { "user_data", F_ANY, 0, 0, NULL },
    { "method", F_STRING, 0, 16, NULL },
    { "url", F_STRING, 0, 2 * KB, NULL },
    { "route_id", F_STRING, 0, 200, NULL },
    { "devmode", F_BOOL, 0, 0, NULL },
    { NULL, 0, 0, 0, NULL }
};

/* PATCH /api/v1/sessions/{id}: what an operator may edit. */
static const field patch_fields[] = {
    { "name", F_STRING, 0, 500, NULL },
    { "description", F_STRING, 0, 10 * KB, NULL },
    { "metadata", F_OBJECT, 0, 0, NULL },
    { NULL, 0, 0, 0, NULL }
};

/* Fields every event may carry. */
#define EVENT_COMMON \
    { "type", F_STRING, 1, 32, NULL }, \
    { "id", F_STRING, 0, 128, NULL }, \
    { "time", F_TIME, 0, 0, NULL }

static const field ev_message[] = { EVENT_COMMON, { "content", F_STRING, 1, 1 * MB, NULL },
                                    { NULL, 0, 0, 0, NULL } };
static const field ev_tool_call[] = {
    EVENT_COMMON,
    { "tool_call_id", F_STRING, 1, 128, NULL },
    { "tool", F_STRING, 1, 200, NULL },
    { "kind", F_STRING, 0, 0, call_kinds },
    { "arguments", F_ANY, 0, 0, NULL },
    { "called_session_id", F_STRING, 0, INGEST_ID_MAX, NULL },
    { NULL, 0, 0, 0, NULL }
};
static const field ev_tool_result[] = {
    EVENT_COMMON,
    { "tool_call_id", F_STRING, 1, 128, NULL },
    { "result", F_ANY, 0, 0, NULL },
    { "error", F_OBJECT, 0, 0, NULL },
    { "retries", F_INT, 0, 1000000, NULL },
    { NULL, 0, 0, 0, NULL }
};
static const field ev_tool_error[] = {
    { "category", F_STRING, 1, 100, NULL },
    { "message", F_STRING, 1, 64 * KB, NULL },
    { NULL, 0, 0, 0, NULL }
};
static const field ev_error[] = { EVENT_COMMON, { "message", F_STRING, 1, 64 * KB, NULL },
                                  { "step", F_STRING, 0, 200, NULL }, { NULL, 0, 0, 0, NULL } };
static const field ev_usage[] = {
    EVENT_COMMON,
    { "model", F_STRING, 0, 200, NULL },
    { "prompt_tokens", F_INT, 0, 1000000000, NULL },
    { "completion_tokens", F_INT, 0, 1000000000, NULL },
    { "cost", F_NUMBER, 0, 1000000, NULL },
    { NULL, 0, 0, 0, NULL }
};
static const field ev_status[] = {
    EVENT_COMMON,
    { "status", F_STRING, 1, 0, runtime_statuses },
    { "error", F_STRING, 0, 64 * KB, NULL },
    { "step", F_STRING, 0, 200, NULL },
    { "response", F_STRING, 0, 1 * MB, NULL },
    { NULL, 0, 0, 0, NULL }
};
static const field ev_log[] = { EVENT_COMMON, { "severity", F_STRING, 0, 0, severities },
                                { "body", F_STRING, 1, 64 * KB, NULL }, { NULL, 0, 0, 0, NULL } };
static const field ev_span[] = {
    EVENT_COMMON,
    { "trace_id", F_STRING, 1, 64, NULL },
    { "span_id", F_STRING, 1, 32, NULL },
    { "parent_span_id", F_STRING, 0, 32, NULL },
    { "name", F_STRING, 1, 200, NULL },
    { "start", F_TIME, 1, 0, NULL },
    { "end", F_TIME, 0, 0, NULL },
    { "attributes", F_OBJECT, 0, 0, NULL },
    { "status", F_STRING, 0, 16, NULL },
    { NULL, 0, 0, 0, NULL }
};

typedef enum ev_type {
    EV_USER_MESSAGE, EV_ASSISTANT_MESSAGE, EV_THOUGHT, EV_TOOL_CALL, EV_TOOL_RESULT,
    EV_ERROR, EV_USAGE, EV_STATUS, EV_LOG, EV_SPAN, EV__COUNT
} ev_type;

static const struct {
    const char  *name;
    const field *fields;
} ev_types[EV__COUNT] = {
    [EV_USER_MESSAGE] = { "user_message", ev_message },
    [EV_ASSISTANT_MESSAGE] = { "assistant_message", ev_message },
    [EV_THOUGHT] = { "thought", ev_message },
    [EV_TOOL_CALL] = { "tool_call", ev_tool_call },
    [EV_TOOL_RESULT] = { "tool_result", ev_tool_result },
    [EV_ERROR] = { "error", ev_error },
    [EV_USAGE] = { "usage", ev_usage },
    [EV_STATUS] = { "status", ev_status },
    [EV_LOG] = { "log", ev_log },
    [EV_SPAN] = { "span", ev_span },
};

static int fail(ingest_err *err, int status, const char *code, const char *field_name,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(ingest_err *err, int status, const char *code, const char *field_name,
                const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field_name ? field_name : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}


static int choice_ok(const char *const *choices, const char *v)
{
    for (; *choices; choices++)
        if (strcmp(*choices, v) == 0) return 1;
    return 0;
}

/* Check obj against a field table: every member known, of the right type,
 * within its limits; every required member present. `prefix` names obj in
 * error messages ("events[3]"). */
static int validate(const cJSON *obj, const field *fields, const char *prefix, ingest_err *err)
{
    char name[64];
    if (!cJSON_IsObject(obj))
        return fail(err, 422, "invalid_body", prefix, "%s must be a JSON object",
                    *prefix ? prefix : "the body");
    for (const cJSON *m = obj->child; m; m = m->next) {
        const field *f = fields;
        while (f->name && strcmp(f->name, m->string) != 0) f++;
        snprintf(name, sizeof name, "%s%s%.40s", prefix, *prefix ? "." : "", m->string);
        if (!f->name)
            return fail(err, 422, "unknown_field", name, "unknown field \"%s\"", name);
        if (cJSON_IsNull(m) && !f->required) continue;
        switch (f->type) {
        case F_STRING:
            if (!cJSON_IsString(m))
                return fail(err, 422, "invalid_field", name, "%s must be a string", name);
            size_t len = strlen(m->valuestring);
            if (f->max && len > f->max)
                return fail(err, 422, "invalid_field", name, "%s is longer than %zu bytes",
                            name, f->max);
            if (!utf8_valid(m->valuestring, len))
                return fail(err, 422, "invalid_field", name, "%s is not valid UTF-8", name);
            if (f->choices && !choice_ok(f->choices, m->valuestring))
                return fail(err, 422, "invalid_field", name, "%s has an unknown value \"%.40s\"",
                            name, m->valuestring);
            break;
        case F_INT:
            /* Range first: converting an out-of-range double to an integer is UB. */
            if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0) ||
                (f->max && m->valuedouble > (double)f->max) || m->valuedouble > 9e15 ||
                m->valuedouble != floor(m->valuedouble))
                return fail(err, 422, "invalid_field", name,
                            "%s must be a whole number from 0 to %zu", name, f->max);
            break;
        case F_NUMBER:
            /* isfinite: 1e400 reads as infinity, which no column can hold. */
            if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0) || !isfinite(m->valuedouble) ||
                (f->max && m->valuedouble > (double)f->max))
                return fail(err, 422, "invalid_field", name, "%s must be a number from 0 to %zu",
                            name, f->max);
            break;
        case F_OBJECT:
            if (!cJSON_IsObject(m))
                return fail(err, 422, "invalid_field", name, "%s must be a JSON object", name);
            if (!utf8_json_valid(m))
                return fail(err, 422, "invalid_field", name, "%s holds text that is not valid UTF-8",
                            name);
            if (!ingest_json_finite(m))
                return fail(err, 422, "invalid_field", name,
                            "%s holds a number too large for JSON (such as 1e400)", name);
            break;
        case F_TIME: {
            /* Numbers and RFC 3339 text alike from 1970 up to 2100: span
             * times are stored in ns, and a year past 2262 overflows int64_t
             * (found by tests/fuzz/fuzz_ingest: "end":"6563-11-21T..."). */
            int64_t ms;
            if (cJSON_IsNumber(m) && m->valuedouble >= 0 && m->valuedouble < 4102444800000.0)
                break;
            if (!cJSON_IsString(m) || fmt_time_parse(m->valuestring, &ms) || ms < 0 ||
                ms >= 4102444800000LL)
                return fail(err, 422, "invalid_field", name,
                            "%s must be an RFC 3339 time or milliseconds since 1970", name);
            break;
        }
        case F_BOOL:
            if (!cJSON_IsBool(m))
                return fail(err, 422, "invalid_field", name, "%s must be true or false", name);
            break;
        case F_ANY:
            if (!utf8_json_valid(m))
                return fail(err, 422, "invalid_field", name, "%s holds text that is not valid UTF-8",
                            name);
            if (!ingest_json_finite(m))
                return fail(err, 422, "invalid_field", name,
                            "%s holds a number too large for JSON (such as 1e400)", name);
            break;
        }
    }
    for (const field *f = fields; f->name; f++) {
        if (f->required && !cJSON_GetObjectItemCaseSensitive(obj, f->name)) {
            snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", f->name);
            return fail(err, 422, "missing_field", name, "%s is required", name);
        }
    }
    return 0;
}

static const char *str(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static double num(const cJSON *obj, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* A time member as ms, or dflt when absent. Validated beforehand. */
static int64_t time_ms(const cJSON *obj, const char *key, int64_t dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    int64_t ms;
    if (cJSON_IsNumber(v)) return (int64_t)v->valuedouble;
    if (cJSON_IsString(v) && fmt_time_parse(v->valuestring, &ms) == 0) return ms;
    return dflt;
}

/* Does JSON text json[0..n) hold U+0000, raw or escaped? (ingest.h) */
int ingest_json_has_nul(const char *json, size_t n)
{
    for (size_t i = 0; json && i < n; i++) {
        if (json[i] == '\0') return 1;
        if (json[i] != '\\' || i + 1 >= n) continue;
        if (json[i + 1] == 'u' && i + 5 < n && !memcmp(json + i + 2, "0000", 4)) return 1;
        /* cJSON 1.7.15 reads a \u escape that is not 4 hex digits ("\uzzzz")
         * as U+0000 too, instead of refusing it (found by
         * tests/fuzz/fuzz_utf8). */
        if (json[i + 1] == 'u') {
            for (size_t k = i + 2; k < i + 6; k++)
                if (k >= n || !isxdigit((unsigned char)json[k])) return 1;
        }
        i++; /* skip the escaped character: "\\u0000" is a backslash and text */
    }
    return 0;
}

/* Are all numbers in v finite? (ingest.h) */
int ingest_json_finite(const cJSON *v)
{
    if (!v) return 1;
    if (cJSON_IsNumber(v)) return isfinite(v->valuedouble);
    for (const cJSON *m = v->child; m; m = m->next)
        if (!ingest_json_finite(m)) return 0;
    return 1;
}

/* Is s a valid client-chosen id ([A-Za-z0-9_-]{1,64})? */
int ingest_id_valid(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return n > 0 && n <= INGEST_ID_MAX;
}

/* JSON text of member key (or dflt when absent); caller frees with cJSON_free. */
static char *json_text(const cJSON *obj, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) {
        size_t n = strlen(dflt) + 1;
        char *p = cJSON_malloc(n);
        if (p) memcpy(p, dflt, n);
        return p;
    }
    return cJSON_PrintUnformatted(v);
}

/* --------------------------------------------------------------- secrets */

/* Is j a secret marker: an object whose one member is "$secret"? */
static int secret_marker(const cJSON *j)
{
    return cJSON_IsObject(j) && j->child && !j->child->next && j->child->string &&
           strcmp(j->child->string, INGEST_SECRET_KEY) == 0;
}

/* Replace every marker below j (j itself is never replaced: callers pass a
 * container) with "****" (mask) or with the marker's value, itself
 * unwrapped (unwrap). Returns how many, or -1 when out of memory (j is then
 * partly replaced). */
static int secrets_walk(cJSON *j, int unwrap)
{
    int n = 0;
    for (cJSON *m = j ? j->child : NULL; m;) {
        cJSON *next = m->next;
        if (secret_marker(m)) {
            cJSON *with;
            if (unwrap) {
                with = cJSON_DetachItemViaPointer(m, m->child);
                int inner = with ? secrets_walk(with, 1) : 0;
                if (inner < 0) { cJSON_Delete(with); return -1; }
                n += inner;
            } else {
                with = cJSON_CreateString(INGEST_SECRET_MASK);
            }
            if (!with) return -1;
            /* The replacement takes the marker's key (none in an array). */
            char *key = NULL;
            if (cJSON_IsObject(j) && m->string) {
                size_t kn = strlen(m->string) + 1;
                key = cJSON_malloc(kn);
                if (!key) { cJSON_Delete(with); return -1; }
                memcpy(key, m->string, kn);
            }
            if (!(with->type & cJSON_StringIsConst)) cJSON_free(with->string);
            with->type &= ~cJSON_StringIsConst;
            with->string = key;
            if (!cJSON_ReplaceItemViaPointer(j, m, with)) {
                cJSON_Delete(with);
                return -1;
            }
            n++;
        } else if (cJSON_IsObject(m) || cJSON_IsArray(m)) {
            int k = secrets_walk(m, unwrap);
            if (k < 0) return -1;
            n += k;
        }
        m = next;
    }
    return n;
}

int ingest_secrets_mask(cJSON *j)
{
    return secrets_walk(j, 0);
}

int ingest_secrets_unwrap(cJSON *j)
{
    return secrets_walk(j, 1);
}

/* Does anything below j hold a secret marker? */
static int secrets_any(const cJSON *j)
{
    for (const cJSON *m = j ? j->child : NULL; m; m = m->next)
        if (secret_marker(m) || ((cJSON_IsObject(m) || cJSON_IsArray(m)) && secrets_any(m))) return 1;
    return 0;
}

/* A copy of in with its secrets masked, or NULL (out of memory, *err set). */
static cJSON *masked_copy(const cJSON *in, ingest_err *err)
{
    cJSON *m = cJSON_Duplicate(in, 1);
    if (!m || ingest_secrets_mask(m) < 0) {
        cJSON_Delete(m);
        fail(err, 500, "internal", NULL, "out of memory");
        return NULL;
    }
    return m;
}

/* One audit row (no status change). 0 or -1. */
static int audit(db *d, int64_t now, const char *actor, const char *action, const char *sid,
                 const char *detail)
{
    sqlite3_stmt *st = db_stmt(d, SQL_AUDIT_INSERT);
    if (!st) return -1;
    sqlite3_bind_int64(st, 1, now);
    db_bind_text(st, 2, actor);
    db_bind_text(st, 3, action);
    db_bind_text(st, 4, sid);
    sqlite3_bind_null(st, 5);
    sqlite3_bind_null(st, 6);
    db_bind_text(st, 7, detail);
    return db_exec(st);
}

/* -------------------------------------------------------------- sessions */

static int session_create(db *d, const cJSON *in, const char *actor, char *id_out,
                          ingest_err *err);

int ingest_session_create(db *d, const cJSON *in, const char *actor, char *id_out,
                          ingest_err *err)
{
    cJSON *m = masked_copy(in, err);
    if (!m) return -1;
    int rc = session_create(d, m, actor, id_out, err);
    cJSON_Delete(m);
    return rc;
}

/* ingest_session_create on a body whose secrets are masked already. */
static int session_create(db *d, const cJSON *in, const char *actor, char *id_out,
                          ingest_err *err)
{
    int rc = -1;
    char *inputs = NULL, *metadata = NULL, *user_data = NULL;
    if (validate(in, session_fields, "", err)) return -1;

    const char *id = str(in, "id", NULL);
    if (id) {
        if (!ingest_id_valid(id))
            return fail(err, 422, "invalid_field", "id",
                        "id must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -");
        /* Reserved: /api/v1/sessions/bulk is a route, not a session. */
        if (strcmp(id, "bulk") == 0)
            return fail(err, 422, "invalid_field", "id", "\"bulk\" is reserved; choose another id");
        snprintf(id_out, INGEST_ID_MAX + 1, "%s", id);
    } else {
        memcpy(id_out, "ses_", 4); /* NOLINT(bugprone-not-null-terminated-result): auth_random_id terminates it */
        auth_random_id(id_out + 4, 20);
    }
    const char *parent = str(in, "parent_session_id", NULL);
    if (parent && !ingest_id_valid(parent))
        return fail(err, 422, "invalid_field", "parent_session_id", "not a valid session id");

    inputs = json_text(in, "inputs", "{}");
    metadata = json_text(in, "metadata", "{}");
    user_data = json_text(in, "user_data", "{}");
    if (!inputs || !metadata || !user_data) {
        fail(err, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (db_begin(d)) { fail(err, 500, "internal", NULL, "database busy"); goto out; }
    int64_t now = db_now_ms();
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_INSERT);
    if (!st) goto dberr;
    const char *trigger = str(in, "trigger", "api");
    db_bind_text(st, 1, id_out);
    db_bind_text(st, 2, str(in, "kind", "agent"));
    db_bind_text(st, 3, str(in, "agent", ""));
    db_bind_text(st, 4, str(in, "name", str(in, "agent", "")));
    db_bind_text(st, 5, str(in, "description", ""));
    db_bind_text(st, 6, trigger);
    db_bind_text(st, 7, str(in, "trigger_source", actor));
    db_bind_text(st, 8, str(in, "actor", ""));
    db_bind_text(st, 9, str(in, "project", "default"));
    db_bind_text(st, 10, str(in, "env", ""));
    db_bind_text(st, 11, str(in, "cluster", ""));
    db_bind_text(st, 12, str(in, "deployment", ""));
    db_bind_text(st, 13, str(in, "thread_id", ""));
    db_bind_text(st, 14, parent);
    db_bind_text(st, 15, str(in, "parent_tool_call_id", NULL));
    db_bind_text(st, 16, str(in, "prompt", ""));
    db_bind_text(st, 17, inputs);
    db_bind_text(st, 18, metadata);
    db_bind_text(st, 19, user_data);
    db_bind_text(st, 20, str(in, "method", ""));
    db_bind_text(st, 21, str(in, "url", ""));
    db_bind_text(st, 22, str(in, "route_id", ""));
    sqlite3_bind_int64(st, 23, now);
    int src = db_step(st);
    sqlite3_reset(st);
    if (src == SQLITE_CONSTRAINT_PRIMARYKEY) {
        db_rollback(d);
        fail(err, 409, "session_exists", "id", "a session with id \"%s\" already exists", id_out);
        goto out;
    }
    if (src != SQLITE_DONE) goto dberr;

    /* devmode, and agent_ids: its own agent, and its agent in its caller's. */
    st = db_stmt(d, SQL_SESSION_SET_CREATE_EXTRAS);
    if (!st) goto dberr;
    db_bind_text(st, 1, id_out);
    sqlite3_bind_int(st, 2, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "devmode")));
    if (db_exec(st)) goto dberr;
    if (parent) {
        st = db_stmt(d, SQL_SESSION_ADD_AGENT);
        if (!st) goto dberr;
        db_bind_text(st, 1, parent);
        db_bind_text(st, 2, str(in, "agent", ""));
        if (db_exec(st)) goto dberr;
    }

    st = db_stmt(d, SQL_AUDIT_INSERT);
    if (!st) goto dberr;
    sqlite3_bind_int64(st, 1, now);
    db_bind_text(st, 2, actor);
    db_bind_text(st, 3, "create");
    db_bind_text(st, 4, id_out);
    sqlite3_bind_null(st, 5);
    db_bind_text(st, 6, "pending");
    db_bind_text(st, 7, "");
    if (db_exec(st)) goto dberr;

    if (strcmp(str(in, "status", "pending"), "running") == 0 &&
        lifecycle_apply(d, id_out, LC_START, actor, NULL, NULL, NULL) != LC_OK)
        goto dberr;
    if (db_commit(d)) goto dberr;
    rc = 0;
    goto out;
dberr:
    fail(err, 500, "internal", NULL, "database error: %s", db_errmsg(d));
    db_rollback(d);
out:
    cJSON_free(inputs);
    cJSON_free(metadata);
    cJSON_free(user_data);
    return rc;
}

/* ---------------------------------------------------------------- events */

static ev_type event_type(const cJSON *ev)
{
    const char *t = str(ev, "type", "");
    for (int i = 0; i < EV__COUNT; i++)
        if (strcmp(ev_types[i].name, t) == 0) return (ev_type)i;
    return EV__COUNT;
}

/* Validate one event completely (before any write). */
static int validate_event(const cJSON *ev, int index, ingest_err *err)
{
    char prefix[32];
    if (index >= 0) snprintf(prefix, sizeof prefix, "events[%d]", index);
    else prefix[0] = '\0';
    if (!cJSON_IsObject(ev))
        return fail(err, 422, "invalid_body", prefix, "an event must be a JSON object");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    char name[48];
    snprintf(name, sizeof name, "%s%stype", prefix, *prefix ? "." : "");
    if (!cJSON_IsString(type))
        return fail(err, 422, "missing_field", name, "%s is required", name);
    ev_type t = event_type(ev);
    if (t == EV__COUNT)
        return fail(err, 422, "invalid_field", name,
                    "%s \"%.32s\" is not one of user_message, assistant_message, thought, "
                    "tool_call, tool_result, error, usage, status, log, span",
                    name, type->valuestring);
    if (validate(ev, ev_types[t].fields, prefix, err)) return -1;
    if (t == EV_TOOL_RESULT) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "error");
        snprintf(name, sizeof name, "%s%serror", prefix, *prefix ? "." : "");
        if (e && !cJSON_IsNull(e) && validate(e, ev_tool_error, name, err)) return -1;
    }
    return 0;
}

/* The payload stored in events.body: the event minus type, id and time. */
static char *event_body(const cJSON *ev)
{
    cJSON *copy = cJSON_Duplicate(ev, 1);
    if (!copy) return NULL;
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "type");
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "id");
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "time");
    char *s = cJSON_PrintUnformatted(copy);
    cJSON_Delete(copy);
    return s;
}

/* See ingest.h: one events row, no status checks. */
int ingest_event_insert(db *d, const char *sid, const char *type, const char *client_id,
                        int64_t time, const char *actor, const char *tool_call_id,
                        const char *body, int64_t now, int64_t *event_id, int64_t *seq)
{
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_RESERVE_SEQ);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int(st, 2, 1);
    sqlite3_bind_int64(st, 3, now);
    if (db_step(st) != SQLITE_ROW) return -1;
    *seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);

    st = db_stmt(d, SQL_EVENT_INSERT);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, *seq);
    db_bind_text(st, 3, type);
    db_bind_text(st, 4, client_id);
    sqlite3_bind_int64(st, 5, time);
    db_bind_text(st, 6, actor);
    db_bind_text(st, 7, tool_call_id);
    db_bind_text(st, 8, body);
    sqlite3_bind_int64(st, 9, now);
    if (db_step(st) != SQLITE_ROW) return -1;
    *event_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

/* Current status of the session; 0, 1 when missing, -1 on error. */
static int session_status(db *d, const char *sid, char status[16])
{
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_STATE);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* State of tool call tcid of session sid into state (24 bytes): 1 found,
 * 0 not found, -1 on error. */
static int toolcall_state(db *d, const char *sid, const char *tcid, char state[24])
{
    sqlite3_stmt *st = db_stmt(d, SQL_TOOLCALL_STATE);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    db_bind_text(st, 2, tcid);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) snprintf(state, 24, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Keep the arguments of tool call tcid as orig (the event as sent) has them,
 * secrets unwrapped, when they hold any (tool_call_secrets). 0 or -1. */
static int store_secret_args(db *d, const char *sid, const char *tcid, const cJSON *orig)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(orig, "arguments");
    if (!a) return 0;
    cJSON *wrap = cJSON_CreateArray(), *copy = cJSON_Duplicate(a, 1);
    if (!wrap || !copy) { cJSON_Delete(wrap); cJSON_Delete(copy); return -1; }
    cJSON_AddItemToArray(wrap, copy); /* a container, so a marker at the top unwraps too */
    int n = ingest_secrets_unwrap(wrap), rc = n < 0 ? -1 : 0;
    if (n > 0) {
        char *text = cJSON_PrintUnformatted(wrap->child);
        sqlite3_stmt *st = text ? db_stmt(d, SQL_TOOLCALL_SECRET_INSERT) : NULL;
        if (st) {
            db_bind_text(st, 1, sid);
            db_bind_text(st, 2, tcid);
            db_bind_text(st, 3, text);
        }
        rc = st ? db_exec(st) : -1;
        cJSON_free(text);
    }
    cJSON_Delete(wrap);
    return rc;
}

/* Apply one validated event inside the open transaction. ev has its secrets
 * masked; orig (NULL when there is none) is the event as sent, whose
 * tool-call arguments are kept unmasked apart. */
static int apply_event(db *d, const char *sid, const cJSON *ev, const cJSON *orig,
                       const char *actor, int64_t now, char status[16], cJSON *ids,
                       ingest_err *err)
{
    ev_type t = event_type(ev);
    const char *client_id = str(ev, "id", NULL);
    int64_t when = time_ms(ev, "time", now);
    int64_t event_id = 0, seq = 0;
    char *body = NULL;
    cJSON *capped = NULL; /* ev cut to the project's payload cap */
    int rc = -1;
    sqlite3_stmt *st;

    /* Idempotency: an event id seen before is acknowledged, not recorded again. */
    if (client_id) {
        st = db_stmt(d, SQL_EVENT_BY_CLIENT_ID);
        if (!st) goto dberr;
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, client_id);
        if (db_step(st) == SQLITE_ROW) {
            cJSON *o = cJSON_CreateObject();
            if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
                cJSON_AddNullToObject(o, "id");
                cJSON_AddNullToObject(o, "seq");
            } else {
                cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
                cJSON_AddNumberToObject(o, "seq", (double)sqlite3_column_int64(st, 1));
            }
            cJSON_AddBoolToObject(o, "duplicate", 1);
            cJSON_AddItemToArray(ids, o);
            sqlite3_reset(st);
            return 1;
        }
        sqlite3_reset(st);
    }

    /* A follow-up message continues a finished session; cancel is permanent. */
    if (t == EV_USER_MESSAGE) {
        if (strcmp(status, "canceled") == 0) {
            snprintf(err->session_status, sizeof err->session_status, "%s", status);
            fail(err, 409, "session_canceled", NULL,
                 "the session was canceled; cancel is permanent, start a new session");
            goto out;
        }
        if ((strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0) &&
            lifecycle_apply(d, sid, LC_CONTINUE, actor, NULL, NULL, status) != LC_OK)
            goto dberr;
    }

    /* The first event of a pending session starts it. */
    if (strcmp(status, "pending") == 0 &&
        !(t == EV_STATUS && strcmp(str(ev, "status", ""), "failed") == 0)) {
        if (lifecycle_apply(d, sid, LC_START, actor, NULL, NULL, status) != LC_OK) goto dberr;
    }

    if (t == EV_LOG) {
        st = db_stmt(d, SQL_LOG_INSERT);
        if (!st) goto dberr;
        db_bind_text(st, 1, sid);
        sqlite3_bind_int64(st, 2, when);
        db_bind_text(st, 3, str(ev, "severity", "info"));
        db_bind_text(st, 4, str(ev, "body", ""));
        if (db_exec(st)) goto dberr;
        goto acked;
    }
    if (t == EV_SPAN) {
        char *attrs = json_text(ev, "attributes", "{}");
        st = db_stmt(d, SQL_SPAN_UPSERT);
        if (!st || !attrs) { cJSON_free(attrs); goto dberr; }
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, str(ev, "trace_id", ""));
        db_bind_text(st, 3, str(ev, "span_id", ""));
        db_bind_text(st, 4, str(ev, "parent_span_id", NULL));
        db_bind_text(st, 5, str(ev, "name", ""));
        sqlite3_bind_int64(st, 6, time_ms(ev, "start", now) * 1000000);
        if (cJSON_GetObjectItemCaseSensitive(ev, "end"))
            sqlite3_bind_int64(st, 7, time_ms(ev, "end", now) * 1000000);
        db_bind_text(st, 8, str(ev, "status", "unset"));
        db_bind_text(st, 9, attrs);
        int e = db_exec(st);
        cJSON_free(attrs);
        if (e) goto dberr;
        goto acked;
    }
    if (t == EV_STATUS) {
        const char *to = str(ev, "status", "");
        lc_action a;
        if (strcmp(to, "running") == 0) {
            if (strcmp(status, "running") == 0) goto acked; /* already: nothing to change */
            a = LC_RECOVER;
        } else if (strcmp(to, "retrying") == 0) a = LC_RETRY;
        else if (strcmp(to, "completed") == 0) a = LC_COMPLETE;
        else a = LC_FAIL;
        if (a == LC_FAIL || a == LC_COMPLETE) {
            st = db_stmt(d, a == LC_FAIL ? SQL_SESSION_SET_ERROR : SQL_SESSION_SET_FINAL);
            if (!st) goto dberr;
            db_bind_text(st, 1, sid);
            db_bind_text(st, 2, str(ev, a == LC_FAIL ? "error" : "response", ""));
            if (a == LC_FAIL) db_bind_text(st, 3, str(ev, "step", ""));
            if (db_exec(st)) goto dberr;
        }
        char from[16];
        lc_result r = lifecycle_apply(d, sid, a, actor, str(ev, "error", NULL), from, status);
        if (r == LC_REFUSED) {
            snprintf(err->session_status, sizeof err->session_status, "%s", from);
            fail(err, 409, "invalid_transition", "status",
                 "a %s session cannot become %s", from, to);
            goto out;
        }
        if (r != LC_OK) goto dberr;
        if (a == LC_COMPLETE && *str(ev, "response", "")) {
            /* The final response is also the last assistant message of the feed. */
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "content", str(ev, "response", ""));
            cJSON_AddBoolToObject(m, "final", 1);
            body = cJSON_PrintUnformatted(m);
            cJSON_Delete(m);
            if (!body || ingest_event_insert(d, sid, "assistant_message", client_id, when, actor, NULL,
                                      body, now, &event_id, &seq))
                goto dberr;
        }
        goto acked;
    }

    const char *tcid = str(ev, "tool_call_id", NULL);
    char prev[24] = ""; /* the tool call's state before this event */
    int found = 0;
    if (t == EV_TOOL_CALL || t == EV_TOOL_RESULT) {
        found = toolcall_state(d, sid, tcid, prev);
        if (found < 0) goto dberr;
    }
    if (t == EV_TOOL_CALL) {
        if (!lifecycle_accepts_tool_calls(status)) {
            snprintf(err->session_status, sizeof err->session_status, "%s", status);
            fail(err, 409, "session_not_running", NULL,
                 "the session is %s: no new tool call may start", status);
            goto out;
        }
        if (found) {
            fail(err, 409, "tool_call_exists", "tool_call_id",
                 "tool call \"%.64s\" was already started", tcid);
            goto out;
        }
    } else if (t == EV_TOOL_RESULT) {
        if (!found) {
            fail(err, 422, "unknown_tool_call", "tool_call_id",
                 "no tool call \"%.64s\" in this session", tcid);
            goto out;
        }
        /* A call already canceled (it was waiting when the session was
         * canceled) keeps that outcome; the late result is still recorded. */
        if (strcmp(prev, "succeeded") == 0 || strcmp(prev, "failed") == 0) {
            fail(err, 409, "tool_call_ended", "tool_call_id",
                 "tool call \"%.64s\" has already ended (%s)", tcid, prev);
            goto out;
        }
    }

    body = event_body(ev);
    if (!body) goto dberr;
    /* The project's payload cap (retention.h): only a body past the
     * smallest cap can be over one, so most events ask nothing. */
    size_t blen = strlen(body);
    if (blen > RETENTION_MIN_CAP) {
        long long cap = retention_cap(d, sid);
        if (cap < 0) goto dberr;
        if (cap > 0 && blen > (size_t)cap) {
            capped = cJSON_Duplicate(ev, 1);
            if (!capped || retention_cut(capped, (size_t)cap, NULL) < 0) goto dberr;
            ev = capped; /* arguments and results below come from the cut event */
            cJSON_free(body);
            body = event_body(ev);
            if (!body) goto dberr;
        }
    }
    if (ingest_event_insert(d, sid, ev_types[t].name, client_id, when, actor, tcid, body, now,
                     &event_id, &seq))
        goto dberr;

    if (t == EV_TOOL_CALL) {
        const char *kind = str(ev, "kind", "server");
        const char *state = strcmp(kind, "manual") == 0   ? "waiting_for_human"
                            : strcmp(kind, "client") == 0 ? "waiting_for_client"
                                                          : "running";
        char *args = json_text(ev, "arguments", "{}");
        st = db_stmt(d, SQL_TOOLCALL_INSERT);
        if (!st || !args) { cJSON_free(args); goto dberr; }
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, tcid);
        db_bind_text(st, 3, str(ev, "tool", ""));
        db_bind_text(st, 4, kind);
        db_bind_text(st, 5, args);
        db_bind_text(st, 6, state);
        sqlite3_bind_int64(st, 7, when);
        db_bind_text(st, 8, str(ev, "called_session_id", NULL));
        sqlite3_bind_int64(st, 9, event_id);
        int e = db_exec(st);
        cJSON_free(args);
        if (e) goto dberr;
        if (orig && store_secret_args(d, sid, tcid, orig)) goto dberr;
        if (str(ev, "called_session_id", NULL)) {
            st = db_stmt(d, SQL_SESSION_ADD_CALLED_AGENT);
            if (!st) goto dberr;
            db_bind_text(st, 1, sid);
            db_bind_text(st, 2, str(ev, "called_session_id", NULL));
            if (db_exec(st)) goto dberr;
        }
        if (strcmp(state, "running") == 0) {
            st = db_stmt(d, SQL_SESSION_ADD_EXECUTING);
            if (!st) goto dberr;
            db_bind_text(st, 1, sid);
            sqlite3_bind_int(st, 2, 1);
            if (db_exec(st)) goto dberr;
        }
    } else if (t == EV_TOOL_RESULT) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(ev, "error");
        int failed = cJSON_IsObject(e);
        int canceled = strcmp(prev, "canceled") == 0 || strcmp(status, "canceling") == 0 ||
                       strcmp(status, "canceled") == 0;
        char *result = failed ? NULL : json_text(ev, "result", "null");
        st = db_stmt(d, SQL_TOOLCALL_FINISH);
        if (!st || (!failed && !result)) { cJSON_free(result); goto dberr; }
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, tcid);
        db_bind_text(st, 3, canceled ? "canceled" : failed ? "failed" : "succeeded");
        db_bind_text(st, 4, result);
        db_bind_text(st, 5, failed ? str(e, "category", "") : NULL);
        db_bind_text(st, 6, failed ? str(e, "message", "") : NULL);
        sqlite3_bind_int64(st, 7, (int64_t)num(ev, "retries", 0));
        sqlite3_bind_int64(st, 8, when);
        int x = db_exec(st);
        cJSON_free(result);
        if (x) goto dberr;
        if (strcmp(prev, "running") == 0) {
            st = db_stmt(d, SQL_SESSION_ADD_EXECUTING);
            if (!st) goto dberr;
            db_bind_text(st, 1, sid);
            sqlite3_bind_int(st, 2, -1);
            if (db_exec(st)) goto dberr;
            /* The last executing call ending lets a pause or cancel finish. */
            if (lifecycle_apply(d, sid, LC_SETTLE, actor, NULL, NULL, status) != LC_OK)
                goto dberr;
        }
    } else if (t == EV_USAGE) {
        st = db_stmt(d, SQL_SESSION_ADD_USAGE);
        if (!st) goto dberr;
        db_bind_text(st, 1, sid);
        sqlite3_bind_int64(st, 2, (int64_t)num(ev, "prompt_tokens", 0));
        sqlite3_bind_int64(st, 3, (int64_t)num(ev, "completion_tokens", 0));
        sqlite3_bind_int64(st, 4, (int64_t)llround(num(ev, "cost", 0) * 1e6)); /* micro-dollars */
        db_bind_text(st, 5, str(ev, "model", NULL));
        if (db_exec(st)) goto dberr;
    }

acked:
    /* Events without an events row of their own keep their key elsewhere. */
    if (client_id && !event_id) {
        st = db_stmt(d, SQL_EVENT_KEY_INSERT);
        if (!st) goto dberr;
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, client_id);
        if (db_exec(st)) goto dberr;
    }
    cJSON *o = cJSON_CreateObject();
    if (event_id) cJSON_AddNumberToObject(o, "id", (double)event_id);
    else cJSON_AddNullToObject(o, "id");
    if (seq) cJSON_AddNumberToObject(o, "seq", (double)seq);
    else cJSON_AddNullToObject(o, "seq");
    cJSON_AddBoolToObject(o, "duplicate", 0);
    cJSON_AddItemToArray(ids, o);
    rc = 0;
    goto out;
dberr:
    fail(err, 500, "internal", NULL, "database error: %s", db_errmsg(d));
out:
    cJSON_free(body);
    cJSON_Delete(capped);
    return rc;
}

static int events_apply(db *d, const char *sid, const cJSON *in, const cJSON *orig,
                        const char *actor, ingest_result *res, cJSON **ids_out, ingest_err *err);

int ingest_events(db *d, const char *sid, const cJSON *in, const char *actor,
                  ingest_result *res, cJSON **ids_out, ingest_err *err)
{
    memset(res, 0, sizeof *res);
    if (ids_out) *ids_out = NULL;
    /* Most batches hold no secret: no masked copy of a 1,000-event tree
     * (it doubled the memory a batch takes while it waits to commit). */
    if (!secrets_any(in)) return events_apply(d, sid, in, in, actor, res, ids_out, err);
    cJSON *m = masked_copy(in, err);
    if (!m) return -1;
    int rc = events_apply(d, sid, m, in, actor, res, ids_out, err);
    cJSON_Delete(m);
    return rc;
}

/* ingest_events on in (secrets masked); orig is the body as sent, of the
 * same shape (a copy before masking), for the unmasked tool-call arguments. */
static int events_apply(db *d, const char *sid, const cJSON *in, const cJSON *orig,
                        const char *actor, ingest_result *res, cJSON **ids_out, ingest_err *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(in, "events");
    int batch = list != NULL;
    if (batch) {
        if (!cJSON_IsArray(list))
            return fail(err, 422, "invalid_field", "events", "events must be an array");
        for (const cJSON *m = in->child; m; m = m->next)
            if (strcmp(m->string, "events") != 0)
                return fail(err, 422, "unknown_field", m->string,
                            "a batch has only \"events\"; unknown field \"%.40s\"", m->string);
        int n = cJSON_GetArraySize(list);
        if (n == 0) return fail(err, 422, "invalid_field", "events", "events is empty");
        if (n > INGEST_MAX_BATCH)
            return fail(err, 413, "batch_too_large", "events",
                        "at most %d events per request", INGEST_MAX_BATCH);
        int i = 0;
        for (const cJSON *ev = list->child; ev; ev = ev->next, i++)
            if (validate_event(ev, i, err)) return -1;
    } else if (validate_event(in, -1, err)) {
        return -1;
    }

    cJSON *ids = cJSON_CreateArray();
    if (!ids) return fail(err, 500, "internal", NULL, "out of memory");
    if (db_begin(d)) {
        cJSON_Delete(ids);
        return fail(err, 503, "busy", NULL, "the database is busy; retry");
    }
    int64_t now = db_now_ms();
    int e = session_status(d, sid, res->status);
    if (e) {
        db_rollback(d);
        cJSON_Delete(ids);
        if (e > 0) return fail(err, 404, "not_found", NULL, "no session \"%.64s\"", sid);
        return fail(err, 500, "internal", NULL, "database error");
    }
    const cJSON *ev = batch ? list->child : in;
    const cJSON *o = batch ? cJSON_GetObjectItemCaseSensitive(orig, "events")->child : orig;
    for (; ev; ev = batch ? ev->next : NULL, o = batch && o ? o->next : NULL) {
        int r = apply_event(d, sid, ev, o, actor, now, res->status, ids, err);
        if (r < 0) {
            db_rollback(d);
            cJSON_Delete(ids);
            /* Report the status as it is now, after the rollback. */
            if (err->status == 409 && !*err->session_status)
                snprintf(err->session_status, sizeof err->session_status, "%s", res->status);
            return -1;
        }
        if (r > 0) res->duplicates++;
        else res->accepted++;
    }
    if (db_commit(d)) {
        db_rollback(d);
        cJSON_Delete(ids);
        return fail(err, 500, "internal", NULL, "commit failed");
    }
    if (ids_out) *ids_out = ids;
    else cJSON_Delete(ids);
    return 0;
}

int ingest_resolve_call(db *d, const char *sid, const char *tcid, const char *expect,
                        const cJSON *result, const cJSON *error, const char *client_id,
                        const char *actor, ingest_result *res, ingest_err *err)
{
    int rc = -1;
    memset(res, 0, sizeof *res);
    if ((result == NULL) == (error == NULL))
        return fail(err, 422, "invalid_body", NULL, "send either a result or an error");
    if (result && !utf8_json_valid(result))
        return fail(err, 422, "invalid_field", "result", "result holds text that is not valid UTF-8");
    if (result && !ingest_json_finite(result))
        return fail(err, 422, "invalid_field", "result",
                    "result holds a number too large for JSON (such as 1e400)");

    cJSON *ev = cJSON_CreateObject(), *ids = cJSON_CreateArray();
    if (!ev || !ids) { fail(err, 500, "internal", NULL, "out of memory"); goto out; }
    cJSON_AddStringToObject(ev, "type", "tool_result");
    cJSON_AddStringToObject(ev, "tool_call_id", tcid);
    if (client_id) cJSON_AddStringToObject(ev, "id", client_id);
    cJSON_AddItemToObject(ev, result ? "result" : "error",
                          cJSON_Duplicate(result ? result : error, 1));
    if (ingest_secrets_mask(ev) < 0) { fail(err, 500, "internal", NULL, "out of memory"); goto out; }
    if (error && validate(cJSON_GetObjectItemCaseSensitive(ev, "error"), ev_tool_error, "error", err))
        goto out;

    if (db_begin(d)) { fail(err, 503, "busy", NULL, "the database is busy; retry"); goto out; }
    int e = session_status(d, sid, res->status);
    if (e) {
        fail(err, e > 0 ? 404 : 500, e > 0 ? "not_found" : "internal", NULL,
             e > 0 ? "no such session" : "database error");
        goto rollback;
    }
    /* A retry of a result already recorded is acknowledged, not refused. */
    if (client_id) {
        sqlite3_stmt *k = db_stmt(d, SQL_EVENT_BY_CLIENT_ID);
        if (!k) goto dberr;
        db_bind_text(k, 1, sid);
        db_bind_text(k, 2, client_id);
        int seen = db_step(k) == SQLITE_ROW;
        sqlite3_reset(k);
        if (seen) {
            res->duplicates = 1;
            db_rollback(d);
            rc = 0;
            goto out;
        }
    }
    /* The state is checked inside the write transaction: two people
     * completing the same task cannot both succeed. */
    char state[24] = "";
    int found = toolcall_state(d, sid, tcid, state);
    if (found < 0) goto dberr;
    if (!found) {
        fail(err, 404, "not_found", "tool_call_id", "no tool call \"%.64s\" in this session", tcid);
        goto rollback;
    }
    if (strcmp(state, expect) != 0) {
        snprintf(err->session_status, sizeof err->session_status, "%s", res->status);
        fail(err, 409, "tool_call_not_waiting", "tool_call_id",
             "tool call \"%.64s\" is %s, not %s", tcid, state, expect);
        goto rollback;
    }
    if (apply_event(d, sid, ev, NULL, actor, db_now_ms(), res->status, ids, err) < 0) goto rollback;
    res->accepted = 1;
    if (strcmp(expect, "waiting_for_human") == 0 && strcmp(res->status, "paused") == 0 &&
        lifecycle_apply(d, sid, LC_RESUME, actor, "task completed", NULL, res->status) != LC_OK)
        goto dberr;
    if (db_commit(d)) goto dberr;
    rc = 0;
    goto out;
dberr:
    fail(err, 500, "internal", NULL, "database error: %s", db_errmsg(d));
rollback:
    db_rollback(d);
out:
    cJSON_Delete(ev);
    cJSON_Delete(ids);
    return rc;
}

/* ------------------------------------------------ edits (API v1, issue 7) */

int ingest_session_patch(db *d, const char *sid, const cJSON *in_raw, const char *actor,
                         ingest_err *err)
{
    int rc = -1;
    char *metadata = NULL;
    cJSON *in = masked_copy(in_raw, err);
    if (!in) return -1;
    if (validate(in, patch_fields, "", err)) goto out;
    char detail[64] = "";
    for (const cJSON *m = in->child; m; m = m->next) {
        if (cJSON_IsNull(m) || strstr(detail, m->string)) continue;
        size_t len = strlen(detail);
        snprintf(detail + len, sizeof detail - len, "%s%s", len ? ", " : "", m->string);
    }
    if (!*detail) {
        fail(err, 422, "invalid_body", NULL, "send at least one of name, description, metadata");
        goto out;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(in, "metadata");
    if (cJSON_IsObject(md) && !(metadata = cJSON_PrintUnformatted(md))) {
        fail(err, 500, "internal", NULL, "out of memory");
        goto out;
    }
    if (db_begin(d)) { fail(err, 503, "busy", NULL, "the database is busy; retry"); goto out; }
    int64_t now = db_now_ms();
    sqlite3_stmt *st = db_stmt(d, SQL_SESSION_PATCH);
    if (!st) goto dberr;
    db_bind_text(st, 1, sid);
    db_bind_text(st, 2, str(in, "name", NULL));
    db_bind_text(st, 3, str(in, "description", NULL));
    db_bind_text(st, 4, metadata);
    sqlite3_bind_int64(st, 5, now);
    if (db_exec(st)) goto dberr;
    if (sqlite3_changes(db_handle(d)) == 0) {
        db_rollback(d);
        fail(err, 404, "not_found", NULL, "no session \"%.64s\"", sid);
        goto out;
    }
    if (audit(d, now, actor, "edit", sid, detail) || db_commit(d)) goto dberr;
    rc = 0;
    goto out;
dberr:
    fail(err, 500, "internal", NULL, "database error: %s", db_errmsg(d));
    db_rollback(d);
out:
    cJSON_free(metadata);
    cJSON_Delete(in);
    return rc;
}

/* A log line of POST /api/v1/sessions/{id}/logs. */
static const field log_fields[] = {
    { "severity", F_STRING, 0, 0, severities },
    { "body", F_STRING, 1, 64 * KB, NULL },
    { "time", F_TIME, 0, 0, NULL },
    { NULL, 0, 0, 0, NULL }
};

int ingest_logs(db *d, const char *sid, const cJSON *in_raw, const char *actor, cJSON **ids_out,
                ingest_err *err)
{
    int rc = -1;
    *ids_out = NULL;
    cJSON *ids = NULL, *in = masked_copy(in_raw, err);
    if (!in) return -1;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(in, "logs");
    if (list) {
        if (!cJSON_IsArray(list)) {
            fail(err, 422, "invalid_field", "logs", "logs must be an array");
            goto out;
        }
        for (const cJSON *m = in->child; m; m = m->next)
            if (strcmp(m->string, "logs") != 0) {
                fail(err, 422, "unknown_field", m->string,
                     "a batch has only \"logs\"; unknown field \"%.40s\"", m->string);
                goto out;
            }
        int n = cJSON_GetArraySize(list), i = 0;
        if (n == 0) { fail(err, 422, "invalid_field", "logs", "logs is empty"); goto out; }
        if (n > INGEST_MAX_BATCH) {
            fail(err, 413, "batch_too_large", "logs", "at most %d log lines per request",
                 INGEST_MAX_BATCH);
            goto out;
        }
        char prefix[32];
        for (const cJSON *l = list->child; l; l = l->next, i++) {
            snprintf(prefix, sizeof prefix, "logs[%d]", i);
            if (validate(l, log_fields, prefix, err)) goto out;
        }
    } else if (validate(in, log_fields, "", err)) {
        goto out;
    }
    if (!(ids = cJSON_CreateArray())) { fail(err, 500, "internal", NULL, "out of memory"); goto out; }
    if (db_begin(d)) { fail(err, 503, "busy", NULL, "the database is busy; retry"); goto out; }
    int64_t now = db_now_ms();
    char status[16];
    int e = session_status(d, sid, status);
    if (e) {
        db_rollback(d);
        if (e > 0) fail(err, 404, "not_found", NULL, "no session \"%.64s\"", sid);
        else fail(err, 500, "internal", NULL, "database error");
        goto out;
    }
    /* As a `log` event: the first activity of a pending session starts it. */
    if (strcmp(status, "pending") == 0 &&
        lifecycle_apply(d, sid, LC_START, actor, NULL, NULL, status) != LC_OK)
        goto dberr;
    for (const cJSON *l = list ? list->child : in; l; l = list ? l->next : NULL) {
        sqlite3_stmt *st = db_stmt(d, SQL_LOG_INSERT_ID);
        if (!st) goto dberr;
        db_bind_text(st, 1, sid);
        sqlite3_bind_int64(st, 2, time_ms(l, "time", now));
        db_bind_text(st, 3, str(l, "severity", "info"));
        db_bind_text(st, 4, str(l, "body", ""));
        int s = db_step(st);
        int64_t id = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (s != SQLITE_ROW) goto dberr;
        cJSON_AddItemToArray(ids, cJSON_CreateNumber((double)id));
    }
    sqlite3_stmt *t = db_stmt(d, SQL_SESSION_TOUCH);
    if (!t) goto dberr;
    db_bind_text(t, 1, sid);
    sqlite3_bind_int64(t, 2, now);
    if (db_exec(t) || db_commit(d)) goto dberr;
    *ids_out = ids;
    ids = NULL;
    rc = 0;
    goto out;
dberr:
    fail(err, 500, "internal", NULL, "database error: %s", db_errmsg(d));
    db_rollback(d);
out:
    cJSON_Delete(ids);
    cJSON_Delete(in);
    return rc;
}

/* Run a bound DELETE ... RETURNING client_id, is_error statement to its
 * end, adding the rows to *n and the error events among them to *errors.
 * 0 or -1. */
static int delete_returning(sqlite3_stmt *st, int *n, int *errors)
{
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        (*n)++;
        *errors += sqlite3_column_int(st, 1) != 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int ingest_event_delete(db *d, const char *sid, int64_t eid, const char *actor, ingest_err *err)
{
    if (db_begin(d)) return fail(err, 503, "busy", NULL, "the database is busy; retry");
    int64_t now = db_now_ms();
    char type[24] = "", tcid[160] = "", state[24] = "";
    sqlite3_stmt *st = db_stmt(d, SQL_EVENT_META);
    if (!st) goto dberr;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, eid);
    int rc = db_step(st);
    if (rc == SQLITE_ROW) {
        const char *c0 = (const char *)sqlite3_column_text(st, 0);
        const char *c1 = (const char *)sqlite3_column_text(st, 1);
        const char *c2 = (const char *)sqlite3_column_text(st, 2);
        snprintf(type, sizeof type, "%s", c0 ? c0 : "");
        snprintf(tcid, sizeof tcid, "%s", c1 ? c1 : "");
        snprintf(state, sizeof state, "%s", c2 ? c2 : "");
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        db_rollback(d);
        return fail(err, 404, "not_found", NULL, "no event %lld in this session", (long long)eid);
    }
    if (rc != SQLITE_ROW) goto dberr;
    int is_call = strcmp(type, "tool_call") == 0 && *tcid;
    /* A call still executing or waiting is part of the session's state
     * (pause and cancel wait on it, a task or client answers it). */
    if (is_call && (!strcmp(state, "running") || !strcmp(state, "waiting_for_client") ||
                    !strcmp(state, "waiting_for_human"))) {
        db_rollback(d);
        return fail(err, 409, "tool_call_active", NULL,
                    "tool call \"%.64s\" is %s: delete it once it has ended", tcid, state);
    }
    int n = 0, errors = 0;
    /* Idempotency keys first, while the events still name them. */
    st = db_stmt(d, SQL_EVENT_KEY_DELETE);
    if (!st) goto dberr;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, eid);
    db_bind_text(st, 3, is_call ? tcid : NULL);
    if (db_exec(st)) goto dberr;
    st = db_stmt(d, SQL_EVENT_DELETE);
    if (!st) goto dberr;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, eid);
    if (delete_returning(st, &n, &errors)) goto dberr;
    if (is_call) {
        /* Its results are part of the same activity entry: they go too. */
        st = db_stmt(d, SQL_EVENT_DELETE_RESULTS);
        if (!st) goto dberr;
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, tcid);
        if (delete_returning(st, &n, &errors)) goto dberr;
        st = db_stmt(d, SQL_TOOLCALL_DELETE);
        if (!st) goto dberr;
    } else if (strcmp(type, "tool_result") == 0 && *tcid) {
        st = db_stmt(d, SQL_TOOLCALL_CLEAR_RESULT);
        if (!st) goto dberr;
    } else {
        st = NULL;
    }
    if (st) {
        db_bind_text(st, 1, sid);
        db_bind_text(st, 2, tcid);
        if (db_exec(st)) goto dberr;
    }
    st = db_stmt(d, SQL_SESSION_EVENTS_DELETED);
    if (!st) goto dberr;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int(st, 2, n);
    sqlite3_bind_int(st, 3, errors);
    sqlite3_bind_int64(st, 4, now);
    if (db_exec(st)) goto dberr;
    char detail[64];
    snprintf(detail, sizeof detail, "event %lld (%s)", (long long)eid, type);
    if (audit(d, now, actor, "delete_event", sid, detail) || db_commit(d)) goto dberr;
    if (seal_enabled()) bg_wal_scrub(); /* its old page images leave the WAL too */
    return 0;
dberr:
    fail(err, 500, "internal", NULL, "database error: %s", db_errmsg(d));
    db_rollback(d);
    return -1;
}

int ingest_event_hide(db *d, const char *sid, int64_t eid, const char *reason, const char *actor,
                      ingest_err *err)
{
    if (db_begin(d)) return fail(err, 503, "busy", NULL, "the database is busy; retry");
    int64_t now = db_now_ms();
    sqlite3_stmt *st = db_stmt(d, SQL_EVENT_SET_HIDDEN);
    if (!st) goto dberr;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, eid);
    db_bind_text(st, 3, reason);
    if (db_exec(st)) goto dberr;
    if (sqlite3_changes(db_handle(d)) == 0) {
        db_rollback(d);
        return fail(err, 404, "not_found", NULL, "no event %lld in this session", (long long)eid);
    }
    st = db_stmt(d, SQL_SESSION_TOUCH);
    if (!st) goto dberr;
    db_bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, now);
    if (db_exec(st)) goto dberr;
    char detail[48];
    snprintf(detail, sizeof detail, "event %lld", (long long)eid);
    if (audit(d, now, actor, reason ? "hide_event" : "unhide_event", sid, detail) || db_commit(d))
        goto dberr;
    return 0;
dberr:
    fail(err, 500, "internal", NULL, "database error: %s", db_errmsg(d));
    db_rollback(d);
    return -1;
}
