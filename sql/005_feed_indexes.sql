-- 005: indexes that let the activity feed of a 20,000-event session cost
-- what a small one does (cgi/db_sql.h, FEED_*).

-- Hidden events are few: counting them (to subtract from the covering count
-- over events_by_type) reads this small index only.
CREATE INDEX events_hidden ON events (session_id, type, seq) WHERE hide_reason IS NOT NULL;

-- Failed tool calls, for the "errors only" feed and "jump to next error".
CREATE INDEX tool_calls_failed ON tool_calls (session_id, event_id) WHERE state = 'failed';
