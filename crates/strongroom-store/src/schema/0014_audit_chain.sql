-- The audit trail becomes a hash chain (docs/formats/audit-chain-v1.md): every event gets its
-- place (seq, given by the database under the head row's lock), the hash of the event before
-- it and its own, and a salted digest of its personal data; events record more of who, how
-- and what. Events written before this step are chained once, at start-up, in their order.
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
ALTER TABLE audit_events ADD COLUMN personal_salt TEXT;
ALTER TABLE audit_events ADD COLUMN personal_digest TEXT;
ALTER TABLE audit_events ADD COLUMN erased_by TEXT;
ALTER TABLE audit_events ADD COLUMN product TEXT;
ALTER TABLE audit_events ADD COLUMN initiator TEXT;
ALTER TABLE audit_events ADD COLUMN route TEXT;
ALTER TABLE audit_events ADD COLUMN actor_name TEXT;
ALTER TABLE audit_events ADD COLUMN target_name TEXT;
ALTER TABLE audit_events ADD COLUMN target_path TEXT;
UPDATE audit_events SET product = module;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);
CREATE INDEX audit_events_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_target ON audit_events (target_id, seq);
CREATE INDEX audit_events_ip ON audit_events (ip, seq);
CREATE INDEX audit_events_product ON audit_events (product, module, seq);

-- The chain's head (the last event's place and hash) and where the kept chain starts (after
-- retention pruning: the first kept event's place and the hash before it, vouched for by the
-- seal at start_seq - 1). One row; its lock orders every append.
CREATE TABLE audit_chain (
    id BIGINT PRIMARY KEY,
    head_seq BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    start_seq BIGINT NOT NULL,
    start_prev TEXT NOT NULL,
    legacy_chained BIGINT NOT NULL
);
INSERT INTO audit_chain (id, head_seq, head_hash, start_seq, start_prev, legacy_chained)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 1,
        '0000000000000000000000000000000000000000000000000000000000000000', 0);

-- Signed checkpoints of the chain head (Ed25519, key outside the database).
CREATE TABLE audit_seals (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    at BIGINT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);
