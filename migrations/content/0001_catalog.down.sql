-- pg_trgm stays: other schemas may use it.
DROP TABLE IF EXISTS content.episodes;
DROP TABLE IF EXISTS content.seasons;
DROP TABLE IF EXISTS content.title_people;
DROP TABLE IF EXISTS content.people;
DROP TABLE IF EXISTS content.title_genres;
DROP TABLE IF EXISTS content.genres;
DROP TABLE IF EXISTS content.titles;
DROP FUNCTION IF EXISTS content.text_list(text[]);
