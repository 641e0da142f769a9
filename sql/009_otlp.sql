-- 009: OpenTelemetry ingestion (issue 10, cgi/otlp.c). Spans that arrive
-- over OTLP keep the whole span as received; a span's parent may arrive in
-- a later request, so spans are found by trace and span id; and the spans
-- of a trace that carry no gen_ai.conversation.id go to the session that
-- the trace's first conversation went to.

-- The span as received over OTLP, in OTLP/JSON form (ids in lowercase hex,
-- attributes as sent, events, links, status, resource and scope); NULL for
-- spans a runtime sent as `span` events.
ALTER TABLE spans ADD COLUMN raw TEXT;

-- A parent span's session, asked when its child arrives.
CREATE INDEX spans_by_trace ON spans (trace_id, span_id);

CREATE TABLE otel_traces (
  trace_id    TEXT PRIMARY KEY,                  -- 32 lowercase hex digits
  session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE -- first session a span of this trace went to by its conversation id
) WITHOUT ROWID;
CREATE INDEX otel_traces_by_session ON otel_traces (session_id);
