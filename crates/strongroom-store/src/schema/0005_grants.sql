-- Grants on rooms, folders and files. A room member is a grant on the room node, and a folder or
-- a file may override it for a user or group, with more or less access. Each grant carries its
-- own restrictions. Rooms get their own policy: restrictions binding everyone but room admins,
-- sharing by room admins only, and the watermark stamped on downloads below a level.
CREATE TABLE grants (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    node_kind TEXT NOT NULL,
    node_id TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    access TEXT NOT NULL,
    no_download BIGINT NOT NULL DEFAULT 0,
    no_print BIGINT NOT NULL DEFAULT 0,
    no_copy BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (node_kind, node_id, subject_kind, subject_id)
);
CREATE INDEX grants_room ON grants (room_id);
CREATE INDEX grants_subject ON grants (subject_kind, subject_id);
INSERT INTO grants (room_id, node_kind, node_id, subject_kind, subject_id, access)
    SELECT room_id, 'room', room_id, subject_kind, subject_id, access FROM room_members;
DROP TABLE room_members;
ALTER TABLE rooms ADD COLUMN no_download BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN no_print BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN no_copy BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN sharing_admins_only BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN watermark_below TEXT;
ALTER TABLE rooms ADD COLUMN watermark_text TEXT;
-- An API token may reach less than its user: read-only, and/or one room.
ALTER TABLE api_tokens ADD COLUMN read_only BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN room_id TEXT;
-- External links to a folder or a file. Only the SHA-256 of the link's secret is kept, a
-- password is an Argon2id PHC string. Failed unlocks are counted per link to throttle guessing.
CREATE TABLE links (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    node_kind TEXT NOT NULL,
    node_id TEXT NOT NULL,
    access TEXT NOT NULL,
    no_download BIGINT NOT NULL DEFAULT 0,
    no_print BIGINT NOT NULL DEFAULT 0,
    no_copy BIGINT NOT NULL DEFAULT 0,
    password_hash TEXT,
    expires_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    failed_unlocks BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT
);
CREATE INDEX links_node ON links (node_kind, node_id);
-- What an unlocked link hands out: a short-lived session for that link alone.
CREATE TABLE link_sessions (
    id_hash TEXT PRIMARY KEY,
    link_id TEXT NOT NULL REFERENCES links (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
