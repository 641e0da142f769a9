-- 004: what the session detail page needs: read-only share links, and the
-- key that signs them.

-- A read-only link to one session. The URL carries id, expiry and an HMAC
-- (see cgi/share.c); the row lets the sharer (or an admin) revoke it, and
-- ties it to the sharer, whose access decides what it shows at view time.
CREATE TABLE share_links (
  id          INTEGER PRIMARY KEY,
  session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  created_by  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,               -- ms; the link is dead from then on
  revoked_at  INTEGER,                        -- set by revoke; NULL while usable
  revoked_by  TEXT                            -- actor who revoked it
);
CREATE INDEX share_links_by_session ON share_links (session_id, created_at);

-- Server secrets, made once at migration from SQLite's randomness (the
-- operating system's generator). 'share' signs share links.
CREATE TABLE app_keys (
  name        TEXT PRIMARY KEY,
  key         BLOB NOT NULL,
  created_at  INTEGER NOT NULL
);
INSERT INTO app_keys (name, key, created_at)
VALUES ('share', randomblob(32), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));

-- The activity feed filters by type within a session.
CREATE INDEX events_by_type ON events (session_id, type, seq);
CREATE INDEX spans_by_start ON spans (session_id, start_ns);
