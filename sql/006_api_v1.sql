-- 006: API v1 completeness (issue 7): secret tool-call arguments, events
-- deleted one by one, and the session fields the API object adds.

-- The arguments of a tool call as the runtime sent them, with every secret
-- ({"$secret": value}) unwrapped to its value. Only calls whose arguments
-- held a secret have a row; everything else (events.body,
-- tool_calls.arguments, search) holds "****" in its place. Read only by
-- GET /api/v1/sessions/{id}/client-tool-calls (permission input); goes with
-- its tool call (and so with its session).
CREATE TABLE tool_call_secrets (
  session_id    TEXT NOT NULL,
  tool_call_id  TEXT NOT NULL,
  arguments     TEXT NOT NULL,                 -- JSON, unmasked
  PRIMARY KEY (session_id, tool_call_id),
  FOREIGN KEY (session_id, tool_call_id) REFERENCES tool_calls (session_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Events deleted from the session (DELETE .../events/{event_id}): the
-- detail page counts its entries from next_seq, so it subtracts these.
ALTER TABLE sessions ADD COLUMN deleted_events INTEGER NOT NULL DEFAULT 0;
-- A development run (set on create): shown as "devmode" in the API object.
ALTER TABLE sessions ADD COLUMN devmode INTEGER NOT NULL DEFAULT 0;
-- Distinct agent names of the session and of the sessions it called
-- directly (JSON array), kept at ingest so the list reads it from the row.
ALTER TABLE sessions ADD COLUMN agent_ids TEXT NOT NULL DEFAULT '[]';

-- Backfill: the session's own agent, then those of its direct children.
UPDATE sessions SET agent_ids = (
  SELECT json_group_array(agent) FROM (
    SELECT agent, min(ord) AS ord FROM (
      SELECT sessions.agent AS agent, 0 AS ord
      UNION ALL SELECT c.agent, 1 FROM sessions c WHERE c.parent_session_id = sessions.id)
    WHERE agent <> '' GROUP BY agent ORDER BY ord, agent));
