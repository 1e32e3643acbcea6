package streaming

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/storage"
)

// TranscodeMaxAttempts is how many runs a video gets before it fails for
// good; River waits attempt⁴ seconds between them.
const TranscodeMaxAttempts = 5

// TranscodeArgs is the streaming.transcode job: probe the video's source,
// run ffmpeg once, publish the ladder.
type TranscodeArgs struct {
	VideoID string `json:"video_id"`
}

// Kind is the River job kind.
func (TranscodeArgs) Kind() string { return "streaming.transcode" }

// InsertOpts puts the job on streaming's queue. Not unique: a retry must
// queue a new job even while the last one is still returning; the video's
// job_id names the one job whose run counts.
func (TranscodeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: TranscodeMaxAttempts}
}

// PurgeArgs is the streaming.purge job: delete a deleted video's files
// from storage and its upload, retried until both are gone.
type PurgeArgs struct {
	VideoID string `json:"video_id"`
}

// Kind is the River job kind.
func (PurgeArgs) Kind() string { return "streaming.purge" }

// InsertOpts puts the job on streaming's queue.
func (PurgeArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueName} }

// CleanupArgs is the periodic streaming.cleanup_uploads job: uploads left
// unfinished longer than AbandonAfter are deleted and their videos fail.
type CleanupArgs struct{}

// Kind is the River job kind.
func (CleanupArgs) Kind() string { return "streaming.cleanup_uploads" }

