-- Password-reset links: single use (the row goes when it is used, and with every newer
-- request), live 30 minutes. Only the SHA-256 of the link's secret is kept.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX password_resets_user ON password_resets (user_id);
