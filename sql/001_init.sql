-- 001: the whole model of DESIGN.md section 3.
-- Times are INTEGER milliseconds since the Unix epoch, UTC.
-- Money is INTEGER micro-dollars (1 USD = 1,000,000) so sums are exact.
-- JSON columns hold text that SQLite's json functions accept.

CREATE TABLE sessions (
  id                 TEXT PRIMARY KEY,          -- "ses_" + 20 random URL-safe chars, or the runtime's own id
  kind               TEXT NOT NULL DEFAULT 'agent'
                     CHECK (kind IN ('agent','workflow')),
  agent              TEXT NOT NULL DEFAULT '',  -- agent (or workflow) name
  name               TEXT NOT NULL DEFAULT '',  -- human title of this run
  description        TEXT NOT NULL DEFAULT '',
  status             TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending','running','retrying','pausing','paused',
                                       'canceling','canceled','completed','failed')),
  trigger_type       TEXT NOT NULL DEFAULT 'api'
                     CHECK (trigger_type IN ('manual','api','event','schedule','agent','workflow')),
  trigger_source     TEXT NOT NULL DEFAULT '',  -- person, token, event name, cadence, caller
  actor              TEXT NOT NULL DEFAULT '',  -- who the session acts for
  project            TEXT NOT NULL DEFAULT 'default', -- unit of access control
  environment        TEXT NOT NULL DEFAULT '',
  cluster            TEXT NOT NULL DEFAULT '',  -- cluster or target
  deployment         TEXT NOT NULL DEFAULT '',
  thread_id          TEXT NOT NULL DEFAULT '',
  parent_session_id  TEXT,                      -- caller, for called agents (no FK: caller may be deleted first)
  parent_tool_call_id TEXT,                     -- the caller's tool call that started this one
  prompt             TEXT NOT NULL DEFAULT '',  -- resolved prompt, with {{input}} values substituted
  inputs             TEXT NOT NULL DEFAULT '{}', -- JSON object of input variables
  metadata           TEXT NOT NULL DEFAULT '{}', -- JSON object, filterable
  user_data          TEXT NOT NULL DEFAULT '{}', -- JSON, opaque to us
  final_response     TEXT NOT NULL DEFAULT '',  -- the agent's answer when completed
  report             TEXT,                      -- structured report (JSON), set by the runtime
  started_at         INTEGER,                   -- first activity; NULL while pending
  ended_at           INTEGER,                   -- set on reaching a terminal status
  error_message      TEXT NOT NULL DEFAULT '',
  error_step         TEXT NOT NULL DEFAULT '',  -- failing step
  retry_count        INTEGER NOT NULL DEFAULT 0,
  models             TEXT NOT NULL DEFAULT '[]', -- JSON array of model names used
  services           TEXT NOT NULL DEFAULT '[]', -- JSON array of services used
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  llm_cost_micros    INTEGER NOT NULL DEFAULT 0,
  total_cost_micros  INTEGER NOT NULL DEFAULT 0,
  cpu_time_ns        INTEGER NOT NULL DEFAULT 0,
  method             TEXT NOT NULL DEFAULT '',
  url                TEXT NOT NULL DEFAULT '',
  route              TEXT NOT NULL DEFAULT '',
  next_seq           INTEGER NOT NULL DEFAULT 1, -- sequence number of the next event
  executing_calls    INTEGER NOT NULL DEFAULT 0, -- tool calls in state 'running' (pause/cancel wait on these)
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  -- History page order: newest first; pending sessions sort by creation.
  sort_time          INTEGER GENERATED ALWAYS AS (coalesce(started_at, created_at)) STORED
);
CREATE INDEX sessions_by_time    ON sessions (sort_time DESC, id DESC);
CREATE INDEX sessions_by_status  ON sessions (status, sort_time DESC, id DESC);
CREATE INDEX sessions_by_agent   ON sessions (agent, sort_time DESC, id DESC);
CREATE INDEX sessions_by_project ON sessions (project, sort_time DESC, id DESC);
CREATE INDEX sessions_by_trigger ON sessions (trigger_type, sort_time DESC, id DESC);
CREATE INDEX sessions_by_parent  ON sessions (parent_session_id) WHERE parent_session_id IS NOT NULL;

