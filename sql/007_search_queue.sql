-- 007: text search of events indexed once per transaction, not once per
-- event (issue 9). SQLite 3.40's FTS5 writes its pending terms to disk as a
-- new segment at every savepoint, and every INSERT that fires a trigger
-- inside a transaction opens one: a batch of 1,000 events made 1,000 index
-- segments, then merged them. Events now queue their search text in
-- search_pending, a plain table; db_commit() (cgi/db.c) moves the queue into
-- search_events with one statement just before COMMIT. So the queue is empty
-- whenever no transaction is open, and search sees exactly what is
-- committed, as before.

-- Search text waiting for the end of its transaction.
CREATE TABLE search_pending (
  id    INTEGER PRIMARY KEY,   -- events.id, the rowid it gets in search_events
  sid   TEXT NOT NULL,         -- the session id
  body  TEXT NOT NULL          -- the text to index
);

DROP TRIGGER events_search_insert;
CREATE TRIGGER events_search_insert AFTER INSERT ON events
WHEN new.type IN ('user_message', 'assistant_message', 'thought', 'error', 'tool_call', 'tool_result') BEGIN
  INSERT INTO search_pending (id, sid, body)
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

DROP TRIGGER events_search_delete;
CREATE TRIGGER events_search_delete AFTER DELETE ON events BEGIN
  DELETE FROM search_events WHERE rowid = old.id;
  DELETE FROM search_pending WHERE id = old.id;
END;
