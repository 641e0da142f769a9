/* ingest: turns what a runtime sends into rows. Session creation and event
 * batches are validated completely before anything is written; a batch is
 * applied in one transaction, so it is recorded whole or not at all.
 * Status changes go through lifecycle.c. */
#ifndef FD_INGEST_H
#define FD_INGEST_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* Why an ingest call refused its input. */
typedef struct ingest_err {
    int         status;     /* HTTP status: 404, 409, 422, 500 */
    const char *code;       /* "invalid_field", "session_not_running", ... */
    char        field[64];  /* "events[2].content"; "" when not about one field */
    char        message[200];
    char        session_status[16]; /* current status, for 409 */
} ingest_err;

#define INGEST_MAX_BATCH 1000
#define INGEST_ID_MAX    64

/* Validate a session-create body and insert it as `pending` (or at once
 * `running` when it says "status":"running"). The id is taken from the body
 * ("id", [A-Za-z0-9_-]{1,64}) or generated ("ses_" + 20 chars) into id_out
 * (INGEST_ID_MAX + 1 bytes). trigger_source defaults to `actor`. 0, or -1
 * with *err (409 when the id exists, 422 for bad fields). */
int ingest_session_create(struct db *d, const cJSON *in, const char *actor,
                          char *id_out, ingest_err *err);

/* Outcome of an event batch. */
typedef struct ingest_result {
    int  accepted;           /* events recorded now */
    int  duplicates;         /* events skipped: their id was already recorded */
    char status[16];         /* the session's status after the batch */
} ingest_result;

/* Validate and apply one event (an object with "type") or a batch
 * ({"events":[...]}) to session `id`. `ids` (may be NULL) receives an array
 * of {"id","seq","duplicate"} per event, in order; caller owns it. 0, or -1
 * with *err; on -1 nothing was written. */
int ingest_events(struct db *d, const char *id, const cJSON *in, const char *actor,
                  ingest_result *res, cJSON **ids, ingest_err *err);

/* A person (manual task) or the client resolves tool call `tool_call_id` of
 * session `id`, which must be in state `expect` ("waiting_for_human" or
 * "waiting_for_client"), with `result` (any JSON) or `error` (an object
 * {category, message}; exactly one of the two). Records the tool_result
 * event as `actor`; completing a task also resumes the session when it is
 * paused. One transaction. `client_id` (may be NULL) is an idempotency key:
 * a retry whose first copy was recorded is acknowledged (res->duplicates)
 * instead of refused. 0, or -1 with *err (404 unknown call, 409 not
 * waiting, 422 bad error object). */
int ingest_resolve_call(struct db *d, const char *id, const char *tool_call_id,
                        const char *expect, const cJSON *result, const cJSON *error,
                        const char *client_id, const char *actor, ingest_result *res,
                        ingest_err *err);

/* Insert one events row of session `sid` inside the caller's open write
 * transaction, with the next sequence number, and no check of the session's
 * status: for what is recorded after the fact (OTLP, otlp.c) and for
 * ingest itself. body is the event's JSON text; tool_call_id and client_id
 * may be NULL; times in ms. *event_id and *seq receive its ids. 0 or -1. */
int ingest_event_insert(struct db *d, const char *sid, const char *type, const char *client_id,
                        int64_t time, const char *actor, const char *tool_call_id,
                        const char *body, int64_t now, int64_t *event_id, int64_t *seq);

/* Is s a valid client-chosen id ([A-Za-z0-9_-]{1,64})? */
int ingest_id_valid(const char *s);

/* ---- text that C would cut short ----
 * cJSON keeps strings NUL-terminated, so a string holding U+0000 (a raw NUL
 * byte, or the escape \u0000) would be cut at it without a word: a name, a
 * message, an id ("ses_a\u0000x" would act on "ses_a"). Every JSON body is
 * checked with this before it is used (main.c, for every route; the data
 * API and the Work Center form again), and refused with 422 invalid_body.
 * 1 when json[0..n) holds a NUL byte, a \u0000 escape, or a \u escape not
 * followed by 4 hex digits (cJSON reads that as U+0000 too); an escaped
 * backslash before "u" is text, not an escape. Else 0. */
int ingest_json_has_nul(const char *json, size_t n);

/* Are all numbers inside v finite? JSON has no infinity, but cJSON reads
 * 1e400 as one and would write it back as null: such a value is refused
 * (422) rather than silently changed. Depth is bounded by the parser. */
int ingest_json_finite(const cJSON *v);

/* ---- secrets ----
 * A runtime marks a value secret by sending the object {"$secret": value}
 * (exactly one member) in its place, anywhere in a session-create body, an
 * event, a log line, a client tool result or a PATCH. Every ingest entry
 * point masks such objects to the string "****" before validating and
 * storing, so nothing shown or searched ever holds the value. Only the
 * arguments of a tool call are also kept as sent, secrets unwrapped to
 * their values, in tool_call_secrets (read by the client-tool-calls API). */
#define INGEST_SECRET_KEY  "$secret"
#define INGEST_SECRET_MASK "****"

/* Replace every secret marker inside container j (an object or array; j
 * itself is left) with "****". Returns how many, or -1 (out of memory). */
int ingest_secrets_mask(cJSON *j);
/* Replace every secret marker inside container j with its value (markers
 * within the value unwrapped too). Returns how many, or -1. */
int ingest_secrets_unwrap(cJSON *j);

/* ---- edits ---- */

/* PATCH a session: {"name"?, "description"?, "metadata"? (object, replaces
 * the old one)}; null members and absent ones keep their value; at least
 * one must be given. Secrets are masked. Audited as "edit" by `actor`. 0,
 * or -1 with *err (404, 422). */
int ingest_session_patch(struct db *d, const char *id, const cJSON *in, const char *actor,
                         ingest_err *err);

/* Append log lines to session `id`: one {"severity"?, "body", "time"?} or
 * {"logs":[...]} (1 to INGEST_MAX_BATCH), validated whole, written in one
 * transaction (a pending session starts, as for a `log` event). *ids
 * receives the new log ids (caller owns). 0, or -1 with *err (404, 413,
 * 422); on -1 nothing was written. */
int ingest_logs(struct db *d, const char *id, const cJSON *in, const char *actor, cJSON **ids,
                ingest_err *err);

/* Delete event `event_id` of session `id` from every table that holds it:
 * events (and search_events, by trigger), for a tool_call event its
 * tool_calls row, its unmasked arguments and its tool_result events, for a
 * tool_result event the result kept on its call; idempotency keys; the
 * session's error count and feed count follow. Audited as "delete_event".
 * 0, or -1 with *err (404 no such event here, 409 tool_call_active when the
 * call is running or waiting). */
int ingest_event_delete(struct db *d, const char *id, int64_t event_id, const char *actor,
                        ingest_err *err);

/* Hide event `event_id` of session `id` with `reason` ("manual"), or unhide
 * it (reason NULL). Audited as "hide_event" / "unhide_event". 0, or -1 with
 * *err (404). */
int ingest_event_hide(struct db *d, const char *id, int64_t event_id, const char *reason,
                      const char *actor, ingest_err *err);

#endif
