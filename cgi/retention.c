/* retention: rules, the sweep, the payload cap (retention.h). */
#include "retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "db.h"

/* ------------------------------------------------------------ rules */

int retention_set(struct db *d, const char *project, int keep_days, long long max_payload,
                  const char *actor, char *err, size_t errlen)
{
    if (!project || !*project || strlen(project) > 200) {
        snprintf(err, errlen, "the project must be 1 to 200 characters");
        return 1;
    }
    if (keep_days < 0 || keep_days > RETENTION_MAX_DAYS) {
        snprintf(err, errlen, "keep_days must be 1 to %d, or null (forever)", RETENTION_MAX_DAYS);
        return 1;
    }
    if (max_payload != 0 && (max_payload < RETENTION_MIN_CAP || max_payload > RETENTION_MAX_CAP)) {
        snprintf(err, errlen, "max_payload_bytes must be %d to %lld, or null (no cap)", RETENTION_MIN_CAP,
                 (long long)RETENTION_MAX_CAP);
        return 1;
    }
    char detail[400];
    char days[32], cap[48];
    if (keep_days) snprintf(days, sizeof days, "%d days", keep_days);
    else snprintf(days, sizeof days, "forever");
    if (max_payload) snprintf(cap, sizeof cap, "payloads up to %lld bytes", max_payload);
    else snprintf(cap, sizeof cap, "payloads whole");
    snprintf(detail, sizeof detail, "project %s: keep %s, %s", project, days, cap);

    if (db_begin(d)) return -1;
    sqlite3_stmt *st = db_stmt(d, SQL_RETENTION_RULE_SET);
    if (!st) goto fail;
    db_bind_text(st, 1, project);
    if (keep_days) sqlite3_bind_int(st, 2, keep_days);
    else sqlite3_bind_null(st, 2);
    if (max_payload) sqlite3_bind_int64(st, 3, max_payload);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_int64(st, 4, db_now_ms());
    db_bind_text(st, 5, actor);
    if (db_exec(st) || db_audit(d, actor, "retention_set", detail) || db_commit(d)) goto fail;
    return 0;
fail:
    db_rollback(d);
    return -1;
}

int retention_clear(struct db *d, const char *project, const char *actor)
{
    if (db_begin(d)) return -1;
    sqlite3_stmt *st = db_stmt(d, SQL_RETENTION_RULE_DELETE);
    if (!st) goto fail;
    db_bind_text(st, 1, project);
    int rc = db_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        db_rollback(d);
        return 0;
    }
    if (rc != SQLITE_ROW) goto fail;
    char detail[300];
    snprintf(detail, sizeof detail, "project %s: the default again", project);
    if (db_audit(d, actor, "retention_clear", detail) || db_commit(d)) goto fail;
    return 1;
fail:
    db_rollback(d);
    return -1;
}

/* The current row of RETENTION_RULES / RETENTION_RULE_GET as JSON. */
static cJSON *rule_json(sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "project", (const char *)sqlite3_column_text(st, 0));
    if (sqlite3_column_type(st, 1) == SQLITE_NULL) cJSON_AddNullToObject(o, "keep_days");
    else cJSON_AddNumberToObject(o, "keep_days", (double)sqlite3_column_int64(st, 1));
    if (sqlite3_column_type(st, 2) == SQLITE_NULL) cJSON_AddNullToObject(o, "max_payload_bytes");
    else cJSON_AddNumberToObject(o, "max_payload_bytes", (double)sqlite3_column_int64(st, 2));
    cJSON_AddNumberToObject(o, "updated_at", (double)sqlite3_column_int64(st, 3));
    cJSON_AddStringToObject(o, "updated_by", (const char *)sqlite3_column_text(st, 4));
    return o;
}

cJSON *retention_rules_json(struct db *d)
{
    sqlite3_stmt *st = db_stmt(d, SQL_RETENTION_RULES);
    cJSON *a = st ? cJSON_CreateArray() : NULL;
    if (!a) return NULL;
    int rc;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        cJSON *o = rule_json(st);
        if (!o) break;
        cJSON_AddItemToArray(a, o);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        cJSON_Delete(a);
        return NULL;
    }
    return a;
}

