-- 002: what access control needs beyond 001.

-- Failed sign-ins, per user name and per client address, so repeated
-- failures are slowed down whoever is guessing.
CREATE TABLE login_throttle (
  key           TEXT PRIMARY KEY,              -- "user:NAME" or "addr:IP"
  failures      INTEGER NOT NULL DEFAULT 0,    -- consecutive failures
  last_failure  INTEGER NOT NULL,              -- ms
  locked_until  INTEGER NOT NULL DEFAULT 0     -- ms; no attempt is checked before this
) WITHOUT ROWID;

-- The same project twice for one principal and role is one grant.
CREATE UNIQUE INDEX grants_unique ON grants (coalesce(user_id, -1), coalesce(token_id, -1), role,
                                             coalesce(project, ''));