// InsertOpts puts the job on streaming's queue, once an hour.
func (CleanupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

// TakeoverArgs is the periodic streaming.takeover job: videos whose
// transcode run stopped sending heartbeats get a new run (see takeOver).
type TakeoverArgs struct{}

// Kind is the River job kind.
func (TakeoverArgs) Kind() string { return "streaming.takeover" }

// ControlQueueName is streaming's queue of short jobs that must not wait
// behind a transcode.
const ControlQueueName = "streaming_control"

// InsertOpts puts the job on streaming's control queue, once at a time.
func (TakeoverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: ControlQueueName, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

type takeoverWorker struct {
	river.WorkerDefaults[TakeoverArgs]
	s *Service
}

func (w *takeoverWorker) Timeout(*river.Job[TakeoverArgs]) time.Duration { return time.Minute }

func (w *takeoverWorker) Work(ctx context.Context, _ *river.Job[TakeoverArgs]) error {
	_, err := w.s.takeOver(ctx)
	return err
}

// queueTx moves a video from one of from to queued (with extra SET
// clauses, args from $5) and inserts its transcode job in tx; the video
// then belongs to that job, and any older run of it stops counting.
func (s *Service) queueTx(ctx context.Context, tx *sqlx.Tx, id string, from []State, set string, args ...any) (bool, error) {
	if set != "" {
		set += ", "
	}
	set += "progress = 0, error_code = NULL, error = NULL"
	ok, err := setState(ctx, tx, id, StateQueued, from, 0, set, args...)
	if err != nil || !ok {
		return ok, err
	}
	res, err := s.queue.InsertTx(ctx, tx.Tx, TranscodeArgs{VideoID: id}, nil)
	if err != nil {
		return false, fmt.Errorf("enqueue transcode of %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE streaming.videos SET job_id = $2 WHERE id = $1`, id, res.Job.ID); err != nil {
		return false, fmt.Errorf("video %s job: %w", id, err)
	}
	return true, nil
}

type transcodeWorker struct {
	river.WorkerDefaults[TranscodeArgs]
	s *Service
}

// Timeout is long: one run transcodes a whole film.
func (w *transcodeWorker) Timeout(*river.Job[TranscodeArgs]) time.Duration { return w.s.cfg.JobTimeout }

func (w *transcodeWorker) Work(ctx context.Context, job *river.Job[TranscodeArgs]) error {
	err := w.s.transcode(ctx, job.Args.VideoID, job.ID)
	if err == nil {
		return nil
	}
	// Not a failure of the video: say so, and let River run it again.
	last := job.Attempt >= job.MaxAttempts
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if last {
		w.s.markFailed(bg, job.Args.VideoID, job.ID, fail("transcode_error", "Transcoding failed %d times; the last error was: %v", job.Attempt, err))
		return err
	}
	if _, uerr := setState(bg, w.s.db, job.Args.VideoID, StateQueued, []State{StateProcessing}, job.ID,
		"error_code = 'retrying', error = $5", fmt.Sprintf("Attempt %d did not finish (%v); it will be retried.", job.Attempt, err)); uerr != nil {
		w.s.log.Warn().Err(uerr).Str("video_id", job.Args.VideoID).Msg("requeue video")
	}
	return err
}

// TempPrefix starts the name of each run's working directory in TempDir,
// followed by the video's id.
const TempPrefix = "streamflix-transcode-"

// errStopped ends a run whose video was canceled or deleted meanwhile.
var errStopped = errors.New("streaming: video canceled or deleted")

// runs tracks this instance's transcodes, so that cancel and delete can
// stop ffmpeg at once here (other instances notice within a second).
type runs struct {
	mu sync.Mutex
	m  map[string]context.CancelCauseFunc
}

func newRuns() *runs { return &runs{m: map[string]context.CancelCauseFunc{}} }

func (r *runs) add(id string, c context.CancelCauseFunc) {
	r.mu.Lock()
	r.m[id] = c
	r.mu.Unlock()
}

func (r *runs) remove(id string) {
	r.mu.Lock()
	delete(r.m, id)
	r.mu.Unlock()
}

func (r *runs) stop(id string) {
	r.mu.Lock()
	c := r.m[id]
	r.mu.Unlock()
	if c != nil {
		c(errStopped)
	}
}

// transcode is one run of a video's transcode job. It returns nil when the
// video is done with (ready, failed for a reason in the source, canceled
// or deleted) and an error for River to retry the run.
func (s *Service) transcode(ctx context.Context, id string, jobID int64) error {
	r, err := findVideoRow(ctx, s.db, id, false)
	if errors.Is(err, ErrVideoNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch r.State {
	case StateReady:
		// An earlier run published and committed; only the catalog may
		// not have heard.
		return s.catalog.SetVideo(ctx, r.target(), id, true)
	case StateQueued, StateProcessing:
	default:
		return nil
	}
	ok, err := setState(ctx, s.db, id, StateProcessing, []State{StateQueued, StateProcessing}, jobID,
		"attempts = attempts + 1, progress = 0")
	if err != nil || !ok {
		return err
	}
	log := s.log.With().Str("video_id", id).Int64("job_id", jobID).Logger()
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	s.running.add(id, stop)
	defer s.running.remove(id)
	go s.heartbeat(runCtx, stop, id, jobID)
	src, err := s.probe(runCtx, s.uploads.sourcePath(r.UploadID.String))
	var f *Failure
	if errors.As(err, &f) {
		s.markFailed(ctx, id, jobID, f)
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE streaming.videos SET duration_ms = $2, width = $3, height = $4 WHERE id = $1`,
		id, src.Duration.Milliseconds(), src.Width, src.Height); err != nil {
		return fmt.Errorf("video %s source: %w", id, err)
	}

	// A run of a dead instance on this machine left its files behind.
	if old, _ := filepath.Glob(filepath.Join(s.cfg.TempDir, TempPrefix+id+"-*")); len(old) > 0 {
		for _, o := range old {
			_ = os.RemoveAll(o)
		}
	}
	dir, err := os.MkdirTemp(s.cfg.TempDir, TempPrefix+id+"-")
	if err != nil {
		return fmt.Errorf("transcode dir: %w", err)
	}
	defer os.RemoveAll(dir)

	rungs := rungsFor(src.Height)
	for _, rg := range rungs {
		if err := os.Mkdir(filepath.Join(dir, rungName(rg.Height)), 0o755); err != nil {
			return err
		}
	}
	var last time.Time
	reached, err := s.runFFmpeg(runCtx, dir, ffmpegArgs(s.uploads.sourcePath(r.UploadID.String), src, rungs, s.cfg.Preset), func(at time.Duration) {
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		p := min(0.99, at.Seconds()/src.Duration.Seconds())
		res, err := s.db.ExecContext(runCtx, `UPDATE streaming.videos SET progress = $2, updated_at = now() WHERE id = $1 AND state = 'processing' AND job_id = $3`, id, p, jobID)
		if err != nil {
			return
		}
		if n, _ := res.RowsAffected(); n == 0 {
			stop(errStopped) // canceled or deleted on another instance
		}
	})
	if errors.Is(context.Cause(runCtx), errStopped) {
		log.Info().Msg("transcode stopped: video canceled or deleted")
		return nil
	}
	if errors.As(err, &f) {
		s.markFailed(ctx, id, jobID, f)
		return nil
	}
	if err != nil {
		return err
	}
	// A damaged file often decodes up to the damage and ends "well".
	if reached < src.Duration*9/10 {
		s.markFailed(ctx, id, jobID, fail("source_damaged", "The video is damaged: only %s of its %s could be decoded.",
			reached.Round(time.Second), src.Duration.Round(time.Second)))
		return nil
	}
	out, err := measure(dir, src, rungs)
	if err != nil {
		return err
	}
	if err := writeMaster(dir, out); err != nil {
		return err
	}
	if err := writeThumbs(dir, out); err != nil {
		return err
	}

	// Each run publishes under a prefix of its own; the commit that marks
	// the video ready is the one step that makes it visible.
	var rb [4]byte
	_, _ = rand.Read(rb[:])
	prefix := "video/" + id + "/" + hex.EncodeToString(rb[:])
	if err := s.publish(runCtx, dir, prefix); err != nil {
		s.deletePrefix(context.WithoutCancel(ctx), prefix+"/")
		if errors.Is(context.Cause(runCtx), errStopped) {
			return nil
		}
		return fmt.Errorf("publish: %w", err)
	}
	committed := false
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		ok, err := setState(ctx, tx, id, StateReady, []State{StateProcessing}, jobID,
			"prefix = $5, progress = 1, ready_at = now(), error_code = NULL, error = NULL", prefix)
		if err != nil || !ok {
			return err
		}
		for _, rd := range out.Renditions {
			if _, err := tx.ExecContext(ctx, `INSERT INTO streaming.renditions (video_id, name, width, height, bitrate, average_bitrate, codecs, frame_rate)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, rd.Name, rd.Width, rd.Height, rd.Bitrate, rd.AverageBitrate, rd.Codecs, rd.FrameRate); err != nil {
				return fmt.Errorf("rendition %s: %w", rd.Name, err)
			}
		}
		for _, a := range out.Audio {
			if _, err := tx.ExecContext(ctx, `INSERT INTO streaming.audio_tracks (video_id, name, language, is_default, bitrate, codecs)
				VALUES ($1, $2, $3, $4, $5, $6)`, id, a.Name, a.Language, a.IsDefault, a.Bitrate, a.Codecs); err != nil {
				return fmt.Errorf("audio %s: %w", a.Name, err)
			}
		}
		committed = true
		return nil
	})
	if err != nil || !committed {
		s.deletePrefix(context.WithoutCancel(ctx), prefix+"/")
		return err
	}
	// Earlier runs' leftovers (a run killed while publishing).
	s.deleteOther(ctx, "video/"+id+"/", prefix+"/")
	log.Info().Int("renditions", len(out.Renditions)).Dur("duration", src.Duration).Msg("video ready")
	return s.catalog.SetVideo(ctx, r.target(), id, true)
}

// heartbeat tells the other instances, every StaleAfter/6 until ctx
// ends, that this run of video id is alive, so that the takeover job
// leaves it alone; the run stops when it finds the video is no longer its
// own (taken over after a stall, canceled or deleted).
func (s *Service) heartbeat(ctx context.Context, stop context.CancelCauseFunc, id string, jobID int64) {
	t := time.NewTicker(s.cfg.StaleAfter / 6)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := s.db.ExecContext(ctx, `UPDATE streaming.videos SET updated_at = now() WHERE id = $1 AND state = 'processing' AND job_id = $2`, id, jobID)
		if err != nil {
			continue // the next beat may get through; a long outage is a stall
		}
		if n, _ := res.RowsAffected(); n == 0 {
			stop(errStopped)
			return
		}
	}
}

