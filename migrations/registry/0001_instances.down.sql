DROP TABLE IF EXISTS registry.instances;
