-- Strongroom metadata schema, version 1. Portable SQL for SQLite and PostgreSQL.
-- Ids are UUID text, times BIGINT ms since the Unix epoch, flags BIGINT 0/1.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    admin_modules TEXT NOT NULL DEFAULT '',
    active BIGINT NOT NULL DEFAULT 1,
    password_hash TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
-- At most one Owner, enforced by the database itself.
CREATE UNIQUE INDEX users_one_owner ON users (role) WHERE role = 'owner';

CREATE TABLE groups_ (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_name ON groups_ (name);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups_ (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    root_folder_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE room_members (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    access TEXT NOT NULL,
    PRIMARY KEY (room_id, subject_kind, subject_id)
);
CREATE INDEX room_members_subject ON room_members (subject_kind, subject_id);

CREATE TABLE folders (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES folders (id),
    name TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    trashed_at BIGINT
);
CREATE INDEX folders_room ON folders (room_id);
CREATE UNIQUE INDEX folders_live_name ON folders (parent_id, name) WHERE trashed_at IS NULL;

CREATE TABLE files (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    folder_id TEXT NOT NULL REFERENCES folders (id),
    name TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    trashed_at BIGINT
);
CREATE INDEX files_folder ON files (folder_id);
CREATE INDEX files_room ON files (room_id);
CREATE UNIQUE INDEX files_live_name ON files (folder_id, name) WHERE trashed_at IS NULL;

CREATE TABLE file_versions (
    file_id TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    blob_key TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (file_id, version)
);

-- Blobs whose rows are gone but whose bytes may still exist: purged files, uploads that failed
-- after the bytes were written. A sweeper deletes them, so no delete is lost to a crash.
CREATE TABLE blob_garbage (
    blob_key TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    module TEXT NOT NULL,
    outcome TEXT NOT NULL,
    actor_id TEXT,
    actor_email TEXT,
    target_kind TEXT,
    target_id TEXT,
    ip TEXT,
    user_agent TEXT,
    request_id TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
