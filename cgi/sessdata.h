/* sessdata: what a session holds besides its own row — artifacts, logs, the
 * report, eval runs, the trace, the sessions it called — read as JSON and
 * written. Shared by h_api_data.c (the session data API), h_api_sessions.c
 * (`include=` of GET /api/v1/sessions/{id}) and the CLI (`flightdeck
 * sessions get`), so every one shows the same objects.
 *
 * Queries only: request parsing, validation and HTTP statuses stay with the
 * callers. Functions that fill an array append to a cJSON array the caller
 * owns; cJSON objects returned through a pointer belong to the caller.
 * Database errors return -1. */
#ifndef FD_SESSDATA_H
#define FD_SESSDATA_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "auth.h"
#include "buf.h"
#include "db.h"

/* The parts `include=` may name. */
enum sd_part {
    SD_EVENTS    = 1 << 0, /* events (API shape, hidden ones left out), first 1000 */
    SD_MESSAGES  = 1 << 1, /* "events" holding only user and assistant messages */
    SD_CHILDREN  = 1 << 2, /* sessions this one called directly */
    SD_TRACE     = 1 << 3, /* spans, by start */
    SD_LOGS      = 1 << 4, /* first 1000 log lines */
    SD_ARTIFACTS = 1 << 5, /* artifacts without content, newest first */
    SD_EVALS     = 1 << 6, /* eval runs */
    SD_AGENTS    = 1 << 7, /* every descendant session, with its depth */
    SD_TIMELINE  = 1 << 8, /* the spans as a tree: "children" by parent_span_id */
    SD_USER_DATA = 1 << 9, /* the session's user_data (JSON as sent, secrets masked) */
    SD_ROUTE     = 1 << 10 /* {method, url, route_id}: the request the session served */
};

#define SD_INCLUDE_LIST_MAX 1000  /* rows per included part (events, logs, trace, ...) */
#define SD_ARTIFACT_ID_LEN  24    /* "art_" + 20 */
#define SD_CURSOR_MAX       96    /* bytes of an artifacts cursor, NUL included */

/* Log severities, lowest first. */
enum sd_severity { SD_DEBUG, SD_INFO, SD_WARN, SD_ERROR };
/* The rank of a severity name ("debug" .. "error"), or -1. */
int sessdata_severity(const char *name);

/* The part names, for messages that list them. */
#define SESSDATA_INCLUDE_PARTS \
    "events, messages, children, trace, timeline, logs, artifacts, evals, agents, user_data, route"

/* Parse a comma list of part names ("trace,logs"; spaces around names and
 * empty items are ignored) into *mask. 0, or -1 with the first unknown name
 * copied into bad (n bytes). NULL list: mask 0. */
int sessdata_include_parse(const char *list, unsigned *mask, char *bad, size_t n);

/* One session in its API shape (as GET /api/v1/sessions/{id}), or NULL
 * when it does not exist (*missing = 1) or on error (*missing = 0). */
cJSON *sessdata_session(db *d, const char *id, int *missing);

/* Add the parts of mask to session object o ("events", "children",
 * "trace", "logs", "artifacts", "evals", "agents", "timeline": arrays;
 * "user_data": any JSON; "route": {method, url, route_id}, copied from o's
 * own members). `who` decides
 * what a child or descendant in a project the caller cannot read shows (id,
 * name, status, structure, "restricted": true); NULL means full access (the
 * CLI). 0 or -1. */
int sessdata_include(db *d, cJSON *o, const char *id, unsigned mask, const principal *who);

/* One event of session sid in the API shape (as GET .../events shows it,
 * hidden or not) into *ev. 0; 1 when sid has no event event_id; -1. */
int sessdata_event(db *d, const char *sid, int64_t event_id, cJSON **ev);

/* ---- tasks ---- */

/* Columns of SQL_TASK_LIST and SQL_TASK_GET (db_sql.h). */
enum sd_task_col { SDT_EVENT, SDT_SESSION, SDT_NAME, SDT_AGENT, SDT_STATUS, SDT_TOOL, SDT_TCID,
                   SDT_ARGS, SDT_STARTED };

/* The current row of TASK_LIST or TASK_GET as GET /api/v1/tasks shows a
 * task, or NULL when out of memory. The caller owns the object. */
cJSON *sessdata_task_json(sqlite3_stmt *st);

/* ---- artifacts ---- */

/* Store an artifact of session sid: a new id ("art_" + 20 random chars)
 * goes to id_out (SD_ARTIFACT_ID_LEN + 1 bytes), the artifact's API object
 * (no content) to *meta. Also marks the session updated. 0; 1 when the
 * session no longer exists; -1. */
int sessdata_artifact_add(db *d, const char *sid, const char *name, const char *media_type,
                          const char *origin, const void *content, size_t size, char *id_out,
                          cJSON **meta);

/* Artifacts of sid, newest first, without content: up to limit objects
 * {id,name,media_type,size,origin,created_at} appended to arr. `after` is a
 * cursor from an earlier page or NULL. When more follow, next (SD_CURSOR_MAX
 * bytes) receives the cursor of the next page, else "". 0; 1 when the
 * cursor is not one this list made; -1. */
int sessdata_artifacts(db *d, const char *sid, const char *after, int limit, cJSON *arr,
                       char *next);

/* Artifact aid of session sid: its API object to *meta and, when content
 * is not NULL, its bytes appended to content (binary, NUL bytes and all).
 * 0; 1 when there is no such artifact; -1. */
int sessdata_artifact_read(db *d, const char *sid, const char *aid, cJSON **meta, buf *content);

/* ---- logs and eval runs ---- */

/* Log lines of sid with severity at least min_sev and id above after,
 * oldest first: up to limit {id,time,severity,body} appended to arr. *next
 * is the id to continue after when more follow, else 0. 0 or -1. */
int sessdata_logs(db *d, const char *sid, int min_sev, int64_t after, int limit, cJSON *arr,
                  int64_t *next);

/* Eval runs of sid with id above after, in creation order: up to limit
 * {id,eval_id,state,passed,result,created_at} appended to arr; *next as for
 * logs. 0 or -1. */
int sessdata_evals(db *d, const char *sid, int64_t after, int limit, cJSON *arr, int64_t *next);

/* Record an eval run of sid (run_id 0) or update run run_id of sid (NULL
 * arguments keep what it has). state is "pending", "success" or "error";
 * result is JSON text. The run's API object goes to *run. 0; 1 when there
 * is no such run (update) or session (create); -1. */
int sessdata_eval_put(db *d, const char *sid, int64_t run_id, const char *eval_id,
                      const char *state, const char *result, cJSON **run);

/* ---- report ---- */

/* Replace the report of sid with JSON text `report`. 0; 1 when the session
 * does not exist; -1. */
int sessdata_report_set(db *d, const char *sid, const char *report);

/* The report of sid parsed into *report (NULL when the session has none)
 * and the session's name into name (n bytes). 0; 1 when the session does
 * not exist; -1. */
int sessdata_report_get(db *d, const char *sid, cJSON **report, char *name, size_t n);

#endif
