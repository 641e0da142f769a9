/* lifecycle: the only place that decides a session's status change
 * (DESIGN.md section 4). Web, API, runtime, bulk and CLI all come here.
 *
 * lifecycle_next() is the pure transition table. lifecycle_apply() reads the
 * session, asks the table, writes the new status, a `lifecycle` event in the
 * activity and an audit entry — all inside the caller's transaction, so a
 * concurrent request sees either the old state or the new one, never a mix. */
#ifndef FD_LIFECYCLE_H
#define FD_LIFECYCLE_H

#include <stddef.h>

struct db;

typedef enum lc_action {
    LC_START,     /* runtime starts / first event: pending -> running */
    LC_PAUSE,     /* operator */
    LC_RESUME,    /* operator, or a completed manual task */
    LC_CANCEL,    /* operator */
    LC_RETRY,     /* runtime has trouble reaching its target: running -> retrying */
    LC_RECOVER,   /* runtime reports running again: retrying -> running */
    LC_COMPLETE,  /* runtime */
    LC_FAIL,      /* runtime */
    LC_SETTLE,    /* the last executing tool call ended: pausing -> paused, canceling -> canceled */
    LC_CONTINUE,  /* a follow-up message to a completed or failed session: -> running */
    LC__COUNT
} lc_action;

typedef enum lc_result {
    LC_OK = 0,      /* changed (or, for LC_SETTLE, nothing to settle) */
    LC_REFUSED,     /* the table does not allow it from the current status */
    LC_NOT_FOUND,
    LC_DB_ERROR
} lc_result;

const char *lc_action_name(lc_action a);
/* Action by name ("pause", "cancel", ...); -1 when unknown. */
int lc_action_parse(const char *name);

/* The status `action` leads to from `status`, given how many tool calls are
 * executing; NULL when not allowed. LC_SETTLE returns NULL when there is
 * nothing to settle. */
const char *lifecycle_next(const char *status, lc_action action, int executing);

/* The status as people read it ("paused" -> "Paused"); s itself if unknown. */
const char *lifecycle_status_label(const char *status);

/* Is the status terminal (completed, failed, canceled)? */
int lifecycle_is_terminal(const char *status);
/* May a new tool call start in this status? (running, retrying) */
int lifecycle_accepts_tool_calls(const char *status);

/* Apply `action` to session `id` inside the caller's open transaction, as
 * `actor`. On LC_OK and LC_REFUSED, from/to (16 bytes each, may be NULL)
 * receive the status before and after (to == from when refused). Cancel also
 * resolves tool calls waiting for a person or the client as canceled. */
lc_result lifecycle_apply(struct db *d, const char *id, lc_action action,
                          const char *actor, const char *detail,
                          char *from, char *to);

/* lifecycle_apply in a transaction of its own (operator actions, CLI). */
lc_result lifecycle_act(struct db *d, const char *id, lc_action action,
                        const char *actor, char *from, char *to);

/* Delete a terminal session with everything it owns (events, tool calls,
 * spans, logs, artifacts, evals, report), in a transaction of its own; the
 * audit keeps who deleted it, when, and its last status. LC_REFUSED (with
 * *from set) when the session is not terminal. */
lc_result lifecycle_delete(struct db *d, const char *id, const char *actor, char *from);

#endif
