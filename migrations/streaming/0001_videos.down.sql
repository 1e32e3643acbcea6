DROP TABLE IF EXISTS streaming.subtitles;
DROP TABLE IF EXISTS streaming.audio_tracks;
DROP TABLE IF EXISTS streaming.renditions;
DROP TABLE IF EXISTS streaming.videos;
