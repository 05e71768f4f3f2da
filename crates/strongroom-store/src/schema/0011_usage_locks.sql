-- A row per person and per room that only uploads under a storage quota lock, so racing
-- uploads are counted one after the other without locking the `users` or `rooms` rows that
-- sign-in and administration lock in their own order (which could deadlock).
CREATE TABLE usage_locks (
    key TEXT PRIMARY KEY
);
