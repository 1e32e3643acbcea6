// Command videobench measures video ingest for `make bench`, on a real
// `streamflix serve` it starts over a database of its own, made next to
// DATABASE_URL's and dropped at the end:
//
//   - transcode real-time factor (source seconds per wall second) of the
//     streaming.transcode job, from the upload's last byte until the video
//     is ready (queue pickup, probe, ffmpeg, measuring, publishing to
//     MEDIA_DIR, the commit), next to the bare ffmpeg command the job runs
//     (streaming.LadderCommand) on the same source;
//   - tus upload throughput: one PATCH of -upload-mb MiB through
//     /api/v1/uploads/, next to a plain write of the same bytes to a file
//     on the same disk.
//
// Each figure is the median of -rounds interleaved rounds, the order
// alternating, and its ratio is taken round by round. Nothing is asserted.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/streamflix/streamflix/bench/internal/harness"
	"github.com/streamflix/streamflix/internal/streaming"
)

const adminToken = "videobench-admin-token-0123456789abcdef"

type options struct {
	streamflix, preset string
	seconds, rounds    int
	uploadMB           int
	keep               bool
}

func main() {
	var o options
	flag.StringVar(&o.streamflix, "streamflix", "", "path of a built streamflix binary (required)")
	flag.StringVar(&o.preset, "preset", "veryfast", "x264 preset of both the job and the bare command")
	flag.IntVar(&o.seconds, "seconds", 20, "length of the generated 1280x720 source")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds of every variant")
	flag.IntVar(&o.uploadMB, "upload-mb", 256, "MiB sent in each upload round")
	flag.BoolVar(&o.keep, "keep", false, "keep the database (for a look afterwards)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "videobench:", err)
		os.Exit(1)
	}
}

type bench struct {
	o     options
	base  string
	hc    *http.Client
	tmp   string
	upDir string
}

func run(o options) error {
	if o.streamflix == "" {
		return errors.New("-streamflix is required")
	}
	if o.rounds < 1 || o.seconds < 2 || o.uploadMB < 1 {
		return errors.New("-rounds, -upload-mb must be positive and -seconds at least 2")
	}
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		return errors.New("DATABASE_URL is not set")
	}
	ctx := context.Background()
	dbURL, drop, err := harness.Database(ctx, base, fmt.Sprintf("streamflix_bench_video_%d", os.Getpid()), o.keep)
	if err != nil {
		return err
	}
	defer drop()
	tmp, err := os.MkdirTemp("", "videobench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b := &bench{o: o, tmp: tmp, upDir: filepath.Join(tmp, "uploads"), hc: &http.Client{Timeout: 10 * time.Minute}}

	env := append(os.Environ(), "DATABASE_URL="+dbURL)
	mig := exec.Command(o.streamflix, "migrate", "up")
	mig.Env, mig.Stderr = env, os.Stderr
	if err := mig.Run(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	url, stop, err := harness.Spawn(tmp, "streamflix", "/readyz", func(addr string) *exec.Cmd {
		c := exec.Command(o.streamflix, "serve")
		c.Env = append(env, "HTTP_ADDR="+addr, "LOG_LEVEL=warn", "LOG_FORMAT=json", "DRAIN_DELAY=0s", "REDIS_URL=",
			"RATE_LIMIT_IP=0", "RATE_LIMIT_USER=0", "ADMIN_TOKEN="+adminToken, "TRANSCODE_PRESET="+o.preset,
			"UPLOAD_DIR="+b.upDir, "MEDIA_DIR="+filepath.Join(tmp, "media"), "MAIL_DIR="+filepath.Join(tmp, "mail"))
		return c
	})
	if err != nil {
		return err
	}
	defer stop()
	b.base = url

	src := filepath.Join(tmp, "source.mp4")
	gen := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=1280x720:rate=25:duration=%d", o.seconds),
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", o.seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", src)
	if out, err := gen.CombinedOutput(); err != nil {
		return fmt.Errorf("make the source: %v: %s", err, out)
	}
	source, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	args, dirs, err := streaming.LadderCommand(ctx, src, o.preset)
	if err != nil {
		return err
	}

	var bare, job []float64 // seconds of wall time
	for r := 0; r < o.rounds; r++ {
		for i := range 2 {
			if (i+r)%2 == 0 {
				d, err := b.bareTranscode(ctx, args, dirs)
				if err != nil {
					return err
				}
				bare = append(bare, d.Seconds())
			} else {
				d, err := b.jobTranscode(source, r)
				if err != nil {
					return err
				}
				job = append(job, d.Seconds())
			}
		}
	}
	data := make([]byte, o.uploadMB<<20)
	_, _ = rand.Read(data)
	var plain, tus []float64 // MiB/s
	for r := 0; r < o.rounds; r++ {
		for i := range 2 {
			if (i+r)%2 == 0 {
				d, err := b.plainWrite(data)
				if err != nil {
					return err
				}
				plain = append(plain, float64(o.uploadMB)/d.Seconds())
			} else {
				d, err := b.tusUpload(data, r)
				if err != nil {
					return err
				}
				tus = append(tus, float64(o.uploadMB)/d.Seconds())
			}
		}
	}

	ratios := func(num, den []float64) float64 {
		var rs []float64
		for i := range num {
			rs = append(rs, num[i]/den[i])
		}
		return harness.Median(rs)
	}
	secs := float64(o.seconds)
	fmt.Printf("video: transcode of a %d s 1280x720 source into the %s ladder (preset %s), %d rounds, real-time factor = source s / wall s\n",
		o.seconds, fmt.Sprint(dirs), o.preset, o.rounds)
	fmt.Printf("  bare ffmpeg, the job's command:    RTF %5.2fx  (%.1f s)\n", secs/harness.Median(bare), harness.Median(bare))
	fmt.Printf("  streamflix transcode job:          RTF %5.2fx  (%.1f s, last byte to ready)   %.2f of bare; target 0.95\n",
		secs/harness.Median(job), harness.Median(job), ratios(bare, job))
	fmt.Printf("video: upload of %d MiB, %d rounds\n", o.uploadMB, o.rounds)
	fmt.Printf("  plain file write (same disk):      %7.0f MiB/s\n", harness.Median(plain))
	fmt.Printf("  one tus PATCH through streamflix:  %7.0f MiB/s   %.2f of plain\n", harness.Median(tus), ratios(tus, plain))
	return nil
}

