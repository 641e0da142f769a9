/* Every SQL statement of the app, as DB_SQL_ENUM(ID, "SQL"), expanded into
 * the enum db_sql_id (db.h) and the text table (db.c). Parameters are
 * positional (?1, ?2...) and documented beside each statement. */

#include "db_cols.h"

/* ---- transactions (db_begin, db_commit): prepared once, not parsed on
 * every commit ---- */
DB_SQL_ENUM(TX_BEGIN, "BEGIN IMMEDIATE")
DB_SQL_ENUM(TX_COMMIT, "COMMIT")
DB_SQL_ENUM(TX_SAVEPOINT, "SAVEPOINT fd_step")
DB_SQL_ENUM(TX_RELEASE, "RELEASE fd_step")

/* ---- sessions ---- */
/* ?1 id ?2 kind ?3 agent ?4 name ?5 description ?6 trigger_type ?7 trigger_source
 * ?8 actor ?9 project ?10 environment ?11 cluster ?12 deployment ?13 thread_id
 * ?14 parent_session_id ?15 parent_tool_call_id ?16 prompt ?17 inputs ?18 metadata
 * ?19 user_data ?20 method ?21 url ?22 route ?23 now */
DB_SQL_ENUM(SESSION_INSERT,
    "INSERT INTO sessions (id, kind, agent, name, description, trigger_type, trigger_source, "
    "actor, project, environment, cluster, deployment, thread_id, parent_session_id, "
    "parent_tool_call_id, prompt, inputs, metadata, user_data, method, url, route, "
    "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
    "?14, ?15, fd_seal(?16, 'sessions.prompt', ?1), fd_seal(?17, 'sessions.inputs', ?1), ?18, "
    "fd_seal(?19, 'sessions.user_data', ?1), ?20, ?21, ?22, ?23, ?23)")
/* ?1 id -> status, project, executing_calls */
DB_SQL_ENUM(SESSION_STATE,
    "SELECT status, project, executing_calls FROM sessions WHERE id = ?1")
/* ?1 id ?2 status ?3 now: sets started_at on first activity, ended_at on a terminal status */
DB_SQL_ENUM(SESSION_SET_STATUS,
    "UPDATE sessions SET status = ?2, updated_at = ?3, "
    /* Canceled or failed before it ever ran: a session that never started has no start. */
    "started_at = coalesce(started_at, CASE WHEN ?2 NOT IN ('pending','canceled','failed') THEN ?3 END), "
    "ended_at = CASE WHEN ?2 IN ('completed','failed','canceled') THEN ?3 ELSE NULL END "
    "WHERE id = ?1")
/* ?1 id ?2 count ?3 now -> the first of `count` sequence numbers reserved */
DB_SQL_ENUM(SESSION_RESERVE_SEQ,
    "UPDATE sessions SET next_seq = next_seq + ?2, updated_at = max(updated_at, ?3) WHERE id = ?1 "
    "RETURNING next_seq - ?2")
/* ?1 id ?2 delta */
DB_SQL_ENUM(SESSION_ADD_EXECUTING,
    "UPDATE sessions SET executing_calls = max(0, executing_calls + ?2) WHERE id = ?1")
/* ?1 id ?2 prompt_tokens ?3 completion_tokens ?4 cost_micros ?5 model (or NULL) */
DB_SQL_ENUM(SESSION_ADD_USAGE,
    "UPDATE sessions SET prompt_tokens = prompt_tokens + ?2, "
    "completion_tokens = completion_tokens + ?3, llm_cost_micros = llm_cost_micros + ?4, "
    "total_cost_micros = total_cost_micros + ?4, "
    "models = CASE WHEN ?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(models) WHERE value = ?5) "
    "THEN models ELSE json_insert(models, '$[#]', ?5) END WHERE id = ?1")
/* ?1 id ?2 error_message ?3 error_step */
DB_SQL_ENUM(SESSION_SET_ERROR,
    "UPDATE sessions SET error_message = fd_seal(?2, 'sessions.error_message', ?1), error_step = ?3 "
    "WHERE id = ?1")
/* ?1 id ?2 final_response */
DB_SQL_ENUM(SESSION_SET_FINAL,
    "UPDATE sessions SET final_response = fd_seal(?2, 'sessions.final_response', ?1) WHERE id = ?1")
/* ?1 id */
DB_SQL_ENUM(SESSION_ADD_RETRY,
    "UPDATE sessions SET retry_count = retry_count + 1 WHERE id = ?1")
/* ?1 id */
DB_SQL_ENUM(SESSION_GET_API,
    "SELECT " SESSION_API_COLS " FROM sessions WHERE id = ?1")
DB_SQL_ENUM(SESSION_GET_ROW,
    "SELECT " SESSION_ROW_COLS " FROM sessions s WHERE id = ?1")
/* The session list (History page, API, CLI) is composed by sessq.c. */
/* Agent names for the filter, from readable projects only. ?1 projects JSON
 * or NULL (all). A loose index scan (migration 008): each distinct project,
 * then each distinct agent within it, one index seek per value, instead of
 * reading every session. */
#define LOOSE_PROJECTS \
    "p(project) AS (SELECT min(project) FROM sessions " \
    " UNION ALL SELECT (SELECT min(s.project) FROM sessions s WHERE s.project > p.project) " \
    " FROM p WHERE p.project IS NOT NULL)"
DB_SQL_ENUM(SESSION_AGENTS,
    "WITH RECURSIVE " LOOSE_PROJECTS ", "
    "pa(project, agent) AS ("
    " SELECT project, (SELECT min(s.agent) FROM sessions s WHERE s.project = p.project) FROM p "
    " WHERE project IS NOT NULL AND (?1 IS NULL OR project IN (SELECT value FROM json_each(?1))) "
    " UNION ALL SELECT project, (SELECT min(s.agent) FROM sessions s "
    "  WHERE s.project = pa.project AND s.agent > pa.agent) FROM pa WHERE agent IS NOT NULL) "
    "SELECT DISTINCT agent FROM pa WHERE agent IS NOT NULL AND agent <> '' ORDER BY agent LIMIT 200")
/* ?1 parent id */
DB_SQL_ENUM(SESSION_CHILDREN,
    "SELECT id, name, agent, status, project FROM sessions WHERE parent_session_id = ?1 "
    "ORDER BY sort_time, id LIMIT 500")
DB_SQL_ENUM(SESSION_COUNT, "SELECT count(*) FROM sessions")
/* ?1 id: a terminal session and, by cascade, every row it owns */
DB_SQL_ENUM(SESSION_DELETE,
    "DELETE FROM sessions WHERE id = ?1 AND status IN ('completed','failed','canceled')")
/* What a runtime polls: ?1 id -> status, last event sequence, project */
DB_SQL_ENUM(SESSION_CONTROL,
    "SELECT status, next_seq - 1, project FROM sessions WHERE id = ?1")

/* ---- events ---- */
/* ?1 session ?2 seq ?3 type ?4 client_id ?5 time ?6 actor ?7 tool_call_id ?8 body ?9 now -> id */
DB_SQL_ENUM(EVENT_INSERT,
    "INSERT INTO events (session_id, seq, type, client_id, time, actor, tool_call_id, body, "
    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, fd_seal(?8, 'events.body', ?1, ?2), ?9) RETURNING id")
/* ?1 session ?2 client_id -> id, seq (both NULL for a key without an events row) */
DB_SQL_ENUM(EVENT_BY_CLIENT_ID,
    "SELECT id, seq FROM events WHERE session_id = ?1 AND client_id = ?2 "
    "UNION ALL SELECT NULL, NULL FROM event_keys WHERE session_id = ?1 AND client_id = ?2 "
    "LIMIT 1")
/* ?1 session ?2 client_id */
DB_SQL_ENUM(EVENT_KEY_INSERT,
    "INSERT OR IGNORE INTO event_keys (session_id, client_id) VALUES (?1, ?2)")
