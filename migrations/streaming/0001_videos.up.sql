-- Videos: one row per uploaded or imported source, for a movie (title_id)
-- or an episode (episode_id) of content's catalog (no cross-schema keys:
-- streaming tells content through its interface when a video is ready).
--
-- state: created     the row exists, no bytes yet;
--        uploading   tus has received part of the source;
--        queued      the source is complete and the transcode job is queued;
--        processing  ffmpeg is running (progress 0..1);
--        ready       the ladder is published under prefix;
--        failed      error says why, in words a person understands;
--        canceled    an operator stopped it.
CREATE TABLE streaming.videos (
    id          uuid PRIMARY KEY,
    title_id    uuid NOT NULL,
    episode_id  uuid,
    language    text NOT NULL CHECK (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$'),
    state       text NOT NULL DEFAULT 'created' CHECK (state IN ('created', 'uploading', 'queued', 'processing', 'ready', 'failed', 'canceled')),
    upload_id   text UNIQUE,                 -- tus upload id; its file under UPLOAD_DIR is the source
    source_size bigint,
    progress    real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    duration_ms bigint,
    width       integer,
    height      integer,
    attempts    integer NOT NULL DEFAULT 0,  -- transcode runs started
    error_code  text,
    error       text,
    prefix      text,                        -- storage prefix of the published ladder; null until ready
    job_id      bigint,                      -- the current transcode job (river.river_job.id)
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    ready_at    timestamptz
);
CREATE INDEX videos_state_idx ON streaming.videos (state, created_at DESC);
CREATE INDEX videos_title_idx ON streaming.videos (title_id);

-- Renditions: the video ladder's rungs as measured in the output.
CREATE TABLE streaming.renditions (
    video_id        uuid NOT NULL REFERENCES streaming.videos (id) ON DELETE CASCADE,
    name            text NOT NULL,           -- e.g. 720p; also its directory
    width           integer NOT NULL,
    height          integer NOT NULL,
    bitrate         integer NOT NULL,        -- peak segment bit rate, bits/s (BANDWIDTH)
    average_bitrate integer NOT NULL,        -- AVERAGE-BANDWIDTH
    codecs          text NOT NULL,           -- e.g. avc1.64001f,mp4a.40.2
    frame_rate      numeric(7, 3) NOT NULL,
    PRIMARY KEY (video_id, name)
);

-- Audio tracks: each audio stream of the source, as an AAC stereo rendition.
CREATE TABLE streaming.audio_tracks (
    video_id   uuid NOT NULL REFERENCES streaming.videos (id) ON DELETE CASCADE,
    name       text NOT NULL,                -- its directory, e.g. audio_0
    language   text NOT NULL,
    is_default boolean NOT NULL,
    bitrate    integer NOT NULL,
    codecs     text NOT NULL,
    PRIMARY KEY (video_id, name)
);

-- Subtitles: WebVTT per language, uploaded by an operator (SRT converted).
CREATE TABLE streaming.subtitles (
    video_id   uuid NOT NULL REFERENCES streaming.videos (id) ON DELETE CASCADE,
    language   text NOT NULL,
    key        text NOT NULL,                -- storage key of the .vtt
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (video_id, language)
);
