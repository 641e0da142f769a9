-- 011: encryption at rest (issue 11, docs/encryption.md, cgi/seal.h).
-- No new column: a sealed value is a BLOB that carries its own marker,
-- version and key id, so sealed and clear values share the payload columns
-- (events.body, tool_calls.arguments/result/error_message,
-- tool_call_secrets.arguments, artifacts.content, sessions.prompt/inputs/
-- user_data/final_response/error_message/report, spans.attributes/raw,
-- logs.body, eval_runs.result), and switching encryption on or off, or
-- rotating its key, needs no migration.
--
-- What changes is what the triggers read: they open sealed values with
-- fd_open (registered on every connection by db_open), and while
-- encryption is on (fd_sealing()) the text search receives only what is
-- never sealed: names, agents, tool names and error categories.

DROP TRIGGER sessions_search_insert;
CREATE TRIGGER sessions_search_insert AFTER INSERT ON sessions BEGIN
  INSERT INTO search_sessions (sid, body)
    VALUES (new.id, CASE WHEN fd_sealing() THEN new.name || ' ' || new.agent
      ELSE new.name || ' ' || new.agent || ' ' || fd_open(new.prompt, 'sessions.prompt', new.id)
           || ' ' || fd_open(new.error_message, 'sessions.error_message', new.id) END);
  UPDATE sessions SET search_rowid = last_insert_rowid() WHERE id = new.id;
END;

DROP TRIGGER sessions_search_update;
CREATE TRIGGER sessions_search_update AFTER UPDATE OF name, agent, prompt, error_message ON sessions
WHEN new.name IS NOT old.name OR new.agent IS NOT old.agent OR new.prompt IS NOT old.prompt
  OR new.error_message IS NOT old.error_message BEGIN
  UPDATE search_sessions
     SET body = CASE WHEN fd_sealing() THEN new.name || ' ' || new.agent
       ELSE new.name || ' ' || new.agent || ' ' || fd_open(new.prompt, 'sessions.prompt', new.id)
            || ' ' || fd_open(new.error_message, 'sessions.error_message', new.id) END
   WHERE rowid = new.search_rowid;
END;

-- Events: b is the clear body. Sealing: the tool of a call and the
-- category of a failed result only; else as in 007.
DROP TRIGGER events_search_insert;
CREATE TRIGGER events_search_insert AFTER INSERT ON events
WHEN new.type IN ('user_message', 'assistant_message', 'thought', 'error', 'tool_call', 'tool_result') BEGIN
  INSERT INTO search_pending (id, sid, body)
  SELECT new.id, new.session_id, t FROM (SELECT CASE
      WHEN new.type = 'tool_call' THEN json_extract(b, '$.tool')
      WHEN fd_sealing() THEN CASE WHEN new.type = 'tool_result' THEN json_extract(b, '$.error.category') END
      WHEN new.type = 'tool_result' THEN json_extract(b, '$.error.message')
      WHEN new.type = 'error' THEN json_extract(b, '$.message')
      ELSE json_extract(b, '$.content') END AS t
    FROM (SELECT fd_open(new.body, 'events.body', new.session_id, new.seq) AS b))
  WHERE typeof(t) = 'text' AND t <> '';
  UPDATE sessions SET error_count = error_count + 1
   WHERE id = new.session_id
     AND (new.type = 'error' OR (new.type = 'tool_result'
          AND json_type(fd_open(new.body, 'events.body', new.session_id, new.seq), '$.error') = 'object'));
END;
