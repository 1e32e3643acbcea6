-- Catalog import finds a credit's person by exact name (the oldest person
-- with that name); without this index every credit of an import would scan
-- the whole people table.
CREATE INDEX people_name_idx ON content.people (name, created_at, id);
