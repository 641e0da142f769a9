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

#endif