cJSON *retention_rule_json(struct db *d, const char *project, int *found)
{
    *found = 0;
    sqlite3_stmt *st = db_stmt(d, SQL_RETENTION_RULE_GET);
    if (!st) { *found = -1; return NULL; }
    db_bind_text(st, 1, project);
    int rc = db_step(st);
    cJSON *o = NULL;
    if (rc == SQLITE_ROW) {
        o = rule_json(st);
        *found = o ? 1 : -1;
    } else if (rc != SQLITE_DONE) {
        *found = -1;
    }
    sqlite3_reset(st);
    return o;
}

/* ------------------------------------------------------------ the sweep */

/* The expired sessions of one batch. Their ids and projects are kept in
 * one string builder (NUL-separated), referred to by offset: one buffer to
 * free, whatever happened. */
typedef struct victim {
    size_t id, project; /* offsets into names */
    int    days;
} victim;

typedef struct victims {
    victim    *v;
    int        n, cap;
    long long  weight;   /* events, estimated */
    buf        names;
} victims;

static void victims_free(victims *vs)
{
    free(vs->v);
    buf_fini(&vs->names);
}

static const char *vname(const victims *vs, size_t off) { return buf_str(&vs->names) + off; }

static int room(const victims *vs, int max)
{
    return vs->n < max && (vs->n == 0 || vs->weight < RETENTION_BATCH_EVENTS);
}

/* Add the rows of st (id, events[, project]) until max or the events
 * bound; resets st. 0, or -1 (out of memory, database error). */
