-- Artwork: a title's poster and backdrop, each kept as JPEG renditions at
-- standard widths under one content-addressed storage prefix:
--   {"key": "artwork/<hash>", "color": "#1f2a44", "widths": [185, 342, ...]}
-- (objects <key>/<width>.jpg, widths ascending; color is the placeholder
-- shown while an image loads). NULL: no image. They replace the bare
-- storage keys of 0001, which nothing could fill or resolve.
ALTER TABLE content.titles
    DROP COLUMN poster_key,
    DROP COLUMN backdrop_key,
    ADD COLUMN poster jsonb CHECK (jsonb_typeof(poster) = 'object'),
    ADD COLUMN backdrop jsonb CHECK (jsonb_typeof(backdrop) = 'object');
