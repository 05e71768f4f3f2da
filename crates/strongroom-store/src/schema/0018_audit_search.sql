-- Searches of a 10-million-event trail under 100 ms (bench/audit/RESULTS.md).
--
-- Pairs that are asked together: a person's events of one kind, and an action with an outcome
-- (failed sign-ins, refused downloads). With one filter's index alone, the other is checked
-- row by row: a busy person's whole history to find a rare action.
CREATE INDEX audit_events_actor_action ON audit_events (actor_id, action, seq);
CREATE INDEX audit_events_action_outcome ON audit_events (action, outcome, seq);
-- Where each hour of the trail lies in the chain: the first and last place of the events
-- stamped in that hour. A search with a date range looks up the places its window can span
-- and bounds `seq` by them, so every audit index (they all end in `seq`) serves it. Exact
-- whatever the nodes' clocks did: an event stamped in an hour lies between its bounds. Not
-- part of the chain: `audit verify` does not read it, and a wrong row can only hide events
-- from a search, never alter them.
CREATE TABLE audit_hours (
    hour BIGINT PRIMARY KEY,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL
);
INSERT INTO audit_hours (hour, first_seq, last_seq)
SELECT at / 3600000, MIN(seq), MAX(seq) FROM audit_events WHERE seq IS NOT NULL GROUP BY at / 3600000;