/* Events in the API shape. ?1 session ?2 after seq ?3 limit ?4 include hidden (0/1) ?5 type or NULL */
DB_SQL_ENUM(EVENT_LIST_API,
    "SELECT id, seq, type, client_id, " SQL_RFC3339("time") " AS time, actor, tool_call_id, "
    "fd_open(body, 'events.body', session_id, seq) AS data_json, hide_reason FROM events WHERE session_id = ?1 AND seq > ?2 "
    "AND (?4 OR hide_reason IS NULL) AND (?5 IS NULL OR type = ?5) ORDER BY seq LIMIT ?3")
/* The activity feed with each tool call's current state. ?1 session ?2 after seq ?3 limit */
DB_SQL_ENUM(EVENT_LIST_FEED,
    "SELECT e.id, e.seq, e.type, e.time, e.actor, " SEALED_COL_A("e", "body", "events", "e.session_id, e.seq") ", "
    "e.hide_reason, t.id AS tc_id, t.tool, t.kind AS tc_kind, "
    SEALED_COL_A("t", "arguments", "tool_calls", "t.session_id, t.id") ", "
    SEALED_COL_A("t", "result", "tool_calls", "t.session_id, t.id") ", t.error_category, "
    SEALED_COL_A("t", "error_message", "tool_calls", "t.session_id, t.id") ", t.state, t.retries, t.started_at AS tc_started, t.ended_at AS tc_ended, "
    "t.called_session_id, c.name AS called_name, c.status AS called_status, c.project AS called_project "
    "FROM events e LEFT JOIN tool_calls t ON e.type = 'tool_call' AND t.session_id = e.session_id "
    "AND t.id = e.tool_call_id LEFT JOIN sessions c ON c.id = t.called_session_id "
    "WHERE e.session_id = ?1 AND e.seq > ?2 AND e.hide_reason IS NULL AND e.type <> 'tool_result' "
    "ORDER BY e.seq LIMIT ?3")

/* ---- tool calls ---- */
/* ?1 session ?2 id ?3 tool ?4 kind ?5 arguments ?6 state ?7 started ?8 called_session ?9 event_id */
DB_SQL_ENUM(TOOLCALL_INSERT,
    "INSERT INTO tool_calls (session_id, id, tool, kind, arguments, state, started_at, "
    "called_session_id, event_id) VALUES (?1, ?2, ?3, ?4, fd_seal(?5, 'tool_calls.arguments', ?1, ?2), "
    "?6, ?7, ?8, ?9)")
/* ?1 session ?2 id -> state */
DB_SQL_ENUM(TOOLCALL_STATE,
    "SELECT state FROM tool_calls WHERE session_id = ?1 AND id = ?2")
/* ?1 session ?2 id ?3 state ?4 result ?5 error_category ?6 error_message ?7 retries ?8 ended */
DB_SQL_ENUM(TOOLCALL_FINISH,
    "UPDATE tool_calls SET state = ?3, result = fd_seal(?4, 'tool_calls.result', ?1, ?2), "
    "error_category = ?5, error_message = fd_seal(?6, 'tool_calls.error_message', ?1, ?2), "
    "retries = ?7, ended_at = ?8, result_size = coalesce(length(?4), 0) "
    "WHERE session_id = ?1 AND id = ?2")
/* Manual tasks waiting for a person, oldest first. ?1 projects JSON or NULL (all) ?2 limit */
DB_SQL_ENUM(TASK_LIST,
    "SELECT t.event_id, t.session_id, s.name, s.agent, s.status, t.tool, t.id, "
    SEALED_COL_A("t", "arguments", "tool_calls", "t.session_id, t.id") ", "
    "t.started_at FROM tool_calls t JOIN sessions s ON s.id = t.session_id "
    "WHERE t.state = 'waiting_for_human' "
    "AND (?1 IS NULL OR s.project IN (SELECT value FROM json_each(?1))) "
    "ORDER BY t.started_at, t.event_id LIMIT ?2")
/* A task by its id (the tool_call event id) -> session, tool call id, state, project */
DB_SQL_ENUM(TASK_GET,
    "SELECT t.session_id, t.id, t.state, s.project FROM tool_calls t "
    "JOIN sessions s ON s.id = t.session_id WHERE t.event_id = ?1")
/* Calls waiting for the client, arguments unmasked: the secrets the runtime
 * marked ({"$secret": v}) come from tool_call_secrets (006). ?1 session */
DB_SQL_ENUM(CLIENT_CALLS,
    "SELECT t.id AS tool_call_id, t.tool, "
    "coalesce(fd_open(k.arguments, 'tool_call_secrets.arguments', k.session_id, k.tool_call_id), "
    "fd_open(t.arguments, 'tool_calls.arguments', t.session_id, t.id)) AS arguments_json, "
    "t.event_id, " SQL_RFC3339("t.started_at") " AS started_at FROM tool_calls t "
    "LEFT JOIN tool_call_secrets k ON k.session_id = t.session_id AND k.tool_call_id = t.id "
    "WHERE t.session_id = ?1 AND t.state = 'waiting_for_client' ORDER BY t.started_at, t.event_id")
/* A session that completes or fails ends the calls still executing: they
 * can no longer report to anyone. ?1 session ?2 now */
DB_SQL_ENUM(TOOLCALL_CANCEL_RUNNING,
    "UPDATE tool_calls SET state = 'canceled', ended_at = ?2 WHERE session_id = ?1 "
    "AND state = 'running'")
DB_SQL_ENUM(SESSION_CLEAR_EXECUTING, "UPDATE sessions SET executing_calls = 0 WHERE id = ?1")
/* A continued session starts a new outcome. ?1 id */
DB_SQL_ENUM(SESSION_CLEAR_OUTCOME,
    "UPDATE sessions SET error_message = '', error_step = '', final_response = '' WHERE id = ?1")
/* Cancel resolves calls waiting for a person or the client at once. ?1 session ?2 now */
DB_SQL_ENUM(TOOLCALL_CANCEL_WAITING,
    "UPDATE tool_calls SET state = 'canceled', ended_at = ?2 WHERE session_id = ?1 "
    "AND state IN ('waiting_for_human','waiting_for_client')")

/* ---- users, tokens, grants, sign-in ---- */
DB_SQL_ENUM(USER_BY_NAME,
    "SELECT id, password_hash, disabled FROM users WHERE username = ?1")
/* ?1 username ?2 hash ?3 now -> id */
DB_SQL_ENUM(USER_INSERT,
    "INSERT INTO users (username, password_hash, created_at) VALUES (?1, ?2, ?3) RETURNING id")
/* ?1 username ?2 hash */
DB_SQL_ENUM(USER_SET_PASSWORD,
    "UPDATE users SET password_hash = ?2 WHERE username = ?1")
