package streaming

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// CancelVideo stops a video that is not done: its upload is refused from
// now on, its transcode's ffmpeg is killed (here at once, on another
// instance within a second). It returns ErrVideoNotFound, or
// ErrWrongState for a video ready, failed or canceled already.
func (s *Service) CancelVideo(ctx context.Context, id string) (Video, error) {
	if _, err := findVideoRow(ctx, s.db, id, false); err != nil {
		return Video{}, err
	}
	ok, err := setState(ctx, s.db, id, StateCanceled, []State{StateCreated, StateUploading, StateQueued, StateProcessing}, 0, "progress = 0")
	if err != nil {
		return Video{}, err
	}
	if !ok {
		return Video{}, ErrWrongState
	}
	s.running.stop(id)
	return s.FindVideo(ctx, id)
}

// RetryVideo queues a failed or canceled video again, from its uploaded
// source. It returns ErrVideoNotFound, or ErrWrongState when the video is
// in another state or its upload never finished.
func (s *Service) RetryVideo(ctx context.Context, id string) (Video, error) {
	r, err := findVideoRow(ctx, s.db, id, false)
	if err != nil {
		return Video{}, err
	}
	if !r.UploadID.Valid || !s.uploadComplete(ctx, r.UploadID.String) {
		return Video{}, ErrWrongState
	}
	var ok bool
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		ok, err = s.queueTx(ctx, tx, id, []State{StateFailed, StateCanceled}, "attempts = 0")
		return err
	})
	if err != nil {
		return Video{}, err
	}
	if !ok {
		return Video{}, ErrWrongState
	}
	return s.FindVideo(ctx, id)
}

func (s *Service) uploadComplete(ctx context.Context, uploadID string) bool {
	up, err := s.uploads.store.GetUpload(ctx, uploadID)
	if err != nil {
		return false
	}
	info, err := up.GetInfo(ctx)
	return err == nil && !info.SizeIsDeferred && info.Offset == info.Size
}

// DeleteVideo deletes a video in any state: a running transcode stops,
// the catalog forgets it, and its files in storage and its upload are
// deleted (now, and by a purge job until that succeeds). It returns
// ErrVideoNotFound.
func (s *Service) DeleteVideo(ctx context.Context, id string) error {
	var r videoRow
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if r, err = findVideoRow(ctx, tx, id, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM streaming.videos WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete video %s: %w", id, err)
		}
		_, err = s.queue.InsertTx(ctx, tx.Tx, PurgeArgs{VideoID: id}, nil)
		return err
	})
	if err != nil {
		return err
	}
	s.running.stop(id)
	if err := s.catalog.SetVideo(ctx, r.target(), id, false); err != nil {
		s.log.Warn().Err(err).Str("video_id", id).Msg("detach deleted video from the catalog")
	}
	_ = s.purge(ctx, id) // the purge job retries what fails here
	return nil
}

// PutSubtitles stores a video's subtitles in one language, WebVTT as
// sent or SRT converted to WebVTT, replacing any earlier. It returns
// ErrVideoNotFound, a validation error for the language, or ErrSubtitle.
func (s *Service) PutSubtitles(ctx context.Context, id, lang string, body io.Reader) (Video, error) {
	if !langRE.MatchString(lang) {
		return Video{}, invalid("lang", "invalid", `Must be a language tag such as "en" or "pt-BR".`)
	}
	if _, err := findVideoRow(ctx, s.db, id, false); err != nil {
		return Video{}, err
	}
	data, err := io.ReadAll(io.LimitReader(body, 5<<20+1))
	if err != nil {
		return Video{}, err
	}
	if len(data) > 5<<20 {
		return Video{}, invalid("body", "too_large", "Subtitles may be at most 5 MiB.")
	}
	vtt, err := toWebVTT(data)
	if err != nil {
		return Video{}, err
	}
	key := "video/" + id + "/subtitles/" + lang + ".vtt"
	if err := s.store.Put(ctx, key, bytes.NewReader(vtt)); err != nil {
		return Video{}, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO streaming.subtitles (video_id, language, key) VALUES ($1, $2, $3)
		ON CONFLICT (video_id, language) DO UPDATE SET key = EXCLUDED.key, created_at = now()`, id, lang, key); err != nil {
		if strings.Contains(err.Error(), "violates foreign key") {
			return Video{}, ErrVideoNotFound
		}
		return Video{}, fmt.Errorf("subtitles of %s: %w", id, err)
	}
	return s.FindVideo(ctx, id)
}

var srtTime = regexp.MustCompile(`^(\d{1,2}:\d{2}:\d{2})[,.](\d{3})\s*-->\s*(\d{1,2}:\d{2}:\d{2})[,.](\d{3})`)

// toWebVTT returns WebVTT as is, or converts SRT: cue numbers kept as
// identifiers, commas in times turned to dots. Anything else is ErrSubtitle.
func toWebVTT(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, ErrSubtitle
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if strings.HasPrefix(text, "WEBVTT") {
		return []byte(text), nil
	}
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	cues := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := srtTime.FindStringSubmatch(line); m != nil {
			cues++
			h1, h2 := m[1], m[3]
			if len(h1) == 7 {
				h1 = "0" + h1
			}
			if len(h2) == 7 {
				h2 = "0" + h2
			}
			fmt.Fprintf(&b, "%s.%s --> %s.%s%s\n", h1, m[2], h2, m[4], srtTime.ReplaceAllString(line, ""))
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if cues == 0 {
		return nil, ErrSubtitle
	}
	return []byte(b.String()), nil
}

// ImportFile ingests a file on disk through the upload pipeline: a video
// for the target (a movie's id or key, or a series' with season and
// episode numbers), the file copied into the upload store as if uploaded,
// the transcode queued in the same transaction as the state change. It
// returns the catalog's errors for an unknown target.
func (s *Service) ImportFile(ctx context.Context, path, ref string, season, episode int, language string) (Video, error) {
	f, err := os.Open(path)
	if err != nil {
		return Video{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Video{}, err
	}
	if fi.Size() > s.cfg.MaxBytes {
		return Video{}, fmt.Errorf("%s is %d bytes; VIDEO_MAX_BYTES is %d", path, fi.Size(), s.cfg.MaxBytes)
	}
	t, err := s.catalog.FindTarget(ctx, ref, season, episode)
	if err != nil {
		return Video{}, err
	}
	v, err := s.CreateVideo(ctx, t, language)
	if err != nil {
		return Video{}, err
	}
	if _, err := setState(ctx, s.db, v.ID, StateUploading, []State{StateCreated}, 0, "upload_id = $5, source_size = $6", v.ID, fi.Size()); err != nil {
		return Video{}, err
	}
	up, err := s.uploads.store.NewUpload(ctx, handler.FileInfo{ID: v.ID, Size: fi.Size(), MetaData: handler.MetaData{"video_id": v.ID, "filename": fi.Name()}})
	if err != nil {
		return Video{}, fmt.Errorf("import %s: %w", path, err)
	}
	if _, err := up.WriteChunk(ctx, 0, f); err != nil {
		return Video{}, fmt.Errorf("import %s: %w", path, err)
	}
	var ok bool
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		ok, err = s.queueTx(ctx, tx, v.ID, []State{StateUploading}, "")
		return err
	})
	if err != nil {
		return Video{}, err
	}
	if !ok {
		return Video{}, errors.New("import: the video was canceled or deleted meanwhile")
	}
	return s.FindVideo(ctx, v.ID)
}
