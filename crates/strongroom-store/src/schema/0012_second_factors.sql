-- Second factors: authenticator apps (TOTP; the seed is a sealed secret named after the
-- factor), phones for SMS codes, passkeys. A factor is pending until a first code (or
-- ceremony) confirms it; only confirmed ones count at sign-in.
CREATE TABLE second_factors (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    -- sms: the number (E.164).
    phone TEXT,
    -- passkey: the credential (public key, signature counter) as webauthn-rs keeps it.
    credential TEXT,
    -- totp: the last time step a code was accepted for; a code of this step or an earlier
    -- one is a replay. Advanced by a conditional UPDATE, so two nodes cannot both accept it.
    last_step BIGINT NOT NULL DEFAULT 0,
    confirmed_at BIGINT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX second_factors_user ON second_factors (user_id);

-- Backup codes, ten per person at a time, as SHA-256 hashes; a used one keeps its row
-- (used_at) until the next set replaces them all.
CREATE TABLE backup_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- What waits for a second factor: a sign-in whose password was right (held by the client
-- as an `srf_` secret, of which only the hash is kept), a step-up of a session, the
-- confirmation of a phone. Any node finishes what another began: SMS codes (hashed),
-- attempts and passkey ceremony state live here. Short-lived.
CREATE TABLE factor_challenges (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    -- sign_in: the password hash that was checked (a reset meanwhile voids the challenge).
    password_hash TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    sms_factor_id TEXT,
    sms_code_hash TEXT,
    sms_expires_at BIGINT,
    ceremony TEXT,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX factor_challenges_user ON factor_challenges (user_id);

-- Which factors a session was opened with (`password`, `password totp`, `passkey`, …) and
-- when one was last given (sign-in or step-up): sensitive changes ask for a recent one.
ALTER TABLE sessions ADD COLUMN factors TEXT;
ALTER TABLE sessions ADD COLUMN verified_at BIGINT;
