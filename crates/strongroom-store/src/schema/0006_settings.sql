-- Instance settings an administrator changes at run time (the password policy, later the
-- other sign-in rules): one JSON document per name, read on every use, so every node
-- enforces a change at once. See src/settings.rs.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
)
