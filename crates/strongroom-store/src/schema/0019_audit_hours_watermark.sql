-- How far `audit_hours` has noted the chain. A node of release 17 (before migration 18),
-- still running during a rolling upgrade, appends without noting its events' hours; the next
-- append of a newer node notes every place after this mark, and until then a dated search
-- leaves the places after it unbounded, so that no event is missed. Noted again from the
-- events themselves here, for whatever such nodes wrote since migration 18.
ALTER TABLE audit_chain ADD COLUMN hours_seq BIGINT NOT NULL DEFAULT 0;
DELETE FROM audit_hours;
INSERT INTO audit_hours (hour, first_seq, last_seq)
SELECT at / 3600000, MIN(seq), MAX(seq) FROM audit_events WHERE seq IS NOT NULL GROUP BY at / 3600000;
UPDATE audit_chain SET hours_seq = head_seq WHERE id = 1;
