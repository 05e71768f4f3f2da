-- A search by module alone (`GET /api/v1/audit?module=…`) had no index of its own: the
-- product index leads with the product. Measured with bench/audit (10 million events).
CREATE INDEX audit_events_module ON audit_events (module, seq);