static int collect(sqlite3_stmt *st, const char *project, int days, int max, victims *vs)
{
    int rc = SQLITE_DONE;
    while (room(vs, max)) {
        rc = db_step(st);
        if (rc != SQLITE_ROW) break;
        if (vs->n == vs->cap) {
            int ncap = vs->cap ? vs->cap * 2 : 32;
            victim *nv = realloc(vs->v, (size_t)ncap * sizeof(victim));
            if (!nv) { rc = SQLITE_NOMEM; break; }
            vs->v = nv;
            vs->cap = ncap;
        }
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *p = project ? project : (const char *)sqlite3_column_text(st, 2);
        victim *v = &vs->v[vs->n++];
        v->id = vs->names.len;
        buf_add(&vs->names, id ? id : "", strlen(id ? id : "") + 1);
        v->project = vs->names.len;
        buf_add(&vs->names, p ? p : "", strlen(p ? p : "") + 1);
        v->days = days;
        vs->weight += sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return (rc == SQLITE_ROW || rc == SQLITE_DONE) && !vs->names.err ? 0 : -1;
}

/* The projects with a rule that expires (keep_days set): NUL-separated
 * names in *names, their days in *days (malloc'd). The count, or -1. */
static int expiring_rules(struct db *d, buf *names, int **days)
{
    sqlite3_stmt *st = db_stmt(d, SQL_RETENTION_RULES);
    if (!st) return -1;
    int n = 0, cap = 0, rc;
    *days = NULL;
    while ((rc = db_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_type(st, 1) == SQLITE_NULL) continue; /* forever */
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            int *nd = realloc(*days, (size_t)cap * sizeof(int));
            if (!nd) { rc = SQLITE_NOMEM; break; }
            *days = nd;
        }
        const char *p = (const char *)sqlite3_column_text(st, 0);
        buf_add(names, p ? p : "", strlen(p ? p : "") + 1);
        (*days)[n++] = sqlite3_column_int(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE && !names->err ? n : -1;
}

/* The expired sessions to delete in this batch. 0, or -1. */
static int find_victims(struct db *d, int64_t now, int default_days, int max, victims *vs)
{
    buf rules;
    buf_init(&rules);
    int *days = NULL;
    int nr = expiring_rules(d, &rules, &days), err = nr < 0;
    const char *name = buf_str(&rules);
    for (int i = 0; !err && i < nr && room(vs, max); i++, name += strlen(name) + 1) {
        sqlite3_stmt *st = db_stmt(d, SQL_RETENTION_EXPIRED_PROJECT);
        if (!st) { err = 1; break; }
        db_bind_text(st, 1, name);
        sqlite3_bind_int64(st, 2, now - (int64_t)days[i] * 86400000);
        sqlite3_bind_int(st, 3, max - vs->n);
        err = collect(st, name, days[i], max, vs) != 0;
    }
    free(days);
    buf_fini(&rules);
    /* The rest follow the default. */
    if (!err && default_days > 0 && room(vs, max)) {
        sqlite3_stmt *st = db_stmt(d, SQL_RETENTION_EXPIRED_DEFAULT);
        if (!st) return -1;
        sqlite3_bind_int64(st, 1, now - (int64_t)default_days * 86400000);
        sqlite3_bind_int(st, 2, max - vs->n);
        err = collect(st, NULL, default_days, max, vs) != 0;
    }
    return err ? -1 : 0;
}

/* qsort's comparison needs the names: the batch being sorted. */
static _Thread_local const victims *sorting;

static int by_project(const void *a, const void *b)
{
    const victim *x = a, *y = b;
    return strcmp(vname(sorting, x->project), vname(sorting, y->project));
}

int retention_sweep_batch(struct db *d, int64_t now, int default_days, int max_sessions,
                          retention_counts *c)
{
    victims vs = { NULL, 0, 0, 0, { 0 } };
    int deleted = -1;
    buf_init(&vs.names);
    if (max_sessions < 1) max_sessions = 1;
    if (db_begin(d)) return -1;
    if (find_victims(d, now, default_days, max_sessions, &vs)) goto fail;
    if (vs.n == 0) {
        db_rollback(d);
        victims_free(&vs);
        return 0;
    }
    /* One audit row per project of the batch. */
    sorting = &vs;
    qsort(vs.v, (size_t)vs.n, sizeof *vs.v, by_project);
    sorting = NULL;
    long long total_events = 0;
    deleted = 0;
    for (int i = 0; i < vs.n;) {
        long long sessions = 0, events = 0;
        int j = i;
        const char *project = vname(&vs, vs.v[i].project);
        for (; j < vs.n && !strcmp(vname(&vs, vs.v[j].project), project); j++) {
            sqlite3_stmt *st = db_stmt(d, SQL_RETENTION_EVENT_COUNT);
            if (!st) goto fail;
            db_bind_text(st, 1, vname(&vs, vs.v[j].id));
            if (db_step(st) != SQLITE_ROW) { sqlite3_reset(st); goto fail; }
            long long ev = sqlite3_column_int64(st, 0);
            sqlite3_reset(st);
            st = db_stmt(d, SQL_SESSION_DELETE);
            if (!st) goto fail;
            db_bind_text(st, 1, vname(&vs, vs.v[j].id));
            if (db_exec(st)) goto fail;
            if (sqlite3_changes(db_handle(d)) == 1) {
                sessions++;
                events += ev;
            }
        }
        if (sessions) {
            char detail[400];
            snprintf(detail, sizeof detail,
                     "project %s: deleted %lld session%s and %lld event%s that ended over %d day%s ago",
                     project, sessions, sessions == 1 ? "" : "s", events, events == 1 ? "" : "s",
                     vs.v[i].days, vs.v[i].days == 1 ? "" : "s");
            if (db_audit(d, RETENTION_ACTOR, "retention", detail)) goto fail;
        }
        deleted += (int)sessions;
        total_events += events;
        i = j;
    }
    if (db_commit(d)) goto fail;
    c->sessions += deleted;
    c->events += total_events;
    victims_free(&vs);
    return deleted;
fail:
    db_rollback(d);
    victims_free(&vs);
    return -1;
}

/* ------------------------------------------------------------ the cap */

long long retention_cap(struct db *d, const char *sid)
{
    sqlite3_stmt *st = db_stmt(d, SQL_RETENTION_CAP);
    if (!st) return -1;
    db_bind_text(st, 1, sid);
    int rc = db_step(st);
    long long cap = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? cap : -1;
}

/* Printed length of v, or 0 when it cannot be printed. */
static size_t printed_len(const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    size_t n = s ? strlen(s) : 0;
    cJSON_free(s);
    return n;
}

#define CUT_NOTE_MAX 48 /* " … [cut by retention: 1234567890 bytes]" */

/* Every string value in v (v and what it holds), into *out. */
static void strings_of(cJSON *v, cJSON ***out, size_t *n, size_t *cap)
{
    if (cJSON_IsString(v) && v->valuestring) {
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            cJSON **p = realloc(*out, nc * sizeof(cJSON *));
            if (!p) return;
            *out = p;
            *cap = nc;
        }
        (*out)[(*n)++] = v;
    }
    for (cJSON *c = v->child; c; c = c->next) strings_of(c, out, n, cap);
}

/* Cut every string longer than t bytes to about t (on a UTF-8 boundary)
 * with the note. 0, or -1 out of memory. */
static int cut_strings(cJSON **s, size_t n, size_t t)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = s[i]->valuestring;
        size_t len = strlen(v);
        if (len <= t + CUT_NOTE_MAX) continue;
        size_t keep = t;
        while (keep && ((unsigned char)v[keep] & 0xC0) == 0x80) keep--;
        size_t cap = keep + CUT_NOTE_MAX + 8;
        char *nv = malloc(cap);
        if (!nv) return -1;
        snprintf(nv, cap, "%.*s \xE2\x80\xA6 [cut by retention: %zu bytes]", (int)keep, v, len - keep);
        if (!cJSON_SetValuestring(s[i], nv)) {
            free(nv);
            return -1;
        }
        free(nv);
    }
    return 0;
}

