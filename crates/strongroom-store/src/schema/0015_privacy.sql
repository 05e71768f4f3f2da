-- Restriction of processing (GDPR art. 18): a frozen person is disabled and stays so until
-- unfrozen; nothing of theirs is changed or erased. `frozen_at` is when the freeze began.
ALTER TABLE users ADD COLUMN frozen_at BIGINT;
