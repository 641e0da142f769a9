/* Statements of the session data API (h_api_data.c, sessdata.c): artifacts,
 * logs, report, eval runs, spans and called agents of a session. Part of
 * db_sql.h (same X-macro, same rules: fixed text, values always bound). */

/* ---- session data: artifacts ---- */
/* ?1 id ?2 session ?3 name ?4 media_type ?5 size ?6 origin ?7 content (blob) ?8 now */
DB_SQL_ENUM(ARTIFACT_INSERT,
    "INSERT INTO artifacts (id, session_id, name, media_type, size, origin, content, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, fd_seal(?7, 'artifacts.content', ?2, ?1), ?8)")
/* Newest first, without content; keyset on (created_at, id).
 * ?1 session ?2 cursor created_at or NULL (first page) ?3 cursor id ?4 limit */
DB_SQL_ENUM(ARTIFACT_LIST,
    "SELECT id, name, media_type, size, origin, created_at FROM artifacts WHERE session_id = ?1 "
    "AND (?2 IS NULL OR created_at < ?2 OR (created_at = ?2 AND id < ?3)) "
    "ORDER BY created_at DESC, id DESC LIMIT ?4")
/* One artifact with its content (column 6). ?1 session ?2 artifact id */
DB_SQL_ENUM(ARTIFACT_GET,
    "SELECT id, name, media_type, size, origin, created_at, "
    SEALED_COL("content", "artifacts", "session_id, id") " FROM artifacts "
    "WHERE session_id = ?1 AND id = ?2")

/* ---- session data: logs ---- */
/* Oldest (first stored) first. ?1 session ?2 after log id ?3 minimum severity
 * rank (debug 0, info 1, warn 2, error 3) ?4 limit */
DB_SQL_ENUM(LOG_PAGE,
    "SELECT id, " SQL_RFC3339("time") " AS time, severity, " SEALED_COL("body", "logs", "id") " FROM logs "
    "WHERE session_id = ?1 AND id > ?2 AND (CASE severity WHEN 'debug' THEN 0 WHEN 'info' THEN 1 "
    "WHEN 'warn' THEN 2 WHEN 'error' THEN 3 ELSE 1 END) >= ?3 ORDER BY id LIMIT ?4")

/* ---- session data: report ---- */
/* ?1 id -> report JSON text (NULL when none), name */
DB_SQL_ENUM(REPORT_GET,
    "SELECT " SEALED_COL("report", "sessions", "id") ", name FROM sessions WHERE id = ?1")
/* Replace the report; a new report is a change of the session.
 * ?1 id ?2 report JSON text ?3 now */
DB_SQL_ENUM(REPORT_SET,
    "UPDATE sessions SET report = fd_seal(?2, 'sessions.report', ?1), updated_at = max(updated_at, ?3) "
    "WHERE id = ?1")

/* ---- session data: eval runs ---- */
/* An eval run in its API shape: passed is true/false/null for
 * success/error/pending. */
#define EVAL_API_COLS \
    "id, eval_id, state, json(CASE state WHEN 'success' THEN 'true' WHEN 'error' THEN 'false' " \
    "ELSE 'null' END) AS passed_json, fd_open(result, 'eval_runs.result', id) AS result_json, " SQL_RFC3339("created_at") " AS created_at"
/* ?1 session ?2 eval_id ?3 state ?4 result JSON ?5 now -> id */
DB_SQL_ENUM(EVAL_INSERT,
    "INSERT INTO eval_runs (id, session_id, eval_id, state, result, created_at) "
    "SELECT n, ?1, ?2, ?3, fd_seal(?4, 'eval_runs.result', n), ?5 "
    "FROM (SELECT coalesce(max(id), 0) + 1 AS n FROM eval_runs) RETURNING id")
/* Update a run of this session; NULL keeps a value. ?1 run id ?2 session
 * ?3 eval_id ?4 state ?5 result JSON -> id (no row: no such run here) */
DB_SQL_ENUM(EVAL_UPDATE,
    "UPDATE eval_runs SET eval_id = coalesce(?3, eval_id), state = coalesce(?4, state), "
    "result = coalesce(fd_seal(?5, 'eval_runs.result', id), result) WHERE id = ?1 AND session_id = ?2 "
    "RETURNING id")
/* ?1 run id */
DB_SQL_ENUM(EVAL_GET, "SELECT " EVAL_API_COLS " FROM eval_runs WHERE id = ?1")
/* In creation order. ?1 session ?2 after run id ?3 limit */
DB_SQL_ENUM(EVAL_LIST,
    "SELECT " EVAL_API_COLS " FROM eval_runs WHERE session_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3")

/* ---- session data: what include= adds to a session ---- */
/* A new artifact or eval run is a change of the session. ?1 id ?2 now */
DB_SQL_ENUM(SESSION_TOUCH,
    "UPDATE sessions SET updated_at = max(updated_at, ?2) WHERE id = ?1")
/* The trace: spans by start, times as RFC 3339, duration in ns.
 * ?1 session ?2 limit */
DB_SQL_ENUM(TRACE_SPANS,
    "SELECT span_id, parent_span_id, trace_id, name, " SQL_RFC3339("(start_ns / 1000000)") " AS \"start\", "
    SQL_RFC3339("(end_ns / 1000000)") " AS \"end\", end_ns - start_ns AS duration, status, "
    "fd_open(attributes, 'spans.attributes', session_id, span_id) AS attributes_json, "
    "fd_open(raw, 'spans.raw', session_id, span_id) AS otlp_json FROM spans WHERE session_id = ?1 "
    "ORDER BY start_ns, id LIMIT ?2")
/* The conversation only (include=messages). ?1 session ?2 limit */
DB_SQL_ENUM(EVENT_LIST_MESSAGES,
    "SELECT id, seq, type, client_id, " SQL_RFC3339("time") " AS time, actor, tool_call_id, "
    "fd_open(body, 'events.body', session_id, seq) AS data_json, hide_reason FROM events WHERE session_id = ?1 AND hide_reason IS NULL "
    "AND type IN ('user_message','assistant_message') ORDER BY seq LIMIT ?2")
/* Every session below ?1 through parent_session_id, nearest first. Depth is
 * capped (a runtime could make a cycle of parent ids) and so is the walk.
 * ?1 root id ?2 limit. Column 8 (project) decides what a caller may see. */
DB_SQL_ENUM(SESSION_DESCENDANTS,
    "WITH RECURSIVE tree(id, depth) AS ("
    "SELECT id, 1 FROM sessions WHERE parent_session_id = ?1 "
    "UNION ALL SELECT s.id, t.depth + 1 FROM tree t JOIN sessions s ON s.parent_session_id = t.id "
    "WHERE t.depth < 32 LIMIT 20000) "
    "SELECT s.id, s.name, s.agent, s.status, min(t.depth) AS depth, s.parent_session_id, "
    "s.total_cost_micros / 1e6 AS total_cost, s.prompt_tokens + s.completion_tokens AS tokens, "
    "s.project FROM tree t JOIN sessions s ON s.id = t.id WHERE s.id <> ?1 "
    "GROUP BY s.id ORDER BY depth, s.sort_time, s.id LIMIT ?2")
