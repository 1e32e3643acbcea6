-- Live streamflix instances. Each instance upserts its row on start and on
-- every heartbeat; rows whose heartbeat is older than INSTANCE_TTL are not
-- live and are deleted by the registry's periodic prune job.
CREATE TABLE registry.instances (
    id           text PRIMARY KEY,
    address      text NOT NULL,
    version      text NOT NULL,
    hostname     text NOT NULL,
    pid          integer NOT NULL,
    modules      jsonb NOT NULL DEFAULT '[]',
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    stopping     boolean NOT NULL DEFAULT false
);

CREATE INDEX instances_heartbeat_at_idx ON registry.instances (heartbeat_at);
