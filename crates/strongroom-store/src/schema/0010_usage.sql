-- Storage quotas add up the versions a person made: without an index that is a scan of
-- every version at every upload.
CREATE INDEX file_versions_created_by ON file_versions (created_by);