CREATE TABLE events (
  id            INTEGER PRIMARY KEY,            -- global, also the public event id
  session_id    TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  seq           INTEGER NOT NULL,               -- order within the session, from 1
  type          TEXT NOT NULL
                CHECK (type IN ('user_message','assistant_message','thought','tool_call',
                                'tool_result','error','usage','lifecycle','manual_task')),
  client_id     TEXT,                           -- runtime-supplied idempotency key
  time          INTEGER NOT NULL,               -- when it happened (runtime's clock if given)
  actor         TEXT NOT NULL DEFAULT '',       -- who caused it (runtime token, user)
  tool_call_id  TEXT,                           -- for tool_call / tool_result
  body          TEXT NOT NULL DEFAULT '{}',     -- JSON payload as sent (type-specific)
  hide_reason   TEXT,                           -- NULL = visible; 'manual' or a system reason
  created_at    INTEGER NOT NULL,
  UNIQUE (session_id, seq),
  UNIQUE (session_id, client_id)
);

-- Idempotency keys of events that leave no events row of their own (log,
-- span, status), so a retried one is recognised too.
CREATE TABLE event_keys (
  session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  client_id   TEXT NOT NULL,                    -- the runtime's event id
  PRIMARY KEY (session_id, client_id)
) WITHOUT ROWID;

CREATE TABLE tool_calls (
  session_id      TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  id              TEXT NOT NULL,                -- the runtime's tool_call_id
  tool            TEXT NOT NULL,
  kind            TEXT NOT NULL DEFAULT 'server'
                  CHECK (kind IN ('server','client','manual','agent','workflow')),
  arguments       TEXT NOT NULL DEFAULT '{}',   -- JSON
  result          TEXT,                         -- JSON, when succeeded
  error_category  TEXT,
  error_message   TEXT,
  state           TEXT NOT NULL DEFAULT 'running'
                  CHECK (state IN ('running','waiting_for_client','waiting_for_human',
                                   'succeeded','failed','canceled')),
  retries         INTEGER NOT NULL DEFAULT 0,
  started_at      INTEGER NOT NULL,
  ended_at        INTEGER,
  result_size     INTEGER NOT NULL DEFAULT 0,   -- bytes of result JSON
  called_session_id TEXT,                       -- for kind agent/workflow
  event_id        INTEGER,                      -- the tool_call event
  PRIMARY KEY (session_id, id)
);
CREATE INDEX tool_calls_waiting ON tool_calls (state, started_at)
  WHERE state IN ('waiting_for_human','waiting_for_client');

CREATE TABLE spans (
  id             INTEGER PRIMARY KEY,
  session_id     TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  trace_id       TEXT NOT NULL,
  span_id        TEXT NOT NULL,
  parent_span_id TEXT,
  name           TEXT NOT NULL,
  start_ns       INTEGER NOT NULL,
  end_ns         INTEGER,
  status         TEXT NOT NULL DEFAULT 'unset',
  attributes     TEXT NOT NULL DEFAULT '{}',   -- JSON
  UNIQUE (session_id, span_id)
);

CREATE TABLE logs (
  id          INTEGER PRIMARY KEY,
  session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  time        INTEGER NOT NULL,
  severity    TEXT NOT NULL DEFAULT 'info',     -- debug, info, warn, error
  body        TEXT NOT NULL
);
CREATE INDEX logs_by_session ON logs (session_id, time);

CREATE TABLE artifacts (
  id          TEXT PRIMARY KEY,                 -- "art_" + random
  session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  media_type  TEXT NOT NULL DEFAULT 'application/octet-stream',
  size        INTEGER NOT NULL,
  origin      TEXT NOT NULL DEFAULT 'uploaded' CHECK (origin IN ('uploaded','generated')),
  content     BLOB NOT NULL,
  created_at  INTEGER NOT NULL
);
CREATE INDEX artifacts_by_session ON artifacts (session_id, created_at);

CREATE TABLE eval_runs (
  id          INTEGER PRIMARY KEY,
  session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  eval_id     TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','success','error')),
  result      TEXT NOT NULL DEFAULT '{}',       -- JSON
  created_at  INTEGER NOT NULL
);
CREATE INDEX eval_runs_by_session ON eval_runs (session_id);

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,                  -- libsodium crypto_pwhash_str (Argon2id)
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL
);

CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  token_hash   BLOB NOT NULL UNIQUE,            -- BLAKE2b-256 of the token; the token itself is never stored
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  expires_at   INTEGER,
  revoked_at   INTEGER
);

-- A grant gives a role to a user or a token, for one project or (NULL) all.
CREATE TABLE grants (
  id        INTEGER PRIMARY KEY,
  user_id   INTEGER REFERENCES users(id) ON DELETE CASCADE,
  token_id  INTEGER REFERENCES api_tokens(id) ON DELETE CASCADE,
  role      TEXT NOT NULL CHECK (role IN ('viewer','operator','admin','runtime')),
  project   TEXT,                                -- NULL = every project
  created_at INTEGER NOT NULL,
  CHECK ((user_id IS NULL) != (token_id IS NULL))
);
CREATE INDEX grants_by_user  ON grants (user_id);
CREATE INDEX grants_by_token ON grants (token_id);

CREATE TABLE web_sessions (
  id_hash     BLOB PRIMARY KEY,                  -- BLAKE2b-256 of the cookie value
  user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf        TEXT NOT NULL,                     -- CSRF token bound to this sign-in
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL
);

CREATE TABLE audit (
  id          INTEGER PRIMARY KEY,
  time        INTEGER NOT NULL,
  actor       TEXT NOT NULL,                     -- "user:alice", "token:ci-runner", "cli"
  action      TEXT NOT NULL,                     -- pause, resume, cancel, delete, create, login, ...
  session_id  TEXT,                              -- kept after the session is deleted
  from_status TEXT,
  to_status   TEXT,
  detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_time ON audit (time DESC);
