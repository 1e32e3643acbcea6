package streaming

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/image/font/gofont/gobold"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// DemoVideo is a video for the demo catalog to make: a movie (Season and
// Episode 0) or an episode, found as ImportFile finds it, and the words
// drawn in its pictures.
type DemoVideo struct {
	Ref     string `json:"ref"`
	Season  int    `json:"season,omitempty"`
	Episode int    `json:"episode,omitempty"`
	Caption string `json:"caption"`
	// Seconds is how long it runs (default 60).
	Seconds int `json:"seconds,omitempty"`
}

// DemoVideoArgs is the streaming.demo_video job: make one demo video with
// ffmpeg's own generators and ingest it as `streamflix video import`
// does, unless its target already has a video.
type DemoVideoArgs struct {
	DemoVideo
}

// Kind is the River job kind.
func (DemoVideoArgs) Kind() string { return "streaming.demo_video" }

// InsertOpts puts the job on streaming's queue behind every transcode
// (priority 4 of River's 1–4), so that the first demo video plays before
// the last is made; queuing the same video twice while one is waiting is
// one job.
func (DemoVideoArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, Priority: 4, MaxAttempts: 3,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}}
}

// QueueDemoVideos queues a job for each of vs whose target has no video
// that is ready or on its way (failed and canceled ones do not count),
// and returns how many it queued: running it again queues nothing new.
// A target that does not exist is an error naming it.
func (s *Service) QueueDemoVideos(ctx context.Context, vs []DemoVideo) (int, error) {
	queued := 0
	for _, v := range vs {
		t, err := s.catalog.FindTarget(ctx, v.Ref, v.Season, v.Episode)
		if err != nil {
			return queued, fmt.Errorf("demo video %s s%de%d: %w", v.Ref, v.Season, v.Episode, err)
		}
		has, err := s.hasLiveVideo(ctx, t)
		if err != nil || has {
			if err != nil {
				return queued, err
			}
			continue
		}
		err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
			res, err := s.queue.InsertTx(ctx, tx.Tx, DemoVideoArgs{v}, nil)
			if err == nil && !res.UniqueSkippedAsDuplicate {
				queued++
			}
			return err
		})
		if err != nil {
			return queued, err
		}
	}
	return queued, nil
}

// hasLiveVideo reports whether t has a video that is ready or on its way.
func (s *Service) hasLiveVideo(ctx context.Context, t Target) (bool, error) {
	var has bool
	err := s.db.GetContext(ctx, &has, `SELECT EXISTS (SELECT 1 FROM streaming.videos
		WHERE title_id = $1 AND episode_id IS NOT DISTINCT FROM $2::uuid AND state NOT IN ('failed', 'canceled'))`,
		t.TitleID, nullIfEmpty(t.EpisodeID))
	return has, err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type demoVideoWorker struct {
	river.WorkerDefaults[DemoVideoArgs]
	s *Service
}

// Timeout covers making a minute of 720p at ultrafast on a slow core.
func (w *demoVideoWorker) Timeout(*river.Job[DemoVideoArgs]) time.Duration { return 10 * time.Minute }

func (w *demoVideoWorker) Work(ctx context.Context, job *river.Job[DemoVideoArgs]) error {
	v := job.Args.DemoVideo
	t, err := w.s.catalog.FindTarget(ctx, v.Ref, v.Season, v.Episode)
	if err != nil {
		return river.JobCancel(err) // the demo title is gone: nothing to make
	}
	if has, err := w.s.hasLiveVideo(ctx, t); err != nil || has {
		return err
	}
	dir, err := os.MkdirTemp(w.s.cfg.TempDir, "streamflix-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src, err := w.s.makeDemoClip(ctx, dir, v)
	if err != nil {
		return err
	}
	_, err = w.s.ImportFile(ctx, src, t.TitleID, v.Season, v.Episode, "en")
	return err
}

// makeDemoClip writes a 1280×720 H.264/AAC clip of v into dir: slowly
// turning colour gradients in colours of its own, its caption and the
// running time drawn in Go Bold, and a tone of its own pitch.
func (s *Service) makeDemoClip(ctx context.Context, dir string, v DemoVideo) (string, error) {
	secs := v.Seconds
	if secs <= 0 {
		secs = 60
	}
	font := filepath.Join(dir, "font.ttf")
	caption := filepath.Join(dir, "caption.txt")
	if err := os.WriteFile(font, gobold.TTF, 0o600); err != nil {
		return "", err
	}
	// textfile, not text: a caption needs no escaping that way.
	if err := os.WriteFile(caption, []byte(v.Caption), 0o600); err != nil {
		return "", err
	}
	h := fnv.New32a()
	h.Write([]byte(v.Caption))
	sum := h.Sum32()
	palette := []string{"0x1d3557", "0xe63946", "0x2a9d8f", "0xe9c46a", "0x6d597a", "0xf4a261", "0x264653", "0x8ecae6"}
	c0, c1 := palette[sum%8], palette[(sum/8+1+sum%7)%8]
	if c1 == c0 {
		c1 = palette[(sum+1)%8]
	}
	// Go Bold at 60 px fits about 32 characters across 1280 px.
	size, longest := 60, 0
	for _, line := range strings.Split(v.Caption, "\n") {
		longest = max(longest, utf8.RuneCountInString(line))
	}
	if longest > 32 {
		size = max(28, 60*32/longest)
	}
	d := strconv.Itoa(secs)
	video := "gradients=s=1280x720:r=25:d=" + d + ":speed=0.01:n=2:c0=" + c0 + ":c1=" + c1 +
		",drawtext=fontfile=" + font + ":textfile=" + caption + ":fontcolor=white:fontsize=" + strconv.Itoa(size) + ":line_spacing=12:x=(w-text_w)/2:y=(h-text_h)/2-40:shadowx=3:shadowy=3" +
		",drawtext=fontfile=" + font + ":text='%{pts\\:hms}':fontcolor=white@0.8:fontsize=36:x=(w-text_w)/2:y=h/2+50"
	audio := "sine=frequency=" + strconv.Itoa(220+int(sum%440)) + ":duration=" + d + ":sample_rate=48000"
	out := filepath.Join(dir, "demo.mp4")
	cmd := exec.CommandContext(ctx, s.cfg.FFmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", video, "-f", "lavfi", "-i", audio,
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-shortest", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("make demo video %q: %w: %s", v.Caption, err, msg)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		return "", errors.New("make demo video: ffmpeg wrote nothing")
	}
	return out, nil
}
