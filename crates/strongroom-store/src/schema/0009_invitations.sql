-- Invitations to make an account: sent by an administrator of people (`kind` 'invitation',
-- with the role they chose) or asked for by the person at self-sign-up ('sign_up', with the
-- role the sign-up settings give). Single use: the row goes when the account is made, and
-- with a newer invitation to the same address. Only the SHA-256 of the link's secret is kept.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    admin_modules TEXT NOT NULL,
    invited_by TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX invitations_email ON invitations (email);
