-- Sign-in rules (see src/throttle.rs, src/login_history.rs, src/sessions.rs).

-- Failed sign-ins counted per account and per (account, client address), so every node sees
-- the same count. `account` is the SHA-256 of the e-mail address as normalised, never the
-- address typed: a password typed into the e-mail field must not be stored. Unknown
-- addresses are counted alike, so the count says nothing about which accounts exist.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    blocked_until BIGINT
);
CREATE INDEX login_throttle_account ON login_throttle (account);

-- Sign-ins, refusals with their reason, sign-outs and session expiries. Kept for the
-- configured retention, then deleted (the audit trail keeps its own record).
CREATE TABLE login_history (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    event TEXT NOT NULL,
    reason TEXT,
    user_id TEXT,
    email TEXT,
    ip TEXT,
    browser TEXT,
    platform TEXT
);
CREATE INDEX login_history_at ON login_history (at);
CREATE INDEX login_history_user ON login_history (user_id, at);

-- A session's public id (listed to its holder and administrators, never its secret's hash)
-- and when it was last used (the idle timeout). Sessions from before get an id derived from
-- their hash, which reveals nothing of the secret.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;
UPDATE sessions SET id = 'ses_' || substr(id_hash, 1, 24), last_seen_at = created_at;
CREATE UNIQUE INDEX sessions_public_id ON sessions (id);
