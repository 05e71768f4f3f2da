-- Monitoring. `alert_state`: when each alert rule last fired for each person or address, so
-- a rule fires once per window however many nodes check it (the claim is one conditional
-- upsert). `siem_cursors`: how far each named SIEM export has delivered the trail (the last
-- `seq` handed over and confirmed), so a restarted export resumes there: at least once.
CREATE TABLE alert_state (
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    fired_at BIGINT NOT NULL,
    PRIMARY KEY (rule, subject)
);
CREATE TABLE siem_cursors (
    name TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
