-- Secrets the instance keeps (credentials of outside services, later 2FA seeds and signing
-- keys): hex of a sealed at-rest object under master key `key_id`, or of the value itself when
-- `key_id` is NULL (encryption at rest off). See src/secrets.rs.
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    stored TEXT NOT NULL,
    key_id TEXT,
    updated_at BIGINT NOT NULL
)
