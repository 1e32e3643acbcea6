package streaming

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

type videoRow struct {
	ID         string         `db:"id"`
	TitleID    string         `db:"title_id"`
	EpisodeID  sql.NullString `db:"episode_id"`
	Language   string         `db:"language"`
	State      State          `db:"state"`
	UploadID   sql.NullString `db:"upload_id"`
	SourceSize sql.NullInt64  `db:"source_size"`
	Progress   float64        `db:"progress"`
	DurationMS sql.NullInt64  `db:"duration_ms"`
	Width      sql.NullInt32  `db:"width"`
	Height     sql.NullInt32  `db:"height"`
	Attempts   int            `db:"attempts"`
	ErrorCode  sql.NullString `db:"error_code"`
	Error      sql.NullString `db:"error"`
	Prefix     sql.NullString `db:"prefix"`
	JobID      sql.NullInt64  `db:"job_id"`
	CreatedAt  time.Time      `db:"created_at"`
	UpdatedAt  time.Time      `db:"updated_at"`
	ReadyAt    sql.NullTime   `db:"ready_at"`
}

const videoCols = `id, title_id, episode_id, language, state, upload_id, source_size, progress, duration_ms, width, height,
	attempts, error_code, error, prefix, job_id, created_at, updated_at, ready_at`

func (r videoRow) target() Target { return Target{TitleID: r.TitleID, EpisodeID: r.EpisodeID.String} }

func (s *Service) video(r videoRow) Video {
	v := Video{ID: r.ID, TitleID: r.TitleID, Language: r.Language, State: r.State, Progress: r.Progress,
		Attempts: r.Attempts, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Renditions: []Rendition{}, Audio: []Audio{}, Subtitles: []Subtitle{}}
	if r.EpisodeID.Valid {
		v.EpisodeID = &r.EpisodeID.String
	}
	if r.DurationMS.Valid {
		d := float64(r.DurationMS.Int64) / 1000
		v.Duration = &d
	}
	if r.Width.Valid {
		w, h := int(r.Width.Int32), int(r.Height.Int32)
		v.Width, v.Height = &w, &h
	}
	if r.SourceSize.Valid {
		v.SourceSize = &r.SourceSize.Int64
	}
	if r.ErrorCode.Valid {
		v.ErrorCode, v.Error = &r.ErrorCode.String, &r.Error.String
	}
	if r.ReadyAt.Valid {
		t := r.ReadyAt.Time
		v.ReadyAt = &t
	}
	if r.Prefix.Valid && r.State == StateReady {
		v.Prefix = r.Prefix.String
		p, poster, thumbs := s.mediaURL(r.Prefix.String+"/"+masterName), s.mediaURL(r.Prefix.String+"/"+posterName), s.mediaURL(r.Prefix.String+"/"+thumbsVTT)
		v.Playlist, v.Poster, v.Thumbnails = &p, &poster, &thumbs
	}
	return v
}

func findVideoRow(ctx context.Context, q sqlx.QueryerContext, id string, lock bool) (videoRow, error) {
	var r videoRow
	if !validID(id) {
		return r, ErrVideoNotFound
	}
	query := `SELECT ` + videoCols + ` FROM streaming.videos WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	err := sqlx.GetContext(ctx, q, &r, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrVideoNotFound
	}
	if err != nil {
		return r, fmt.Errorf("find video %s: %w", id, err)
	}
	return r, nil
}

// FindVideo returns a video with its renditions, audio and subtitles, or
// ErrVideoNotFound.
func (s *Service) FindVideo(ctx context.Context, id string) (Video, error) {
	r, err := findVideoRow(ctx, s.db, id, false)
	if err != nil {
		return Video{}, err
	}
	v := s.video(r)
	if r.State == StateUploading && r.UploadID.Valid {
		if up, err := s.uploads.store.GetUpload(ctx, r.UploadID.String); err == nil {
			if info, err := up.GetInfo(ctx); err == nil {
				v.UploadedBytes = &info.Offset
			}
		}
	}
	if err := s.db.SelectContext(ctx, &v.Renditions, `SELECT name, width, height, bitrate, average_bitrate, codecs, frame_rate
		FROM streaming.renditions WHERE video_id = $1 ORDER BY height DESC, bitrate DESC`, id); err != nil {
		return Video{}, fmt.Errorf("renditions of %s: %w", id, err)
	}
	if err := s.db.SelectContext(ctx, &v.Audio, `SELECT name, language, is_default, bitrate, codecs
		FROM streaming.audio_tracks WHERE video_id = $1 ORDER BY name`, id); err != nil {
		return Video{}, fmt.Errorf("audio of %s: %w", id, err)
	}
	if err := s.db.SelectContext(ctx, &v.Subtitles, `SELECT language, key FROM streaming.subtitles WHERE video_id = $1 ORDER BY language`, id); err != nil {
		return Video{}, fmt.Errorf("subtitles of %s: %w", id, err)
	}
	for i := range v.Subtitles {
		v.Subtitles[i].URL = s.mediaURL(v.Subtitles[i].Key)
	}
	return v, nil
}

// VideoFilter narrows FindVideos.
type VideoFilter struct {
	State   State
	TitleID string
	Limit   int // default 50, at most 200
}

// VideoList is a page of videos, newest first.
type VideoList struct {
	Videos []Video `json:"videos"`
}

// FindVideos lists videos, newest first, without their renditions. It
// returns a validation error for an unknown state.
func (s *Service) FindVideos(ctx context.Context, f VideoFilter) (VideoList, error) {
	var where []string
	var args []any
	if f.State != "" {
		ok := false
		for _, st := range states {
			ok = ok || st == f.State
		}
		if !ok {
			return VideoList{}, invalid("state", "invalid", "Must be one of created, uploading, queued, processing, ready, failed, canceled.")
		}
		args = append(args, f.State)
		where = append(where, fmt.Sprintf("state = $%d", len(args)))
	}
	if f.TitleID != "" {
		if !validID(f.TitleID) {
			return VideoList{Videos: []Video{}}, nil
		}
		args = append(args, f.TitleID)
		where = append(where, fmt.Sprintf("title_id = $%d", len(args)))
	}
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	q := `SELECT ` + videoCols + ` FROM streaming.videos`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY created_at DESC, id LIMIT $%d`, len(args))
	var rows []videoRow
	if err := s.db.SelectContext(ctx, &rows, q, args...); err != nil {
		return VideoList{}, fmt.Errorf("list videos: %w", err)
	}
	out := VideoList{Videos: make([]Video, len(rows))}
	for i, r := range rows {
		out.Videos[i] = s.video(r)
	}
	return out, nil
}

// setState moves a video from one of from to `to` with extra SET clauses
// (their arguments from $5), reporting whether it was in one of from. A
// non-zero jobID also requires the video's current job to be that one, so
// that a run superseded by a retry changes nothing.
func setState(ctx context.Context, e sqlx.ExecerContext, id string, to State, from []State, jobID int64, set string, args ...any) (bool, error) {
	q := `UPDATE streaming.videos SET state = $2, updated_at = now()`
	if set != "" {
		q += `, ` + set
	}
	q += ` WHERE id = $1 AND state = ANY($3) AND ($4::bigint = 0 OR job_id = $4)`
	fs := make(pq.StringArray, len(from))
	for i, f := range from {
		fs[i] = string(f)
	}
	res, err := e.ExecContext(ctx, q, append([]any{id, to, fs, jobID}, args...)...)
	if err != nil {
		return false, fmt.Errorf("video %s to %s: %w", id, to, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
