-- A passwordless sign-in's passkey ceremony (WebAuthn), started before anyone is named: the
-- state the authenticator's answer is checked against, kept here so that any node can
-- finish a ceremony another started. One use, five minutes.
CREATE TABLE passkey_ceremonies (
    id_hash TEXT PRIMARY KEY,
    ceremony TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);