int retention_cut(cJSON *v, size_t cap, size_t *printed)
{
    size_t len = printed_len(v);
    if (printed) *printed = len;
    if (!len) return -1;
    if (len <= cap) return 0;
    cJSON **s = NULL;
    size_t n = 0, scap = 0;
    strings_of(v, &s, &n, &scap);
    /* A few rounds: find the largest ceiling t whose cuts remove enough,
     * cut, measure again (escapes and notes make the estimate rough). */
    for (int round = 0; round < 4 && len > cap && n; round++) {
        size_t excess = len - cap, hi = 0;
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(s[i]->valuestring);
            if (l > hi) hi = l;
        }
        size_t lo = 0;
        while (lo < hi) { /* largest t with removed(t) >= excess */
            size_t t = (lo + hi + 1) / 2, removed = 0;
            for (size_t i = 0; i < n; i++) {
                size_t l = strlen(s[i]->valuestring);
                if (l > t + CUT_NOTE_MAX) removed += l - t - CUT_NOTE_MAX;
            }
            if (removed >= excess) lo = t;
            else hi = t - 1;
        }
        if (cut_strings(s, n, lo)) { free(s); return -1; }
        len = printed_len(v);
        if (!len) { free(s); return -1; }
    }
    free(s);
    /* Still too long (many small values): replace the largest fields of
     * the top level with the note, largest first. Fields no longer than
     * the note (an event's type, id, time) are never replaced: a value
     * that is nothing but those may stay over the cap. */
    while (len > cap && (cJSON_IsObject(v) || cJSON_IsArray(v))) {
        cJSON *big = NULL;
        size_t bigl = 0;
        for (cJSON *c = v->child; c; c = c->next) {
            size_t l = printed_len(c);
            if (l > bigl) { bigl = l; big = c; }
        }
        if (!big || bigl <= CUT_NOTE_MAX + 2) break;
        char note[CUT_NOTE_MAX + 8];
        snprintf(note, sizeof note, "[cut by retention: %zu bytes]", bigl);
        cJSON *repl = cJSON_CreateString(note);
        /* In an object the note keeps the field's name. */
        int ok = repl && (cJSON_IsObject(v) ? cJSON_ReplaceItemInObjectCaseSensitive(v, big->string, repl)
                                            : cJSON_ReplaceItemViaPointer(v, big, repl));
        if (!ok) {
            cJSON_Delete(repl);
            return -1;
        }
        len = printed_len(v);
        if (!len) return -1;
    }
    return 1;
}