DB_SQL_ENUM(USER_COUNT, "SELECT count(*) FROM users")
DB_SQL_ENUM(GRANTS_OF_USER, "SELECT role, project FROM grants WHERE user_id = ?1")
/* ?1 user_id ?2 token_id ?3 role ?4 project ?5 now */
DB_SQL_ENUM(GRANT_INSERT,
    "INSERT INTO grants (user_id, token_id, role, project, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
/* ?1 name ?2 hash ?3 now ?4 expires -> id */
DB_SQL_ENUM(TOKEN_INSERT,
    "INSERT INTO api_tokens (name, token_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4) "
    "RETURNING id")
/* A live token with its grants, in one statement (one read transaction:
 * every commit empties a shared connection's page cache, so each statement
 * that starts one reads its pages again). One row per grant; one row with a
 * NULL role for a token with none. ?1 hash ?2 now -> id, name, last used,
 * role, project */
DB_SQL_ENUM(TOKEN_AUTH,
    "SELECT t.id, t.name, coalesce(t.last_used_at, 0), g.role, g.project "
    "FROM api_tokens t LEFT JOIN grants g ON g.token_id = t.id "
    "WHERE t.token_hash = ?1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?2)")
/* Last use, written at most once a minute per token. ?1 id ?2 now */
DB_SQL_ENUM(TOKEN_TOUCH,
    "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1 "
    "AND (last_used_at IS NULL OR last_used_at < ?2 - 60000)")
/* ?1 hash ?2 user ?3 csrf ?4 now ?5 expires */
DB_SQL_ENUM(WEBSESS_INSERT,
    "INSERT INTO web_sessions (id_hash, user_id, csrf, created_at, expires_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)")
/* ?1 hash ?2 now -> user id, username, csrf */
DB_SQL_ENUM(WEBSESS_GET,
    "SELECT w.user_id, u.username, w.csrf FROM web_sessions w JOIN users u ON u.id = w.user_id "
    "WHERE w.id_hash = ?1 AND w.expires_at > ?2 AND u.disabled = 0")
DB_SQL_ENUM(WEBSESS_DELETE, "DELETE FROM web_sessions WHERE id_hash = ?1")
DB_SQL_ENUM(WEBSESS_PURGE, "DELETE FROM web_sessions WHERE expires_at <= ?1")

/* ---- audit ---- */
/* ?1 time ?2 actor ?3 action ?4 session ?5 from ?6 to ?7 detail (sealed:
 * a failure's detail is the session's error message) */
DB_SQL_ENUM(AUDIT_INSERT,
    "INSERT INTO audit (id, time, actor, action, session_id, from_status, to_status, detail) "
    "SELECT n, ?1, ?2, ?3, ?4, ?5, ?6, fd_seal(?7, 'audit.detail', n) "
    "FROM (SELECT coalesce(max(id), 0) + 1 AS n FROM audit)")

/* ---- schema ---- */
/* The search queue (migration 007) into the index, once per transaction. */
DB_SQL_ENUM(SEARCH_PENDING_ANY, "SELECT EXISTS (SELECT 1 FROM search_pending)")
DB_SQL_ENUM(SEARCH_PENDING_INDEX,
    "INSERT INTO search_events (rowid, sid, body) SELECT id, sid, body FROM search_pending ORDER BY id")
DB_SQL_ENUM(SEARCH_PENDING_CLEAR, "DELETE FROM search_pending")
/* Changes committed by other connections since this one last asked (pcache). */
DB_SQL_ENUM(DATA_VERSION, "PRAGMA data_version")
DB_SQL_ENUM(SCHEMA_VERSION, "SELECT coalesce(max(version), 0) FROM schema_migrations")
/* ?1 version ?2 name ?3 now */
DB_SQL_ENUM(SCHEMA_RECORD,
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)")

/* ---- logs and spans ---- */
/* ?1 session ?2 time ?3 severity ?4 body */
DB_SQL_ENUM(LOG_INSERT,
    "INSERT INTO logs (id, session_id, time, severity, body) SELECT n, ?1, ?2, ?3, "
    "fd_seal(?4, 'logs.body', n) FROM (SELECT coalesce(max(id), 0) + 1 AS n FROM logs)")
/* ?1 session ?2 trace ?3 span ?4 parent ?5 name ?6 start_ns ?7 end_ns ?8 status ?9 attributes */
DB_SQL_ENUM(SPAN_UPSERT,
    "INSERT INTO spans (session_id, trace_id, span_id, parent_span_id, name, start_ns, end_ns, "
    "status, attributes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, fd_seal(?9, 'spans.attributes', ?1, ?3)) "
    "ON CONFLICT (session_id, span_id) DO UPDATE SET end_ns = excluded.end_ns, "
    "status = excluded.status, attributes = excluded.attributes")

/* ---- demo ---- */
/* The demo loader (demo.c) plays each step of a simulated run at the real
 * clock, then moves what the run wrote back to simulated time.
 * ?2 lists the steps in order as JSON [[mark, delta, first_event], ...]: the
 * real time (ms) just before the step, how far back its rows go, and the
 * lowest events.id it may have written. An event belongs to the last step
 * whose first_event is at most its id; any other value to the last step whose
 * mark is at or before it. Only values at or after ?3 (the real time the load
 * began) move: earlier ones are times the runtime supplied or already moved.
 * ?1 session ?2 steps ?3 load start ms */
#define DEMO_DELTA(col) \
    "coalesce((SELECT json_extract(value, '$[1]') FROM json_each(?2) " \
    "WHERE json_extract(value, '$[0]') <= " col " ORDER BY key DESC LIMIT 1), 0)"
#define DEMO_MOVE(col) \
    col " = CASE WHEN " col " >= ?3 THEN " col " - " DEMO_DELTA(col) " ELSE " col " END"
#define DEMO_EVENT_DELTA \
    "coalesce((SELECT json_extract(value, '$[1]') FROM json_each(?2) " \
    "WHERE json_extract(value, '$[2]') <= events.id ORDER BY key DESC LIMIT 1), 0)"
DB_SQL_ENUM(DEMO_SHIFT_SESSION,
    "UPDATE sessions SET " DEMO_MOVE("created_at") ", " DEMO_MOVE("updated_at") ", "
    DEMO_MOVE("started_at") ", " DEMO_MOVE("ended_at") " WHERE id = ?1")
DB_SQL_ENUM(DEMO_SHIFT_EVENTS,
    "UPDATE events SET "
    "time = CASE WHEN time >= ?3 THEN time - " DEMO_EVENT_DELTA " ELSE time END, "
    "created_at = created_at - " DEMO_EVENT_DELTA
    " WHERE session_id = ?1 AND created_at >= ?3")
DB_SQL_ENUM(DEMO_SHIFT_TOOLCALLS,
    "UPDATE tool_calls SET " DEMO_MOVE("started_at") ", " DEMO_MOVE("ended_at")
    " WHERE session_id = ?1 AND (started_at >= ?3 OR ended_at >= ?3)")
DB_SQL_ENUM(DEMO_SHIFT_LOGS,
    "UPDATE logs SET " DEMO_MOVE("time") " WHERE session_id = ?1 AND time >= ?3")
/* span times are nanoseconds */
DB_SQL_ENUM(DEMO_SHIFT_SPANS,
    "UPDATE spans SET "
    "start_ns = CASE WHEN start_ns >= ?3 * 1000000 THEN start_ns - "
    DEMO_DELTA("start_ns / 1000000") " * 1000000 ELSE start_ns END, "
    "end_ns = CASE WHEN end_ns >= ?3 * 1000000 THEN end_ns - "
    DEMO_DELTA("end_ns / 1000000") " * 1000000 ELSE end_ns END "
    "WHERE session_id = ?1 AND (start_ns >= ?3 * 1000000 OR end_ns >= ?3 * 1000000)")
DB_SQL_ENUM(DEMO_SHIFT_AUDIT,
    "UPDATE audit SET " DEMO_MOVE("time") " WHERE time >= ?3 AND session_id = ?1")
DB_SQL_ENUM(DEMO_SHIFT_ARTIFACTS,
    "UPDATE artifacts SET " DEMO_MOVE("created_at") " WHERE session_id = ?1 AND created_at >= ?3")
DB_SQL_ENUM(DEMO_SHIFT_EVALS,
    "UPDATE eval_runs SET " DEMO_MOVE("created_at") " WHERE session_id = ?1 AND created_at >= ?3")
/* The id the next event will get at least (events.id only grows). */
DB_SQL_ENUM(DEMO_NEXT_EVENT_ID, "SELECT coalesce(max(id), 0) + 1 FROM events")

/* ---- access: throttling, users, grants, tokens, audit (002) ---- */
/* ?1 key -> failures, locked_until */
DB_SQL_ENUM(THROTTLE_GET, "SELECT failures, locked_until FROM login_throttle WHERE key = ?1")
/* One more failure for ?1 at ?2; from the 5th on, lock for 2^(n-5) s, at most 15 min. */
DB_SQL_ENUM(THROTTLE_FAIL,
    "INSERT INTO login_throttle (key, failures, last_failure, locked_until) VALUES (?1, 1, ?2, 0) "
    "ON CONFLICT (key) DO UPDATE SET "
    "failures = CASE WHEN ?2 - last_failure > 900000 THEN 1 ELSE failures + 1 END, "
    "last_failure = ?2, "
    "locked_until = CASE WHEN ?2 - last_failure > 900000 OR failures + 1 < 5 THEN 0 "
    "ELSE ?2 + min(900000, 1000 * (1 << min(20, failures + 1 - 5))) END")
DB_SQL_ENUM(THROTTLE_CLEAR, "DELETE FROM login_throttle WHERE key = ?1")
/* Users with their grants as JSON. */
DB_SQL_ENUM(USER_LIST,
    "SELECT u.id, u.username, u.disabled, u.created_at, "
    "(SELECT json_group_array(json_object('id', g.id, 'role', g.role, 'project', g.project)) "
    " FROM grants g WHERE g.user_id = u.id) AS grants_json FROM users u ORDER BY u.username")
DB_SQL_ENUM(USER_BY_ID, "SELECT id, username, disabled FROM users WHERE id = ?1")
/* ?1 id ?2 disabled (0/1) */
DB_SQL_ENUM(USER_SET_DISABLED, "UPDATE users SET disabled = ?2 WHERE id = ?1")
/* ?1 id ?2 hash */
DB_SQL_ENUM(USER_SET_PASSWORD_ID, "UPDATE users SET password_hash = ?2 WHERE id = ?1")
/* The same password hashed with today's parameters: ?1 id ?2 new ?3 old
 * (unless it was changed meanwhile). */
DB_SQL_ENUM(USER_REHASH, "UPDATE users SET password_hash = ?2 WHERE id = ?1 AND password_hash = ?3")
/* Sign a user out everywhere (disabled, password changed). */
DB_SQL_ENUM(WEBSESS_DELETE_USER, "DELETE FROM web_sessions WHERE user_id = ?1")
/* ?1 grant id -> who and what was revoked */
DB_SQL_ENUM(GRANT_DELETE,
    "DELETE FROM grants WHERE id = ?1 RETURNING user_id, token_id, role, project")
/* ?1 user ?2 role ?3 project (NULL = all) -> grant id */
DB_SQL_ENUM(GRANT_FIND,
    "SELECT id FROM grants WHERE user_id = ?1 AND role = ?2 AND project IS ?3")
/* Tokens with their grants; never the hash. */
DB_SQL_ENUM(TOKEN_LIST,
    "SELECT t.id, t.name, t.created_at, t.last_used_at, t.expires_at, t.revoked_at, "
    "(SELECT json_group_array(json_object('id', g.id, 'role', g.role, 'project', g.project)) "
    " FROM grants g WHERE g.token_id = t.id) AS grants_json FROM api_tokens t ORDER BY t.name")
/* ?1 id ?2 now -> name (no row when there is no such active token) */
DB_SQL_ENUM(TOKEN_REVOKE,
    "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING name")
DB_SQL_ENUM(TOKEN_BY_NAME, "SELECT id FROM api_tokens WHERE name = ?1")
/* Newest first, filterable. ?1 actor ?2 action ?3 session ?4 before id ?5 limit */
DB_SQL_ENUM(AUDIT_LIST,
    "SELECT id, time, actor, action, session_id, from_status, to_status, "
    SEALED_COL("detail", "audit", "id") " FROM audit "
    "WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action = ?2) "
    "AND (?3 IS NULL OR session_id = ?3) AND (?4 IS NULL OR id < ?4) "
    "ORDER BY id DESC LIMIT ?5")

/* ---- History page: saved views, filter options, live changes ---- */
/* ?1 user id: the user's own views and every shared one, own first. */
DB_SQL_ENUM(VIEW_LIST,
    "SELECT v.id, v.name, v.query, v.shared, v.owner_id = ?1 AS mine, u.username "
    "FROM saved_views v JOIN users u ON u.id = v.owner_id "
    "WHERE v.owner_id = ?1 OR v.shared = 1 ORDER BY mine DESC, lower(v.name) LIMIT 200")
/* ?1 owner ?2 name ?3 query ?4 shared ?5 now. Same name again replaces the view. */
DB_SQL_ENUM(VIEW_SAVE,
    "INSERT INTO saved_views (owner_id, name, query, shared, created_at) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (owner_id, name) DO UPDATE SET query = excluded.query, shared = excluded.shared")
/* ?1 view id ?2 user id ?3 1 when the user is an admin (may delete shared views of others) */
DB_SQL_ENUM(VIEW_DELETE,
    "DELETE FROM saved_views WHERE id = ?1 AND (owner_id = ?2 OR (?3 = 1 AND shared = 1))")
/* Projects that hold sessions, for the filter. ?1 readable projects JSON or NULL (all) */
DB_SQL_ENUM(SESSION_PROJECTS,
    "WITH RECURSIVE " LOOSE_PROJECTS " SELECT project FROM p WHERE project IS NOT NULL "
    "AND (?1 IS NULL OR project IN (SELECT value FROM json_each(?1))) ORDER BY project LIMIT 200")
/* Newest change to any session (the live-update token; deletes bump the
 * in-process generation instead). Served by sessions_by_updated. */
DB_SQL_ENUM(SESSION_LAST_UPDATE, "SELECT coalesce(max(updated_at), 0) FROM sessions")

/* Session data (artifacts, logs, report, eval runs): db_sql_data.h. */
#include "db_sql_data.h"

/* ---- session detail page (h_session.c) ---- */
/* ?1 id: SESSION_ROW_COLS, then the detail columns (enum detail_col in h_session.c). */
DB_SQL_ENUM(SESSION_DETAIL,
    "SELECT " SESSION_ROW_COLS ", thread_id, parent_tool_call_id, actor, cluster, deployment, "
    "models, services, cpu_time_ns, method, url, route, " SEALED_COL("user_data", "sessions", "id") ", "
    "updated_at, description, retry_count, llm_cost_micros, " SEALED_COL("report", "sessions", "id") ", "
    /* feed entries: events less tool results (merged into their calls) and
     * hidden events, each counted from a small index range */
    "next_seq - 1 - deleted_events - (SELECT count(*) FROM events WHERE session_id = s.id AND type = 'tool_result') "
    "- (SELECT count(*) FROM events WHERE session_id = s.id AND hide_reason IS NOT NULL "
    "AND type <> 'tool_result'), "
    "(SELECT count(*) FROM sessions c WHERE c.parent_session_id = s.id), "
    "(SELECT count(*) FROM spans WHERE session_id = s.id), "
    "(SELECT count(*) FROM logs WHERE session_id = s.id), "
    "(SELECT count(*) FROM artifacts WHERE session_id = s.id), "
    "(SELECT count(*) FROM eval_runs WHERE session_id = s.id), "
    "(SELECT count(*) FROM events WHERE session_id = s.id AND hide_reason IS NOT NULL), "
    "(SELECT min(seq) FROM (SELECT seq FROM events WHERE session_id = s.id AND type = 'error' "
    "AND hide_reason IS NULL UNION ALL SELECT e.seq FROM tool_calls t JOIN events e ON e.id = t.event_id "
    "WHERE t.session_id = s.id AND t.state = 'failed' AND e.hide_reason IS NULL)), "
    "(SELECT count(*) FROM tool_calls WHERE session_id = s.id) "
    "FROM sessions s WHERE id = ?1")

/* The activity window, one set of statements per feed filter so that each
 * can use its own index (a sparse filter must not scan 20,000 events).
 * ?1 session ?2 seq bound ?3 limit ?4 include hidden ?6 inline payload
 * limit (bytes: larger arguments/results are left out, download only).
 * FWD: seq >= ?2 ascending; BACK: seq <= ?2 descending (the caller
 * reverses). FEED_* is the filter over events `e`. */
#define FEED_ALL       "1"
#define FEED_REASONING "e.type IN ('user_message','assistant_message','thought')"
#define FEED_TOOLS     "e.type = 'tool_call'"
/* Error events and failed tool calls (partial index tool_calls_failed). */
#define FEED_ERRORS \
    "e.seq IN (SELECT seq FROM events WHERE session_id = ?1 AND type = 'error' UNION ALL " \
    "SELECT e2.seq FROM tool_calls t2 JOIN events e2 ON e2.id = t2.event_id " \
    "WHERE t2.session_id = ?1 AND t2.state = 'failed')"
#define EVENT_WINDOW_SQL(filter, seq, cmp, dir) \
    "SELECT e.id, e.seq, e.type, e.time, e.actor, " SEALED_COL_A("e", "body", "events", "e.session_id, e.seq") ", " \
    "e.hide_reason, t.id AS tc_id, t.tool, t.kind AS tc_kind, " \
    "CASE WHEN fd_size(t.arguments) > ?6 THEN NULL " \
    "ELSE fd_open(t.arguments, 'tool_calls.arguments', t.session_id, t.id) END AS arguments, " \
    "CASE WHEN t.result_size > ?6 THEN NULL " \
    "ELSE fd_open(t.result, 'tool_calls.result', t.session_id, t.id) END AS result, t.error_category, " \
    SEALED_COL_A("t", "error_message", "tool_calls", "t.session_id, t.id") ", t.state, t.retries, t.started_at AS tc_started, t.ended_at AS tc_ended, " \
    "t.called_session_id, c.name AS called_name, c.status AS called_status, c.project AS called_project, " \
    "fd_size(t.arguments), t.result_size " \
    "FROM events e LEFT JOIN tool_calls t ON e.type = 'tool_call' AND t.session_id = e.session_id " \
    "AND t.id = e.tool_call_id LEFT JOIN sessions c ON c.id = t.called_session_id " \
    "WHERE e.session_id = ?1 AND " seq " " cmp " ?2 AND (?4 OR e.hide_reason IS NULL) AND e.type <> 'tool_result' " \
    "AND " filter " ORDER BY e.seq " dir " LIMIT ?3"
/* Entries of the feed in all and before seq ?2 (the window's position): the
 * visible ones are all of them (covering index events_by_type) less the
 * hidden ones (partial index events_hidden), so no row is read. ?1 ?2 ?4. */
#define EVENT_COUNT_SQL(filter) \
    "SELECT sum(n), sum(b) FROM (" \
    "SELECT count(*) AS n, coalesce(sum(e.seq < ?2), 0) AS b FROM events e " \
    "WHERE e.session_id = ?1 AND e.type <> 'tool_result' AND " filter " UNION ALL " \
    "SELECT -count(*), -coalesce(sum(e.seq < ?2), 0) FROM events e WHERE NOT ?4 AND " \
    "e.session_id = ?1 AND e.hide_reason IS NOT NULL AND e.type <> 'tool_result' AND " filter ")"
/* Where the window before seq ?2 starts: the ?3-th entry back (or the first). */
#define EVENT_PREV_SQL(filter, seq) \
    "SELECT coalesce((SELECT e.seq FROM events e WHERE e.session_id = ?1 AND " seq " <= ?2 " \
    "AND (?4 OR e.hide_reason IS NULL) AND e.type <> 'tool_result' AND " filter " " \
    "ORDER BY e.seq DESC LIMIT 1 OFFSET ?3 - 1), 1)"
/* seq is how the window's bound names e.seq: "+e.seq" keeps the planner from
 * scanning by seq range where the filter's own list is the better driver. */
#define FEED_STATEMENTS(NAME, filter, seq, count) \
    DB_SQL_ENUM(FEED_##NAME##_FWD, EVENT_WINDOW_SQL(filter, seq, ">=", "ASC")) \
    DB_SQL_ENUM(FEED_##NAME##_BACK, EVENT_WINDOW_SQL(filter, seq, "<=", "DESC")) \
    DB_SQL_ENUM(FEED_##NAME##_COUNT, count) \
    DB_SQL_ENUM(FEED_##NAME##_PREV, EVENT_PREV_SQL(filter, seq))
FEED_STATEMENTS(ALL, FEED_ALL, "e.seq", EVENT_COUNT_SQL(FEED_ALL))
FEED_STATEMENTS(REASONING, FEED_REASONING, "e.seq", EVENT_COUNT_SQL(FEED_REASONING))
FEED_STATEMENTS(TOOLS, FEED_TOOLS, "e.seq", EVENT_COUNT_SQL(FEED_TOOLS))
/* Errors are few: counted from their own list, reading their rows. */
FEED_STATEMENTS(ERRORS, FEED_ERRORS, "+e.seq",
    "SELECT count(*), coalesce(sum(e.seq < ?2), 0) FROM events e WHERE e.session_id = ?1 "
    "AND (?4 OR e.hide_reason IS NULL) AND " FEED_ERRORS)
/* The next error entry after seq ?2 (error event or failed tool call). ?1 session ?3 include hidden */
DB_SQL_ENUM(EVENT_NEXT_ERROR,
    "SELECT min(seq) FROM (SELECT seq FROM events WHERE session_id = ?1 AND type = 'error' AND seq > ?2 "
    "AND (?3 OR hide_reason IS NULL) "
    "UNION ALL SELECT e.seq FROM tool_calls t JOIN events e ON e.id = t.event_id "
    "WHERE t.session_id = ?1 AND t.state = 'failed' AND e.seq > ?2 AND (?3 OR e.hide_reason IS NULL))")
/* Raw payloads for download. ?1 session ?2 tool_call event id */
DB_SQL_ENUM(TOOLCALL_PAYLOAD,
    "SELECT " SEALED_COL_A("t", "arguments", "tool_calls", "t.session_id, t.id") ", "
    SEALED_COL_A("t", "result", "tool_calls", "t.session_id, t.id") ", t.tool "
    "FROM tool_calls t JOIN events e ON e.id = t.event_id "
    "WHERE t.session_id = ?1 AND e.id = ?2")
/* Tokens and cost per model from usage events. ?1 session */
DB_SQL_ENUM(USAGE_BY_MODEL,
    "SELECT coalesce(json_extract(b, '$.model'), ''), count(*), "
    "sum(coalesce(json_extract(b, '$.prompt_tokens'), 0)), "
    "sum(coalesce(json_extract(b, '$.completion_tokens'), 0)), "
    "sum(coalesce(json_extract(b, '$.cost'), 0)) "
    "FROM (SELECT fd_open(body, 'events.body', session_id, seq) AS b FROM events WHERE session_id = ?1 AND type = 'usage') "
    "GROUP BY 1 ORDER BY 5 DESC LIMIT 100")
/* Spans by start. ?1 session ?2 limit */
DB_SQL_ENUM(SPAN_LIST,
    "SELECT span_id, parent_span_id, trace_id, name, start_ns, end_ns, status, "
    SEALED_COL("attributes", "spans", "session_id, span_id") ", " SEALED_COL("raw", "spans", "session_id, span_id") " "
    "FROM spans WHERE session_id = ?1 ORDER BY start_ns, id LIMIT ?2")
/* Tool calls by start (the waterfall when no spans were sent). ?1 session ?2 limit */
DB_SQL_ENUM(TOOLCALL_TIMELINE,
    "SELECT id, tool, state, started_at, ended_at FROM tool_calls WHERE session_id = ?1 "
    "ORDER BY started_at, id LIMIT ?2")
/* Log lines at or above a severity, oldest first. ?1 session ?2 min rank
 * (0 debug, 1 info, 2 warn, 3 error) ?3 after id ?4 limit */
DB_SQL_ENUM(LOG_WINDOW,
    "SELECT id, time, severity, " SEALED_COL("body", "logs", "id") " FROM logs WHERE session_id = ?1 AND id > ?3 "
    "AND (CASE severity WHEN 'debug' THEN 0 WHEN 'info' THEN 1 WHEN 'warn' THEN 2 "
    "WHEN 'warning' THEN 2 WHEN 'error' THEN 3 ELSE 3 END) >= ?2 ORDER BY id LIMIT ?4")
/* ?1 session */
DB_SQL_ENUM(ARTIFACT_LIST_PAGE,
    "SELECT id, name, media_type, size, origin, created_at FROM artifacts WHERE session_id = ?1 "
    "ORDER BY created_at DESC, id DESC LIMIT 500")
DB_SQL_ENUM(EVAL_LIST_PAGE,
    "SELECT eval_id, state, " SEALED_COL("result", "eval_runs", "id") ", created_at FROM eval_runs WHERE session_id = ?1 "
    "ORDER BY created_at, id LIMIT 500")
/* Every session this one called, directly or not (depth <= 10), in tree
 * order. ?1 session -> id, name, agent, status, project, depth, cost, tokens */
DB_SQL_ENUM(SESSION_TREE,
    "WITH RECURSIVE tree(id, depth, path) AS ("
    " SELECT id, 1, printf('%020d', sort_time) || id FROM sessions WHERE parent_session_id = ?1"
    " UNION ALL SELECT s.id, t.depth + 1, t.path || '/' || printf('%020d', s.sort_time) || s.id"
    " FROM sessions s JOIN tree t ON s.parent_session_id = t.id WHERE t.depth < 10) "
    "SELECT s.id, s.name, s.agent, s.status, s.project, t.depth, s.total_cost_micros, "
    "s.prompt_tokens + s.completion_tokens FROM tree t JOIN sessions s ON s.id = t.id "
    "ORDER BY t.path LIMIT 1000")

/* ---- share links (share.c) ---- */
/* ?1 user id -> username (enabled users only) */
DB_SQL_ENUM(USER_NAME, "SELECT username FROM users WHERE id = ?1 AND disabled = 0")
DB_SQL_ENUM(APP_KEY_GET, "SELECT key FROM app_keys WHERE name = ?1")
/* ?1 session ?2 user ?3 now ?4 expires -> id */
DB_SQL_ENUM(SHARE_INSERT,
    "INSERT INTO share_links (session_id, created_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4) "
    "RETURNING id")
/* ?1 id -> session, creator id, creator name, creator disabled, expires, revoked */
DB_SQL_ENUM(SHARE_GET,
    "SELECT l.session_id, l.created_by, u.username, u.disabled, l.expires_at, l.revoked_at "
    "FROM share_links l JOIN users u ON u.id = l.created_by WHERE l.id = ?1")
/* ?1 session -> newest first */
DB_SQL_ENUM(SHARE_LIST,
    "SELECT l.id, u.username, l.created_by, l.created_at, l.expires_at, l.revoked_at "
    "FROM share_links l JOIN users u ON u.id = l.created_by WHERE l.session_id = ?1 "
    "ORDER BY l.created_at DESC LIMIT 20")
/* ?1 id ?2 session ?3 now ?4 actor ?5 user id ?6 1 = admin (may revoke anyone's) */
DB_SQL_ENUM(SHARE_REVOKE,
    "UPDATE share_links SET revoked_at = ?3, revoked_by = ?4 WHERE id = ?1 AND session_id = ?2 "
    "AND revoked_at IS NULL AND (created_by = ?5 OR ?6 = 1)")

/* ---- API v1, issue 7: session edits, single events, log lines, secrets,
 * agent_ids (h_api_sessions.c, h_api_data.c, ingest.c, sessdata.c) ---- */
/* PATCH: NULL keeps a value. ?1 id ?2 name ?3 description ?4 metadata JSON ?5 now */
DB_SQL_ENUM(SESSION_PATCH,
    "UPDATE sessions SET name = coalesce(?2, name), description = coalesce(?3, description), "
    "metadata = coalesce(?4, metadata), updated_at = max(updated_at, ?5) WHERE id = ?1")
/* What create sets besides SESSION_INSERT. ?1 id ?2 devmode (0/1) */
DB_SQL_ENUM(SESSION_SET_CREATE_EXTRAS,
    "UPDATE sessions SET devmode = ?2, "
    "agent_ids = CASE WHEN agent <> '' THEN json_array(agent) ELSE '[]' END WHERE id = ?1")
/* Add an agent name to agent_ids once. ?1 id ?2 agent name (NULL or '' adds nothing) */
DB_SQL_ENUM(SESSION_ADD_AGENT,
    "UPDATE sessions SET agent_ids = json_insert(agent_ids, '$[#]', ?2) WHERE id = ?1 "
    "AND ?2 IS NOT NULL AND ?2 <> '' "
    "AND NOT EXISTS (SELECT 1 FROM json_each(agent_ids) WHERE value = ?2)")
/* Add the agent of the session a tool call called. ?1 id ?2 called session id */
DB_SQL_ENUM(SESSION_ADD_CALLED_AGENT,
    "UPDATE sessions SET agent_ids = json_insert(agent_ids, '$[#]', "
    "(SELECT c.agent FROM sessions c WHERE c.id = ?2)) WHERE id = ?1 AND EXISTS ("
    "SELECT 1 FROM sessions c WHERE c.id = ?2 AND c.agent <> '' "
    "AND NOT EXISTS (SELECT 1 FROM json_each(sessions.agent_ids) WHERE value = c.agent))")
/* include=user_data. ?1 id */
DB_SQL_ENUM(SESSION_USER_DATA,
    "SELECT fd_open(user_data, 'sessions.user_data', id) AS user_data_json FROM sessions WHERE id = ?1")
/* One event in the API shape (hidden or not). ?1 session ?2 event id */
DB_SQL_ENUM(EVENT_GET_API,
    "SELECT id, seq, type, client_id, " SQL_RFC3339("time") " AS time, actor, tool_call_id, "
    "fd_open(body, 'events.body', session_id, seq) AS data_json, hide_reason FROM events WHERE session_id = ?1 AND id = ?2")
/* What deleting an event needs to know. ?1 session ?2 event id -> type,
 * tool_call_id, the call's state (NULL: no call), hide_reason */
DB_SQL_ENUM(EVENT_META,
    "SELECT e.type, e.tool_call_id, t.state, e.hide_reason FROM events e "
    "LEFT JOIN tool_calls t ON t.session_id = e.session_id AND t.id = e.tool_call_id "
    "WHERE e.session_id = ?1 AND e.id = ?2")
/* ?1 session ?2 event id -> client_id, 1 when it counted as an error
 * (search_events goes with it by trigger events_search_delete) */
DB_SQL_ENUM(EVENT_DELETE,
    "DELETE FROM events WHERE session_id = ?1 AND id = ?2 RETURNING client_id, "
    "(type = 'error' OR (type = 'tool_result' AND json_type(fd_open(body, 'events.body', session_id, seq), '$.error') = 'object'))")
/* The results of a tool call whose call is deleted. ?1 session ?2 tool_call_id
 * -> client_id, error flag (as EVENT_DELETE) */
DB_SQL_ENUM(EVENT_DELETE_RESULTS,
    "DELETE FROM events WHERE session_id = ?1 AND tool_call_id = ?2 AND type = 'tool_result' "
    "RETURNING client_id, json_type(fd_open(body, 'events.body', session_id, seq), '$.error') = 'object'")
/* Idempotency keys of event ?2 and, when ?3 names a tool call, of its results.
 * ?1 session ?2 event id ?3 tool_call_id or NULL */
DB_SQL_ENUM(EVENT_KEY_DELETE,
    "DELETE FROM event_keys WHERE session_id = ?1 AND client_id IN (SELECT client_id FROM events "
    "WHERE session_id = ?1 AND client_id IS NOT NULL AND (id = ?2 OR (?3 IS NOT NULL "
    "AND tool_call_id = ?3 AND type = 'tool_result')))")
/* The tool call (and its tool_call_secrets row, by cascade). ?1 session ?2 id */
DB_SQL_ENUM(TOOLCALL_DELETE,
    "DELETE FROM tool_calls WHERE session_id = ?1 AND id = ?2")
/* A deleted tool_result takes its payload from the call too. ?1 session ?2 id */
DB_SQL_ENUM(TOOLCALL_CLEAR_RESULT,
    "UPDATE tool_calls SET result = NULL, error_category = NULL, error_message = NULL, "
    "result_size = 0 WHERE session_id = ?1 AND id = ?2")
/* ?1 id ?2 events deleted ?3 error events among them ?4 now */
DB_SQL_ENUM(SESSION_EVENTS_DELETED,
    "UPDATE sessions SET deleted_events = deleted_events + ?2, "
    "error_count = max(0, error_count - ?3), updated_at = max(updated_at, ?4) WHERE id = ?1")
/* Hide (?3 a reason) or unhide (?3 NULL). ?1 session ?2 event id */
DB_SQL_ENUM(EVENT_SET_HIDDEN,
    "UPDATE events SET hide_reason = ?3 WHERE session_id = ?1 AND id = ?2")
/* ?1 session ?2 time ?3 severity ?4 body -> id */
DB_SQL_ENUM(LOG_INSERT_ID,
    "INSERT INTO logs (id, session_id, time, severity, body) SELECT n, ?1, ?2, ?3, "
    "fd_seal(?4, 'logs.body', n) FROM (SELECT coalesce(max(id), 0) + 1 AS n FROM logs) RETURNING id")
/* Unmasked arguments of a tool call that held secrets. ?1 session ?2 tool_call_id ?3 JSON */
DB_SQL_ENUM(TOOLCALL_SECRET_INSERT,
    "INSERT INTO tool_call_secrets (session_id, tool_call_id, arguments) "
    "VALUES (?1, ?2, fd_seal(?3, 'tool_call_secrets.arguments', ?1, ?2))")

/* ---- OpenTelemetry (otlp.c, migration 009) ---- */
/* A span as received; nothing when the session has it already (a retried
 * export). ?1 session ?2 trace ?3 span ?4 parent ?5 name ?6 start_ns ?7 end_ns
 * ?8 status ?9 attributes ?10 raw -> id */
DB_SQL_ENUM(OTLP_SPAN_INSERT,
    "INSERT INTO spans (session_id, trace_id, span_id, parent_span_id, name, start_ns, end_ns, "
    "status, attributes, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
    "fd_seal(?9, 'spans.attributes', ?1, ?3), fd_seal(?10, 'spans.raw', ?1, ?3)) "
    "ON CONFLICT (session_id, span_id) DO NOTHING RETURNING id")
/* The session a stored span went to. ?1 trace ?2 span -> session_id */
DB_SQL_ENUM(OTLP_SPAN_SESSION,
    "SELECT session_id FROM spans WHERE trace_id = ?1 AND span_id = ?2 LIMIT 1")
/* A stored span's parent, and whether it is an agent's span (invoke_agent,
 * by attribute or, from older instrumentations, by name). ?1 trace ?2 span
 * -> parent_span_id, is_agent */
DB_SQL_ENUM(OTLP_SPAN_PARENT,
    "SELECT parent_span_id, coalesce(json_extract(fd_open(attributes, 'spans.attributes', session_id, span_id), "
    "'$.\"gen_ai.operation.name\"') = "
    "'invoke_agent', name = 'invoke_agent' OR name LIKE 'invoke\\_agent %' ESCAPE '\\') "
    "FROM spans WHERE trace_id = ?1 AND span_id = ?2 LIMIT 1")
/* ?1 trace -> session_id */
DB_SQL_ENUM(OTLP_TRACE_SESSION,
    "SELECT session_id FROM otel_traces WHERE trace_id = ?1")
/* ?1 trace ?2 session */
DB_SQL_ENUM(OTLP_TRACE_REMEMBER,
    "INSERT OR IGNORE INTO otel_traces (trace_id, session_id) VALUES (?1, ?2)")
/* ?1 id -> status, project, thread_id, ended_at */
DB_SQL_ENUM(OTLP_SESSION_INFO,
    "SELECT status, project, thread_id, ended_at FROM sessions WHERE id = ?1")
/* What the session's root invoke_agent span says: its agent (which a
 * child span that arrived first could only guess from service.name), the
 * name unless someone renamed it, the description where unknown.
 * ?1 id ?2 agent ?3 description */
DB_SQL_ENUM(OTLP_SESSION_AGENT,
    "UPDATE sessions SET agent = ?2, "
    "name = CASE WHEN name = '' OR name = agent THEN ?2 ELSE name END, "
    "description = CASE WHEN description = '' THEN ?3 ELSE description END WHERE id = ?1")
/* ?1 id ?2 prompt (system instructions) */
DB_SQL_ENUM(OTLP_SESSION_PROMPT,
    "UPDATE sessions SET prompt = fd_seal(?2, 'sessions.prompt', ?1) WHERE id = ?1 AND prompt = ''")
/* The session started when its earliest span did. ?1 id ?2 ms */
DB_SQL_ENUM(OTLP_SESSION_STARTED,
    "UPDATE sessions SET started_at = min(coalesce(started_at, ?2), ?2) WHERE id = ?1")
/* A session ended when its root span did. ?1 id ?2 ms */
DB_SQL_ENUM(OTLP_SESSION_ENDED,
    "UPDATE sessions SET ended_at = max(?2, coalesce(started_at, ?2)) "
    "WHERE id = ?1 AND ended_at IS NOT NULL")
/* The latest event of a type, to skip a message repeated by the next span
 * (each chat span carries the conversation so far). ?1 session ?2 type -> body */
DB_SQL_ENUM(OTLP_LAST_BODY,
    "SELECT fd_open(body, 'events.body', session_id, seq) FROM events WHERE session_id = ?1 AND type = ?2 ORDER BY seq DESC LIMIT 1")

/* ---- metrics (metrics.c) ---- */
/* -> status, count (walks sessions_by_status) */
DB_SQL_ENUM(METRICS_SESSIONS,
    "SELECT status, count(*) FROM sessions GROUP BY status")
/* -> file bytes, free bytes */
DB_SQL_ENUM(METRICS_DB_SIZE,
    "SELECT (SELECT page_count FROM pragma_page_count) * (SELECT page_size FROM pragma_page_size), "
    "(SELECT freelist_count FROM pragma_freelist_count) * (SELECT page_size FROM pragma_page_size)")

/* ---- retention (retention.c) ---- */
/* Expired sessions of one project with a rule: finished before ?2 (ms).
 * ended_at is never before sort_time, so sessions_by_project bounds the
 * scan. ?1 project ?2 cutoff ?3 limit -> id, events (an estimate: next_seq - 1) */
DB_SQL_ENUM(RETENTION_EXPIRED_PROJECT,
    "SELECT id, next_seq - 1 FROM sessions WHERE project = ?1 AND sort_time < ?2 AND ended_at < ?2 "
    "AND status IN ('completed','failed','canceled') LIMIT ?3")
/* Expired sessions of the projects without a rule (the default; walks
 * sessions_by_time). ?1 cutoff ?2 limit -> id, events, project */
DB_SQL_ENUM(RETENTION_EXPIRED_DEFAULT,
    "SELECT id, next_seq - 1, project FROM sessions WHERE sort_time < ?1 AND ended_at < ?1 "
    "AND status IN ('completed','failed','canceled') "
    "AND project NOT IN (SELECT project FROM retention_rules) LIMIT ?2")
/* Events a session holds now. ?1 session -> count */
DB_SQL_ENUM(RETENTION_EVENT_COUNT,
    "SELECT count(*) FROM events WHERE session_id = ?1")
/* -> project, keep_days (NULL: forever), max_payload_bytes (NULL: none), updated_at, updated_by */
DB_SQL_ENUM(RETENTION_RULES,
    "SELECT project, keep_days, max_payload_bytes, updated_at, updated_by FROM retention_rules "
    "ORDER BY project")
/* ?1 project -> as RETENTION_RULES */
DB_SQL_ENUM(RETENTION_RULE_GET,
    "SELECT project, keep_days, max_payload_bytes, updated_at, updated_by FROM retention_rules "
    "WHERE project = ?1")
/* ?1 project ?2 keep_days or NULL ?3 max_payload_bytes or NULL ?4 now ?5 actor */
DB_SQL_ENUM(RETENTION_RULE_SET,
    "INSERT INTO retention_rules (project, keep_days, max_payload_bytes, updated_at, updated_by) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (project) DO UPDATE SET keep_days = ?2, "
    "max_payload_bytes = ?3, updated_at = ?4, updated_by = ?5")
/* ?1 project -> project (when there was a rule) */
DB_SQL_ENUM(RETENTION_RULE_DELETE,
    "DELETE FROM retention_rules WHERE project = ?1 RETURNING project")
/* The payload cap of a session's project. ?1 session -> max_payload_bytes (no row: none) */
DB_SQL_ENUM(RETENTION_CAP,
    "SELECT r.max_payload_bytes FROM sessions s JOIN retention_rules r ON r.project = s.project "
    "WHERE s.id = ?1 AND r.max_payload_bytes IS NOT NULL")

/* ---- encryption at rest: `db rotate-key` (seal_db.c) ----
 * For each table with sealed columns: the end of the next batch of rows
 * after rowid ?1 (?2 rows), the rewrite of the stale values of rows in
 * (?1, ?2] under the current key (fd_stale, fd_reseal: seal.h), and how
 * many rows still hold a stale value. Places and row keys as the writes
 * above use them. */
#define REKEY_SET(col, table, keys) \
    col " = CASE WHEN fd_stale(" col ") THEN fd_reseal(" col ", '" table "." col "', " keys ") ELSE " col " END"
#define REKEY_STATEMENTS(NAME, table, sets, stale) \
    DB_SQL_ENUM(REKEY_##NAME##_END, \
        "SELECT max(r) FROM (SELECT rowid AS r FROM " table " WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)") \
    DB_SQL_ENUM(REKEY_##NAME, \
        "UPDATE " table " SET " sets " WHERE rowid > ?1 AND rowid <= ?2 AND (" stale ")") \
    DB_SQL_ENUM(REKEY_##NAME##_LEFT, "SELECT count(*) FROM " table " WHERE " stale)
REKEY_STATEMENTS(SESSIONS, "sessions",
    REKEY_SET("prompt", "sessions", "id") ", " REKEY_SET("inputs", "sessions", "id") ", "
    REKEY_SET("user_data", "sessions", "id") ", " REKEY_SET("final_response", "sessions", "id") ", "
    REKEY_SET("error_message", "sessions", "id") ", " REKEY_SET("report", "sessions", "id"),
    "fd_stale(prompt) OR fd_stale(inputs) OR fd_stale(user_data) OR fd_stale(final_response) "
    "OR fd_stale(error_message) OR fd_stale(report)")
REKEY_STATEMENTS(EVENTS, "events", REKEY_SET("body", "events", "session_id, seq"), "fd_stale(body)")
REKEY_STATEMENTS(TOOLCALLS, "tool_calls",
    REKEY_SET("arguments", "tool_calls", "session_id, id") ", "
    REKEY_SET("result", "tool_calls", "session_id, id") ", "
    REKEY_SET("error_message", "tool_calls", "session_id, id"),
    "fd_stale(arguments) OR fd_stale(result) OR fd_stale(error_message)")
REKEY_STATEMENTS(ARTIFACTS, "artifacts", REKEY_SET("content", "artifacts", "session_id, id"), "fd_stale(content)")
REKEY_STATEMENTS(SPANS, "spans",
    REKEY_SET("attributes", "spans", "session_id, span_id") ", " REKEY_SET("raw", "spans", "session_id, span_id"),
    "fd_stale(attributes) OR fd_stale(raw)")
REKEY_STATEMENTS(LOGS, "logs", REKEY_SET("body", "logs", "id"), "fd_stale(body)")
REKEY_STATEMENTS(EVALS, "eval_runs", REKEY_SET("result", "eval_runs", "id"), "fd_stale(result)")
REKEY_STATEMENTS(AUDIT, "audit", REKEY_SET("detail", "audit", "id"), "fd_stale(detail)")
/* tool_call_secrets has no rowid, and few rows: ?1 rows at a time. */
DB_SQL_ENUM(REKEY_SECRETS,
    "UPDATE tool_call_secrets SET " REKEY_SET("arguments", "tool_call_secrets", "session_id, tool_call_id")
    " WHERE (session_id, tool_call_id) IN (SELECT session_id, tool_call_id FROM tool_call_secrets "
    "WHERE fd_stale(arguments) LIMIT ?1)")
DB_SQL_ENUM(REKEY_SECRETS_LEFT, "SELECT count(*) FROM tool_call_secrets WHERE fd_stale(arguments)")
/* While encryption is on, the text search holds only what is never sealed
 * (migration 011); rotation rebuilds it, a rowid range (?1, ?2] per
 * transaction, so text indexed before encryption was switched on leaves the
 * index (optimize then merges the segments that still held it;
 * secure_delete zeroes the pages they leave). Events whose text is still
 * queued (search_pending) are left to the queue, which indexes them with
 * the same rule. */
DB_SQL_ENUM(SEARCH_SESSIONS_CLEAR_ONLY,
    "UPDATE search_sessions SET body = (SELECT s.name || ' ' || s.agent FROM sessions s "
    "WHERE s.search_rowid = search_sessions.rowid) WHERE rowid > ?1 AND rowid <= ?2")
DB_SQL_ENUM(SEARCH_SESSIONS_BATCH_END,
    "SELECT max(r) FROM (SELECT rowid AS r FROM search_sessions WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)")
DB_SQL_ENUM(SEARCH_EVENTS_DROP, "DELETE FROM search_events WHERE rowid > ?1 AND rowid <= ?2")
DB_SQL_ENUM(SEARCH_EVENTS_CLEAR_ONLY,
    "INSERT INTO search_events (rowid, sid, body) SELECT id, session_id, t FROM ("
    "SELECT id, session_id, CASE type WHEN 'tool_call' THEN json_extract(b, '$.tool') "
    "ELSE json_extract(b, '$.error.category') END AS t FROM (SELECT id, session_id, type, "
    "fd_open(body, 'events.body', session_id, seq) AS b FROM events WHERE id > ?1 AND id <= ?2 "
    "AND type IN ('tool_call', 'tool_result') AND id NOT IN (SELECT id FROM search_pending))) "
    "WHERE typeof(t) = 'text' AND t <> ''")
/* The end of the next batch over events and the index's own rows (rows of
 * events deleted long ago included). ?1 after ?2 rows */
DB_SQL_ENUM(SEARCH_EVENTS_BATCH_END,
    "SELECT max(r) FROM (SELECT id AS r FROM events WHERE id > ?1 ORDER BY id LIMIT ?2)")
DB_SQL_ENUM(SEARCH_EVENTS_MAX_ROWID, "SELECT max(rowid) FROM search_events")
DB_SQL_ENUM(SEARCH_OPTIMIZE,
    "INSERT INTO search_events (search_events) VALUES ('optimize')")
DB_SQL_ENUM(SEARCH_SESSIONS_OPTIMIZE,
    "INSERT INTO search_sessions (search_sessions) VALUES ('optimize')")
