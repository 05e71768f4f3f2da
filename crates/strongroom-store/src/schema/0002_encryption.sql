-- Encryption at rest: how each version's blob is stored. Both NULL: plaintext.
ALTER TABLE file_versions ADD COLUMN enc_key_id TEXT;
ALTER TABLE file_versions ADD COLUMN enc_object_id TEXT
