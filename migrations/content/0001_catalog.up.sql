-- The catalog: titles (movies and series), seasons, episodes, genres and
-- people. Viewers see a title only when it is published, inside its
-- availability window and at or under their profile's maturity ceiling;
-- those filters live in every viewer query.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- text_list joins a text array for the search vector; array_to_string is
-- only STABLE, and a generated column needs an IMMUTABLE expression.
CREATE FUNCTION content.text_list(a text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_to_string(a, ' '), '') $$;

CREATE TABLE content.titles (
    id              uuid PRIMARY KEY,
    external_key    text UNIQUE,                    -- stable key for import; null when made by hand
    kind            text NOT NULL CHECK (kind IN ('movie', 'series')),
    name            text NOT NULL CHECK (name <> ''),
    original_name   text NOT NULL DEFAULT '',
    synopsis        text NOT NULL DEFAULT '',
    release_year    integer CHECK (release_year BETWEEN 1870 AND 2200),
    runtime_minutes integer CHECK (runtime_minutes > 0),
    maturity_rating text NOT NULL CHECK (maturity_rating IN ('G', 'PG', 'PG-13', 'R', 'NC-17', 'TV-Y', 'TV-Y7', 'TV-G', 'TV-PG', 'TV-14', 'TV-MA')),
    -- The same scale as the user module's profile ceilings.
    maturity_level  integer NOT NULL GENERATED ALWAYS AS (CASE maturity_rating
        WHEN 'G' THEN 10 WHEN 'TV-Y' THEN 10 WHEN 'TV-G' THEN 10
        WHEN 'PG' THEN 20 WHEN 'TV-Y7' THEN 20 WHEN 'TV-PG' THEN 20
        WHEN 'PG-13' THEN 30 WHEN 'TV-14' THEN 30
        WHEN 'R' THEN 40 WHEN 'TV-MA' THEN 40
        ELSE 50 END) STORED,
    languages       text[] NOT NULL DEFAULT '{}',
    tags            text[] NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    published_at    timestamptz,                    -- set on first publish; orders browse lists
    available_from  timestamptz,                    -- null: as soon as published
    available_until timestamptz,                    -- null: forever
    poster_key      text NOT NULL DEFAULT '',
    backdrop_key    text NOT NULL DEFAULT '',
    video_id        text,                           -- streaming's video (movies); null until attached
    playable        boolean NOT NULL DEFAULT false, -- maintained by the service: a video is attached (movie) or to any episode (series)
    people_text     text NOT NULL DEFAULT '',       -- names of the title's people, maintained by the service, for search
    search          tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A') ||
        setweight(to_tsvector('english', original_name), 'A') ||
        setweight(to_tsvector('english', content.text_list(tags)), 'B') ||
        setweight(to_tsvector('english', people_text), 'B') ||
        setweight(to_tsvector('english', synopsis), 'C')) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT titles_published_at_check CHECK (status = 'draft' OR published_at IS NOT NULL),
    CONSTRAINT titles_window_check CHECK (available_until IS NULL OR available_from IS NULL OR available_until > available_from)
);

CREATE INDEX titles_search_idx ON content.titles USING gin (search);
CREATE INDEX titles_name_trgm_idx ON content.titles USING gin (lower(name) gin_trgm_ops);
CREATE INDEX titles_browse_idx ON content.titles (status, published_at DESC, id DESC);
CREATE INDEX titles_year_idx ON content.titles (status, release_year);
CREATE INDEX titles_created_idx ON content.titles (created_at);

CREATE TABLE content.genres (
    id   uuid PRIMARY KEY,
    slug text NOT NULL,
    name text NOT NULL,
    CONSTRAINT genres_slug_key UNIQUE (slug)
);

CREATE TABLE content.title_genres (
    title_id uuid NOT NULL REFERENCES content.titles (id) ON DELETE CASCADE,
    genre_id uuid NOT NULL REFERENCES content.genres (id) ON DELETE CASCADE,
    PRIMARY KEY (title_id, genre_id)
);
CREATE INDEX title_genres_genre_idx ON content.title_genres (genre_id, title_id);

CREATE TABLE content.people (
    id         uuid PRIMARY KEY,
    name       text NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE content.title_people (
    title_id  uuid NOT NULL REFERENCES content.titles (id) ON DELETE CASCADE,
    person_id uuid NOT NULL REFERENCES content.people (id) ON DELETE CASCADE,
    role      text NOT NULL CHECK (role IN ('actor', 'director', 'writer', 'creator')),
    character text NOT NULL DEFAULT '',
    position  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (title_id, person_id, role)
);
CREATE INDEX title_people_person_idx ON content.title_people (person_id, title_id);

CREATE TABLE content.seasons (
    id         uuid PRIMARY KEY,
    title_id   uuid NOT NULL REFERENCES content.titles (id) ON DELETE CASCADE,
    number     integer NOT NULL CHECK (number > 0),
    name       text NOT NULL DEFAULT '',
    synopsis   text NOT NULL DEFAULT '',
    year       integer CHECK (year BETWEEN 1870 AND 2200),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seasons_title_number_key UNIQUE (title_id, number)
);

CREATE TABLE content.episodes (
    id              uuid PRIMARY KEY,
    season_id       uuid NOT NULL REFERENCES content.seasons (id) ON DELETE CASCADE,
    number          integer NOT NULL CHECK (number > 0),
    name            text NOT NULL CHECK (name <> ''),
    synopsis        text NOT NULL DEFAULT '',
    runtime_minutes integer CHECK (runtime_minutes > 0),
    video_id        text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT episodes_season_number_key UNIQUE (season_id, number)
);
