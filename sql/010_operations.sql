-- 010: operations (issue 11): retention rules per project, and the metrics
-- role (a token that may read GET /metrics and nothing else).

-- How long a project keeps its finished sessions, and how large a payload
-- it stores. A project without a row follows the configuration's
-- retention_days (default: forever) and has no cap. Set by admins
-- (PUT /api/v1/retention/{project}, `flightdeck retention set`).
CREATE TABLE retention_rules (
  project           TEXT PRIMARY KEY,
  keep_days         INTEGER CHECK (keep_days IS NULL OR keep_days BETWEEN 1 AND 36500),
                                                -- NULL: forever (whatever the default)
  max_payload_bytes INTEGER CHECK (max_payload_bytes IS NULL OR max_payload_bytes BETWEEN 1024 AND 1073741824),
                                                -- event bodies and tool arguments/results longer than
                                                -- this are cut at ingest; NULL: no cap
  updated_at        INTEGER NOT NULL,           -- ms
  updated_by        TEXT NOT NULL               -- "user:alice", "token:ops", "cli"
) WITHOUT ROWID;

-- The sweep finds expired sessions of a project by time: ended_at is never
-- before sort_time, so (project, sort_time) bounds the scan.
-- (sessions_by_project and sessions_by_time already serve it.)

-- grants.role gains 'metrics'. SQLite cannot change a CHECK in place: the
-- table is rebuilt with the same rows and ids.
CREATE TABLE grants_new (
  id        INTEGER PRIMARY KEY,
  user_id   INTEGER REFERENCES users(id) ON DELETE CASCADE,
  token_id  INTEGER REFERENCES api_tokens(id) ON DELETE CASCADE,
  role      TEXT NOT NULL CHECK (role IN ('viewer','operator','admin','runtime','metrics')),
  project   TEXT,                                -- NULL = every project
  created_at INTEGER NOT NULL,
  CHECK ((user_id IS NULL) != (token_id IS NULL))
);
INSERT INTO grants_new (id, user_id, token_id, role, project, created_at)
  SELECT id, user_id, token_id, role, project, created_at FROM grants;
DROP TABLE grants;
ALTER TABLE grants_new RENAME TO grants;
CREATE INDEX grants_by_user  ON grants (user_id);
CREATE INDEX grants_by_token ON grants (token_id);
CREATE UNIQUE INDEX grants_unique ON grants (coalesce(user_id, -1), coalesce(token_id, -1), role,
                                             coalesce(project, ''));