// takeOver queues a new run for each video whose run has sent no
// heartbeat for StaleAfter: its instance was killed or lost. River would
// rescue that run's job only after JobTimeout (hours); the new job owns
// the video, so the old one, should it ever run again, finds it is not its
// own and ends. It returns how many videos it took over.
func (s *Service) takeOver(ctx context.Context) (int, error) {
	var ids []string
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		// Locked rows make a late heartbeat wait for this commit, and then
		// find the video gone from its run.
		if err := tx.SelectContext(ctx, &ids, `SELECT id FROM streaming.videos
			WHERE state = 'processing' AND updated_at < now() - $1::interval
			ORDER BY updated_at LIMIT 100 FOR UPDATE SKIP LOCKED`, fmt.Sprintf("%d milliseconds", s.cfg.StaleAfter.Milliseconds())); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := s.queueTx(ctx, tx, id, []State{StateProcessing}, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		s.log.Warn().Str("video_id", id).Dur("stale_after", s.cfg.StaleAfter).Msg("transcode taken over: its run sent no heartbeat")
	}
	return len(ids), nil
}

// publish copies every file of dir under prefix, trying each file a few
// times with a doubling wait before giving up.
func (s *Service) publish(ctx context.Context, dir, prefix string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		key := prefix + "/" + filepath.ToSlash(rel)
		wait := s.cfg.PublishBackoff
		for attempt := 1; ; attempt++ {
			err := s.putFile(ctx, key, p)
			if err == nil {
				return nil
			}
			if attempt >= s.cfg.PublishAttempts || ctx.Err() != nil {
				return err
			}
			s.log.Warn().Err(err).Str("key", key).Int("attempt", attempt).Msg("publish: storage failed; trying again")
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
	})
}

