/* Every route handler, one h_*.c file per area. Handlers run after the
 * dispatcher has checked the route's permission; they check per-session
 * (per-project) access themselves. */
#ifndef FD_HANDLERS_H
#define FD_HANDLERS_H

#include "app.h"

/* h_health.c */
hres h_health(ctx *c);
hres h_metrics(ctx *c);
/* h_retention.c */
hres h_retention_list(ctx *c);
hres h_retention_put(ctx *c);
hres h_retention_delete(ctx *c);
hres h_root(ctx *c);

/* h_login.c */
hres h_login_form(ctx *c);
hres h_login_post(ctx *c);
hres h_logout(ctx *c);

/* h_history.c: the History page */
hres h_page_sessions(ctx *c);
/* h_session.c: the session detail page, its share links and downloads */
hres h_page_session(ctx *c);
hres h_page_payload(ctx *c);
hres h_share_create(ctx *c);
hres h_share_revoke(ctx *c);
hres h_share_view(ctx *c);
hres h_share_report(ctx *c);
hres h_share_artifact(ctx *c);
hres h_share_payload(ctx *c);
/* A session row (columns SESSION_ROW_COLS of db_cols.h, in order) as the
 * view object both pages show: names, status, trigger and source, times,
 * tokens, cost, the quick actions the viewer may take now, and
 * bulk_actions. Caller owns the result (documented in docs/templates.md). */
struct sqlite3_stmt;
cJSON *session_row_view(ctx *c, struct sqlite3_stmt *st);
/* Columns of SESSION_ROW_COLS (db_cols.h), in order. */
enum { R_ID, R_KIND, R_AGENT, R_NAME, R_STATUS, R_TRIGGER, R_SOURCE, R_PROJECT, R_ENV,
       R_PARENT, R_PARENT_NAME, R_PARENT_PROJECT, R_STARTED, R_ENDED, R_CREATED, R_NOW, R_PTOK, R_CTOK,
       R_COST, R_ERROR, R_STEP, R_PROMPT, R_INPUTS, R_METADATA, R_FINAL, R_SORT_TIME };
/* Add key only when s is non-empty: templates test optional values with
 * sections, and an absent key is false everywhere. */
void view_add_opt(cJSON *v, const char *key, const char *s);
/* Where a page form goes back to: its return_to field when that is a path
 * on this site ("/" then not '/' or '\\', no control character or space
 * anywhere: a browser drops tabs and newlines from a URL, so "/\t/evil"
 * would leave the site), else dflt. Used by every form that redirects. */
const char *page_return_to(ctx *c, const char *dflt);

/* h_api_sessions.c */
hres h_api_sessions_create(ctx *c);
hres h_api_sessions_list(ctx *c);
hres h_api_session_get(ctx *c);
hres h_api_events_append(ctx *c);
hres h_api_events_list(ctx *c);
/* API v1, issue 7: PATCH a session (write); one event: GET (read), DELETE,
 * hide, unhide (write). */
hres h_api_session_patch(ctx *c);
hres h_api_event_get(ctx *c);
hres h_api_event_delete(ctx *c);
hres h_api_event_hide(ctx *c);
hres h_api_event_unhide(ctx *c);
/* Answer an ingest failure with its status; 409s carry the session status.
 * (Declared with a forward struct so handlers.h needs no ingest.h.) */
struct ingest_err;
hres answer_ingest_err(ctx *c, const struct ingest_err *e);

/* h_actions.c: lifecycle over the API */
hres h_api_pause(ctx *c);
hres h_api_resume(ctx *c);
hres h_api_cancel(ctx *c);
hres h_api_delete(ctx *c);
hres h_api_bulk(ctx *c);
hres h_api_control(ctx *c);
hres h_api_input(ctx *c);
hres h_api_client_calls(ctx *c);

/* Operator actions by name ("pause", "resume", "cancel", "delete"), shared
 * by the API and the page forms: index or -1; the permission it needs; and
 * applying it (through lifecycle.c) to a session the caller may act on. */
#include "lifecycle.h"
int action_find(const char *name);
perm action_perm(int a);
lc_result action_apply(ctx *c, int a, const char *id, char *from, char *to);
const char *action_name(int a);
/* One session of a bulk request: checks read access (else ACT_NOT_FOUND)
 * and the action's permission in its project, then applies it. Returns an
 * act_reason, or -1 on a database error; *msg says why in words; from/to
 * receive the statuses. */
enum act_reason { ACT_OK, ACT_NOT_FOUND, ACT_FORBIDDEN, ACT_REFUSED };
int action_try(ctx *c, int a, const char *id, char from[16], char to[16], const char **msg);
/* The API error code of a reason ("not_found" ...), NULL for ACT_OK. */
const char *action_reason_code(int e);

/* h_api_data.c: artifacts, logs, report and eval runs of a session. The
 * download and report handlers also serve the pages (cookie routes). */
hres h_api_artifact_create(ctx *c);
hres h_api_artifacts_list(ctx *c);
hres h_api_artifact_get(ctx *c);
hres h_artifact_download(ctx *c);
hres h_api_logs_list(ctx *c);
hres h_api_logs_append(ctx *c);
hres h_api_report_put(ctx *c);
hres h_report_get(ctx *c);
hres h_api_eval_create(ctx *c);
hres h_api_evals_list(ctx *c);

/* h_tasks.c: the Work Center */
hres h_api_tasks(ctx *c);

/* h_otlp.c: OpenTelemetry OTLP/HTTP receivers */
hres h_otlp_traces(ctx *c);
hres h_otlp_logs(ctx *c);
hres h_api_task_complete(ctx *c);
hres h_page_tasks(ctx *c);
hres h_page_task_complete(ctx *c);

/* h_admin.c: users, grants, tokens, audit */
hres h_admin_root(ctx *c);
hres h_admin_users(ctx *c);
hres h_admin_user_create(ctx *c);
hres h_admin_user_password(ctx *c);
hres h_admin_user_disable(ctx *c);
hres h_admin_user_enable(ctx *c);
hres h_admin_user_grant(ctx *c);
hres h_admin_grant_revoke(ctx *c);
hres h_admin_tokens(ctx *c);
hres h_admin_token_create(ctx *c);
hres h_admin_token_revoke(ctx *c);
hres h_admin_audit(ctx *c);
hres h_admin_retention(ctx *c);
hres h_admin_retention_set(ctx *c);
hres h_admin_retention_clear(ctx *c);

/* h_pages.c: quick-action forms (POST /sessions/{id}/pause ...) and bulk */
hres h_page_action(ctx *c);
hres h_page_bulk(ctx *c);
/* h_pages.c: live-update token of the History page (GET /changes) */
hres h_page_changes(ctx *c);
/* h_views.c: saved views of the History page */
hres h_view_save(ctx *c);
hres h_view_delete(ctx *c);

#endif
