/* Every route handler, one h_*.c file per area. Handlers run after the
 * dispatcher has checked the route's permission; they check per-session
 * (per-project) access themselves. */
#ifndef FD_HANDLERS_H
#define FD_HANDLERS_H

#include "app.h"

/* h_health.c */
hres h_health(ctx *c);
hres h_root(ctx *c);

/* h_login.c */
hres h_login_form(ctx *c);
hres h_login_post(ctx *c);
hres h_logout(ctx *c);

/* h_pages.c: the History page and the session detail page */
hres h_page_sessions(ctx *c);
hres h_page_session(ctx *c);

/* h_api_sessions.c */
hres h_api_sessions_create(ctx *c);
hres h_api_sessions_list(ctx *c);
hres h_api_session_get(ctx *c);
hres h_api_events_append(ctx *c);
hres h_api_events_list(ctx *c);
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

/* h_tasks.c: the Work Center */
hres h_api_tasks(ctx *c);
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

/* h_pages.c: quick-action forms (POST /sessions/{id}/pause ...) */
hres h_page_action(ctx *c);

#endif
