-- 003: what the History page needs at a million sessions: text search,
-- an index for every sort order, an error count for "has error", and saved
-- views. Search text and error counts are kept in step by triggers, so every
-- writer (ingestion, lifecycle, delete, demo, OTLP later) maintains them
-- without knowing they exist.

-- Error count: error events plus failed tool results ("has error" filter).
ALTER TABLE sessions ADD COLUMN error_count INTEGER NOT NULL DEFAULT 0;
-- Row of search_sessions that holds this session's own text (see below).
ALTER TABLE sessions ADD COLUMN search_rowid INTEGER;
-- Sort keys that are expressions, as virtual columns so their indexes are
-- used by name. Lifecycle order for status; finished duration in ms (-1
-- while unfinished, so running sessions sort as unknown); total tokens.
ALTER TABLE sessions ADD COLUMN status_rank INTEGER GENERATED ALWAYS AS (
  CASE status WHEN 'pending' THEN 0 WHEN 'running' THEN 1 WHEN 'retrying' THEN 2
              WHEN 'pausing' THEN 3 WHEN 'paused' THEN 4 WHEN 'canceling' THEN 5
              WHEN 'canceled' THEN 6 WHEN 'completed' THEN 7 ELSE 8 END) VIRTUAL;
ALTER TABLE sessions ADD COLUMN duration_ms INTEGER GENERATED ALWAYS AS (
  coalesce(ended_at - started_at, -1)) VIRTUAL;
ALTER TABLE sessions ADD COLUMN total_tokens INTEGER GENERATED ALWAYS AS (
  prompt_tokens + completion_tokens) VIRTUAL;

-- One index per sort order: (key, sort_time, id) so a keyset page is a
-- range scan in either direction. The agent index replaces 001's, whose
-- mixed directions could not serve "agent, then newest" both ways.
DROP INDEX sessions_by_agent;
-- The time index also covers what the summary strip sums, so a day of
-- sessions is summarised from the index alone.
DROP INDEX sessions_by_time;
CREATE INDEX sessions_by_time ON sessions (sort_time, id, status, agent, total_cost_micros,
                                           prompt_tokens, completion_tokens);
CREATE INDEX sessions_by_agent    ON sessions (agent, sort_time, id);
CREATE INDEX sessions_by_created  ON sessions (created_at, id);
CREATE INDEX sessions_by_updated  ON sessions (updated_at, id);
CREATE INDEX sessions_by_duration ON sessions (duration_ms, sort_time, id);
CREATE INDEX sessions_by_cost     ON sessions (total_cost_micros, sort_time, id);
CREATE INDEX sessions_by_tokens   ON sessions (total_tokens, sort_time, id);
CREATE INDEX sessions_by_rank     ON sessions (status_rank, sort_time, id);

-- Text search (FTS5) over name, agent, prompt and error of a session
-- (search_sessions), and over messages, thoughts, tool names and error
-- messages of its events (search_events, rowid = events.id). sid is the
-- session id. Two tables keep the two rowid spaces apart, so a row can be
-- found again by rowid when its source changes or is deleted.
CREATE VIRTUAL TABLE search_sessions USING fts5(sid UNINDEXED, body,
  tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE search_events USING fts5(sid UNINDEXED, body,
  tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER sessions_search_insert AFTER INSERT ON sessions BEGIN
  INSERT INTO search_sessions (sid, body)
    VALUES (new.id, new.name || ' ' || new.agent || ' ' || new.prompt || ' ' || new.error_message);
  UPDATE sessions SET search_rowid = last_insert_rowid() WHERE id = new.id;
END;
CREATE TRIGGER sessions_search_update AFTER UPDATE OF name, agent, prompt, error_message ON sessions
WHEN new.name IS NOT old.name OR new.agent IS NOT old.agent OR new.prompt IS NOT old.prompt
  OR new.error_message IS NOT old.error_message BEGIN
  UPDATE search_sessions
     SET body = new.name || ' ' || new.agent || ' ' || new.prompt || ' ' || new.error_message
   WHERE rowid = new.search_rowid;
END;
CREATE TRIGGER sessions_search_delete AFTER DELETE ON sessions BEGIN
  DELETE FROM search_sessions WHERE rowid = old.search_rowid;
END;

CREATE TRIGGER events_search_insert AFTER INSERT ON events
WHEN new.type IN ('user_message', 'assistant_message', 'thought', 'error', 'tool_call', 'tool_result') BEGIN
  INSERT INTO search_events (rowid, sid, body)
  SELECT new.id, new.session_id, t FROM (SELECT CASE new.type
      WHEN 'tool_call' THEN json_extract(new.body, '$.tool')
      WHEN 'tool_result' THEN json_extract(new.body, '$.error.message')
      WHEN 'error' THEN json_extract(new.body, '$.message')
      ELSE json_extract(new.body, '$.content') END AS t)
  WHERE typeof(t) = 'text' AND t <> '';
  UPDATE sessions SET error_count = error_count + 1
   WHERE id = new.session_id
     AND (new.type = 'error' OR (new.type = 'tool_result' AND json_type(new.body, '$.error') = 'object'));
END;
CREATE TRIGGER events_search_delete AFTER DELETE ON events BEGIN
  DELETE FROM search_events WHERE rowid = old.id;
END;

-- Backfill what 001/002 databases already hold.
UPDATE sessions SET error_count = (
  SELECT count(*) FROM events e WHERE e.session_id = sessions.id
     AND (e.type = 'error' OR (e.type = 'tool_result' AND json_type(e.body, '$.error') = 'object')));
INSERT INTO search_events (rowid, sid, body)
SELECT id, session_id, t FROM (SELECT id, session_id, CASE type
    WHEN 'tool_call' THEN json_extract(body, '$.tool')
    WHEN 'tool_result' THEN json_extract(body, '$.error.message')
    WHEN 'error' THEN json_extract(body, '$.message')
    ELSE json_extract(body, '$.content') END AS t
  FROM events WHERE type IN ('user_message', 'assistant_message', 'thought', 'error', 'tool_call', 'tool_result'))
WHERE typeof(t) = 'text' AND t <> '';
INSERT INTO search_sessions (rowid, sid, body)
SELECT rowid, id, name || ' ' || agent || ' ' || prompt || ' ' || error_message FROM sessions;
UPDATE sessions SET search_rowid = rowid;

-- Saved views of the History page: a name for a filter + sort.
CREATE TABLE saved_views (
  id          INTEGER PRIMARY KEY,
  owner_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,               -- shown in the sidebar, unique per owner
  query       TEXT NOT NULL,               -- canonical /sessions query string (filters + sort, no cursor)
  shared      INTEGER NOT NULL DEFAULT 0,  -- 1 = listed for every user (each still sees only readable projects)
  created_at  INTEGER NOT NULL,
  UNIQUE (owner_id, name)
);
CREATE INDEX saved_views_shared ON saved_views (shared) WHERE shared = 1;
