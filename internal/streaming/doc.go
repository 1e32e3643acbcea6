// Package streaming is the video module: it takes a video in, from an
// operator's resumable upload or a file on disk, turns it into an adaptive
// HLS ladder in storage, and tells the catalog when a title or episode
// becomes playable.
//
// Schema "streaming": videos (one per source, with its state, progress,
// attempts and error), renditions (the measured ladder), audio_tracks and
// subtitles.
//
// Routes (admin): POST/GET /admin/videos, GET/DELETE /admin/videos/{id},
// POST /admin/videos/{id}/retry and /cancel, PUT
// /admin/videos/{id}/subtitles/{lang}; the tus 1.0 endpoint under
// /api/v1/uploads/ (tusd, a file store in UploadDir, Postgres advisory
// locks across instances). The upload's last PATCH queues the transcode in
// the same transaction as the state change (tusd's pre-finish hook).
//
// Jobs, on the "streaming" queue: streaming.transcode (ffprobe, then one
// ffmpeg process making every rung, the audio renditions, the poster and
// the trickplay sprites; a long Timeout), streaming.purge (a deleted
// video's files) and the hourly streaming.cleanup_uploads.
//
// Storage layout: video/{id}/{run}/ holds one published ladder
// (master.m3u8, {height}p/, audio_N/, poster.jpg, sprite_NNN.jpg,
// thumbnails.vtt), written by a run under its own prefix and made visible
// by the commit that marks the video ready; video/{id}/subtitles/{lang}.vtt
// holds subtitles.
//
// Needs (deps.go): Storage (platform/storage), Catalog (content: check
// and find targets, set video_id) and an Inserter (River, in the caller's
// transaction).
package streaming