// bareTranscode runs the job's ffmpeg command in a fresh directory.
func (b *bench) bareTranscode(ctx context.Context, args, dirs []string) (time.Duration, error) {
	dir, err := os.MkdirTemp(b.tmp, "bare")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	for _, d := range dirs {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return 0, err
		}
	}
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Dir = dir
	cmd.Stdout = io.Discard
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("bare ffmpeg: %v: %s", err, stderr.String())
	}
	return time.Since(start), nil
}

// jobTranscode uploads source as a new movie's video and times the job
// from the upload's last byte until the video is ready.
func (b *bench) jobTranscode(source []byte, round int) (time.Duration, error) {
	id, err := b.newVideo(fmt.Sprintf("Transcode %d", round))
	if err != nil {
		return 0, err
	}
	start, err := b.upload(id, source)
	if err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		var v struct {
			State string  `json:"state"`
			Error *string `json:"error"`
		}
		if err := b.call("GET", "/api/v1/admin/videos/"+id, nil, http.StatusOK, &v); err != nil {
			return 0, err
		}
		switch v.State {
		case "ready":
			return time.Since(start), nil
		case "failed", "canceled":
			return 0, fmt.Errorf("video %s: %s %v", id, v.State, v.Error)
		}
	}
	return 0, fmt.Errorf("video %s not ready in 10 minutes", id)
}

// plainWrite writes data to a new file next to the uploads and closes it.
func (b *bench) plainWrite(data []byte) (time.Duration, error) {
	if err := os.MkdirAll(b.upDir, 0o755); err != nil {
		return 0, err
	}
	p := filepath.Join(b.upDir, "plain.bin")
	defer os.Remove(p)
	start := time.Now()
	f, err := os.Create(p)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// tusUpload times creating an upload and sending data in one PATCH.
func (b *bench) tusUpload(data []byte, round int) (time.Duration, error) {
	id, err := b.newVideo(fmt.Sprintf("Upload %d", round))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if _, err := b.upload(id, data); err != nil {
		return 0, err
	}
	d := time.Since(start)
	// The bytes are no video: the job fails it at once; delete it and its upload.
	_ = b.call("DELETE", "/api/v1/admin/videos/"+id, nil, http.StatusNoContent, nil)
	return d, nil
}

// newVideo makes a movie and a video for it, and returns the video's id.
func (b *bench) newVideo(name string) (string, error) {
	var t, v struct {
		ID string `json:"id"`
	}
	if err := b.call("POST", "/api/v1/admin/titles", map[string]any{"kind": "movie", "name": name, "maturity_rating": "G"}, http.StatusCreated, &t); err != nil {
		return "", err
	}
	if err := b.call("POST", "/api/v1/admin/videos", map[string]any{"title_id": t.ID, "language": "en"}, http.StatusCreated, &v); err != nil {
		return "", err
	}
	return v.ID, nil
}

// upload sends data as video id's tus upload, and returns when the last
// byte was acknowledged.
func (b *bench) upload(id string, data []byte) (time.Time, error) {
	req, _ := http.NewRequest("POST", b.base+"/api/v1/uploads", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", strconv.Itoa(len(data)))
	req.Header.Set("Upload-Metadata", "video_id "+base64.StdEncoding.EncodeToString([]byte(id)))
	resp, err := b.hc.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusCreated || loc == "" {
		return time.Time{}, fmt.Errorf("create upload: %s", resp.Status)
	}
	if loc[0] == '/' {
		loc = b.base + loc
	}
	req, _ = http.NewRequest("PATCH", loc, bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Offset", "0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	resp, err = b.hc.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return time.Time{}, fmt.Errorf("upload: %s %s", resp.Status, body)
	}
	return time.Now(), nil
}

// call sends a JSON request with the admin token and decodes the answer.
func (b *bench) call(method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		j, _ := json.Marshal(in)
		body = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