func (s *Service) putFile(ctx context.Context, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.store.Put(ctx, key, f)
}

// deletePrefix removes every object under prefix, logging failures (the
// purge job retries for deleted videos).
func (s *Service) deletePrefix(ctx context.Context, prefix string) error {
	var keys []string
	if err := s.store.List(ctx, prefix, func(i storage.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		s.log.Warn().Err(err).Str("prefix", prefix).Msg("list for delete")
		return err
	}
	var errs []error
	for _, k := range keys {
		if err := s.store.Delete(ctx, k); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		s.log.Warn().Err(err).Str("prefix", prefix).Msg("delete")
		return err
	}
	return nil
}

// deleteOther removes objects under videoPrefix that are not under keep
// nor subtitles.
func (s *Service) deleteOther(ctx context.Context, videoPrefix, keep string) {
	var keys []string
	_ = s.store.List(ctx, videoPrefix, func(i storage.Info) error {
		if !strings.HasPrefix(i.Key, keep) && !strings.HasPrefix(i.Key, videoPrefix+"subtitles/") {
			keys = append(keys, i.Key)
		}
		return nil
	})
	for _, k := range keys {
		_ = s.store.Delete(ctx, k)
	}
}

// markFailed records why a video failed, unless it was canceled or
// deleted meanwhile.
func (s *Service) markFailed(ctx context.Context, id string, jobID int64, f *Failure) {
	if _, err := setState(ctx, s.db, id, StateFailed, []State{StateQueued, StateProcessing}, jobID,
		"error_code = $5, error = $6, progress = 0", f.Code, f.Message); err != nil {
		s.log.Error().Err(err).Str("video_id", id).Msg("mark video failed")
	}
	s.log.Info().Str("video_id", id).Str("code", f.Code).Msg("video failed: " + f.Message)
}

type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	s *Service
}

func (w *purgeWorker) Timeout(*river.Job[PurgeArgs]) time.Duration { return 10 * time.Minute }

func (w *purgeWorker) Work(ctx context.Context, job *river.Job[PurgeArgs]) error {
	return w.s.purge(ctx, job.Args.VideoID)
}

// purge deletes a deleted video's objects and upload files.
func (s *Service) purge(ctx context.Context, id string) error {
	if err := s.deletePrefix(ctx, "video/"+id+"/"); err != nil {
		return err
	}
	return s.uploads.remove(id)
}

type cleanupWorker struct {
	river.WorkerDefaults[CleanupArgs]
	s *Service
}

func (w *cleanupWorker) Timeout(*river.Job[CleanupArgs]) time.Duration { return 5 * time.Minute }

func (w *cleanupWorker) Work(ctx context.Context, _ *river.Job[CleanupArgs]) error {
	n, err := w.s.CleanupUploads(ctx)
	if n > 0 {
		w.s.log.Info().Int("uploads", n).Msg("deleted abandoned uploads")
	}
	return err
}

// CleanupUploads deletes the uploads of videos left in created or
// uploading longer than AbandonAfter, failing those videos, and upload
// files no video owns. It returns how many uploads it deleted.
func (s *Service) CleanupUploads(ctx context.Context) (int, error) {
	var ids []string
	err := s.db.SelectContext(ctx, &ids, `UPDATE streaming.videos SET state = 'failed', error_code = 'upload_abandoned',
		error = 'The upload was not finished in time and was deleted; create a new video to upload again.', updated_at = now()
		WHERE state IN ('created', 'uploading') AND updated_at < now() - $1::interval RETURNING id`,
		fmt.Sprintf("%d seconds", int(s.cfg.AbandonAfter.Seconds())))
	if err != nil {
		return 0, fmt.Errorf("abandoned uploads: %w", err)
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, s.uploads.remove(id))
	}
	// Files of uploads whose video is gone (deleted before the purge job ran).
	entries, _ := os.ReadDir(s.cfg.UploadDir)
	var orphans []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".info")
		if !ok || !validID(name) {
			continue
		}
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < s.cfg.AbandonAfter {
			continue
		}
		orphans = append(orphans, name)
	}
	if len(orphans) > 0 {
		var known []string
		if err := s.db.SelectContext(ctx, &known, `SELECT id::text FROM streaming.videos WHERE id = ANY($1::uuid[])`, pq.StringArray(orphans)); err != nil {
			return len(ids), err
		}
		have := map[string]bool{}
		for _, k := range known {
			have[k] = true
		}
		for _, o := range orphans {
			if !have[o] {
				errs = append(errs, s.uploads.remove(o))
				ids = append(ids, o)
			}
		}
	}
	return len(ids), errors.Join(errs...)
}
