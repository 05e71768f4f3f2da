-- When the latest conversion towards each target started, and how far the instance was then,
-- so any node can tell the rate and the time left.
CREATE TABLE conversion_runs (
    target TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    start_bytes BIGINT NOT NULL
)
