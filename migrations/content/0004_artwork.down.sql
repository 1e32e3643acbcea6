ALTER TABLE content.titles
    DROP COLUMN poster,
    DROP COLUMN backdrop,
    ADD COLUMN poster_key text NOT NULL DEFAULT '',
    ADD COLUMN backdrop_key text NOT NULL DEFAULT '';
