/* Column lists and SQL snippets shared by db_sql.h (fixed statements) and
 * sessq.c (the composed session list). Part of the db module. */
#ifndef FD_DB_COLS_H
#define FD_DB_COLS_H

/* Milliseconds now, for SQL that must compute live durations. */
#define SQL_NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"
#define SQL_RFC3339(col) "strftime('%Y-%m-%dT%H:%M:%fZ', " col " / 1000.0, 'unixepoch')"

/* A payload column read in clear (encryption at rest, seal.h): col of
 * table, whose row key is keys (SQL, comma-separated), under its own name.
 * Every sealed column is read through fd_open like this, and written
 * through fd_seal with the same place and keys. */
#define SEALED_COL(col, table, keys) "fd_open(" col ", '" table "." col "', " keys ") AS " col
/* The same for a table alias a ("e.body"). */
#define SEALED_COL_A(a, col, table, keys) \
    "fd_open(" a "." col ", '" table "." col "', " keys ") AS " col

/* A session in its public (API) shape. */
#define SESSION_API_COLS \
    "id, kind, agent, name, description, status, trigger_type AS trigger, " \
    "trigger_source, actor, project, environment AS env, cluster, deployment, thread_id, " \
    "parent_session_id, parent_tool_call_id, " SEALED_COL("prompt", "sessions", "id") ", " \
    "fd_open(inputs, 'sessions.inputs', id) AS inputs_json, " \
    "metadata AS metadata_json, " SEALED_COL("final_response", "sessions", "id") ", " \
    SQL_RFC3339("started_at") " AS start_time, " SQL_RFC3339("ended_at") " AS end_time, " \
    "CASE WHEN started_at IS NULL THEN NULL ELSE max(0, coalesce(ended_at, " SQL_NOW_MS ") - started_at) * 1000000 END AS duration, " \
    "nullif(fd_open(error_message, 'sessions.error_message', id), '') AS error, nullif(error_step, '') AS error_step, retry_count, " \
    "models AS models_json, services AS services_json, " \
    "prompt_tokens AS llm_prompt_token_count, completion_tokens AS llm_completion_token_count, " \
    "llm_cost_micros / 1e6 AS llm_cost, total_cost_micros / 1e6 AS total_cost, cpu_time_ns AS cpu_time, " \
    "method, url, route AS route_id, json(CASE WHEN devmode THEN 'true' ELSE 'false' END) AS devmode_json, " \
    "agent_ids AS agent_ids_json, " \
    "json(CASE WHEN status = 'pending' THEN 'true' ELSE 'false' END) AS pending_json, " \
    "json(CASE status WHEN 'completed' THEN 'true' WHEN 'failed' THEN 'false' ELSE 'null' END) AS success_json, " \
    SQL_RFC3339("created_at") " AS created_at, " SQL_RFC3339("updated_at") " AS updated_at"

/* A session with raw values, for pages (times in ms, cost in micros). */
#define SESSION_ROW_COLS \
    "id, kind, agent, name, status, trigger_type, trigger_source, project, environment, " \
    "parent_session_id, (SELECT p.name FROM sessions p WHERE p.id = s.parent_session_id) AS parent_name, " \
    "(SELECT p.project FROM sessions p WHERE p.id = s.parent_session_id) AS parent_project, " \
    "started_at, ended_at, created_at, " SQL_NOW_MS " AS now_ms, prompt_tokens, completion_tokens, " \
    "total_cost_micros, " SEALED_COL("error_message", "sessions", "id") ", error_step, " \
    SEALED_COL("prompt", "sessions", "id") ", fd_open(inputs, 'sessions.inputs', id) AS inputs_json, " \
    "metadata AS metadata_json, " SEALED_COL("final_response", "sessions", "id")

#endif
