package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamflix/streamflix/internal/content"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/storage/s3test"
	"github.com/streamflix/streamflix/internal/streaming"
)

// failedWith uploads data as a new video's source and waits for it to
// fail, returning the failure shown to the operator.
func (b *videoBundle) failedWith(data []byte) streaming.Video {
	b.t.Helper()
	id := b.createVideo(b.movie("Fault " + b.t.Name()))
	b.upload(id, data)
	v := b.waitState(id, streaming.StateFailed, streaming.StateReady)
	if v.State != streaming.StateFailed || v.ErrorCode == nil || v.Error == nil {
		b.t.Fatalf("video is %s (%v), want failed", v.State, deref(v.Error))
	}
	return v
}

// TestVideoBadSources: files that cannot become a video fail before any
// transcoding, with a reason a person understands.
func TestVideoBadSources(t *testing.T) {
	t.Parallel()
	b := startVideo(t, nil)
	src := readFile(t, clip(t, "av10"))
	fast := filepath.Join(t.TempDir(), "fast.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", clip(t, "av10"), "-c", "copy", "-movflags", "+faststart", fast).CombinedOutput(); err != nil {
		t.Fatalf("faststart copy: %v %s", err, out)
	}
	faststart := readFile(t, fast)
	for _, tc := range []struct {
		name, code, says string
		data             []byte
	}{
		{"TextRenamedMP4", "not_video", "not a video", []byte(strings.Repeat("This is a text file, renamed clip.mp4.\n", 2000))},
		// ffmpeg's MP4 puts its index last: half a file has none.
		{"TruncatedIndexLast", "source_incomplete", "incomplete or damaged", src[:len(src)/2]},
		// With the index first, half a file decodes half-way.
		{"TruncatedIndexFirst", "source_damaged", "damaged", faststart[:len(faststart)/2]},
		{"AudioOnly", "no_video_stream", "no video stream", readFile(t, clip(t, "audio"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := *b
			b.t = t
			v := b.failedWith(tc.data)
			if *v.ErrorCode != tc.code || !strings.Contains(*v.Error, tc.says) || strings.Contains(*v.Error, b.upDir) {
				t.Errorf("failed with %s: %q; want %s saying %q (and no server path)", *v.ErrorCode, *v.Error, tc.code, tc.says)
			}
			if len(v.Renditions) != 0 || v.Playlist != nil {
				t.Errorf("a failed video has renditions %v or a playlist", v.Renditions)
			}
			// Retry runs it again, and it fails again the same way.
			resp, body := vdo(t, "POST", b.URL()+"/api/v1/admin/videos/"+v.ID+"/retry", testAdminToken, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("retry: %d %s", resp.StatusCode, body)
			}
			if again := b.waitState(v.ID, streaming.StateFailed); *again.ErrorCode != tc.code {
				t.Errorf("after retry: %s", *again.ErrorCode)
			}
		})
	}

	t.Run("ListByState", func(t *testing.T) {
		resp, body := vdo(t, "GET", b.URL()+"/api/v1/admin/videos?state=failed", testAdminToken, nil)
		var l streaming.VideoList
		if resp.StatusCode != 200 || json.Unmarshal(body, &l) != nil || len(l.Videos) != 4 {
			t.Fatalf("failed videos: %d %s", resp.StatusCode, body)
		}
		resp, body = vdo(t, "GET", b.URL()+"/api/v1/admin/videos?state=ready", testAdminToken, nil)
		if resp.StatusCode != 200 || json.Unmarshal(body, &l) != nil || len(l.Videos) != 0 {
			t.Fatalf("ready videos: %d %s", resp.StatusCode, body)
		}
		resp, body = vdo(t, "GET", b.URL()+"/api/v1/admin/videos?state=lost", testAdminToken, nil)
		if resp.StatusCode != 422 || !strings.Contains(string(body), `"field":"state"`) {
			t.Fatalf("unknown state: %d %s", resp.StatusCode, body)
		}
	})
}

// TestVideoUploads: the tus endpoint's limits, resumption and locking.
func TestVideoUploads(t *testing.T) {
	t.Parallel()
	b := startVideo(t, map[string]string{"VIDEO_MAX_BYTES": strconv.Itoa(32 << 20)})
	src := readFile(t, clip(t, "av10"))

	t.Run("TooLarge", func(t *testing.T) {
		b := *b
		b.t = t
		id := b.createVideo(b.movie("Too large"))
		meta := "video_id " + base64.StdEncoding.EncodeToString([]byte(id))
		resp, body := b.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": strconv.Itoa(32<<20 + 1), "Upload-Metadata": meta}, nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("upload over VIDEO_MAX_BYTES: %d %s", resp.StatusCode, body)
		}
		if v, _ := b.video(id); v.State != streaming.StateCreated {
			t.Errorf("video after a refused upload: %s", v.State)
		}
		// The limit is announced, as tus clients read it.
		resp, _ = b.tus("OPTIONS", "/api/v1/uploads", nil, nil)
		if resp.Header.Get("Tus-Max-Size") != strconv.Itoa(32<<20) {
			t.Errorf("Tus-Max-Size %q", resp.Header.Get("Tus-Max-Size"))
		}
	})

	t.Run("NoVideo", func(t *testing.T) {
		b := *b
		b.t = t
		for _, meta := range []string{"", "video_id " + base64.StdEncoding.EncodeToString([]byte("00000000-0000-4000-8000-000000000000"))} {
			resp, body := b.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": "100", "Upload-Metadata": meta}, nil)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "video_id") {
				t.Errorf("upload for no video (%q): %d %s", meta, resp.StatusCode, body)
			}
		}
		// Without a token: the admin routes answer 401 problem+json.
		req, _ := http.NewRequest("POST", b.URL()+"/api/v1/uploads", nil)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Length", "100")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous upload: %d", resp.StatusCode)
		}
	})

	t.Run("CutAndResumed", func(t *testing.T) {
		b := *b
		b.t = t
		id := b.createVideo(b.movie("Cut and resumed"))
		path := b.createUpload(id, len(src))
		// The connection drops half-way through a PATCH of the whole file.
		conn, err := net.Dial("tcp", strings.TrimPrefix(b.URL(), "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"+
			"Content-Type: application/offset+octet-stream\r\nContent-Length: %d\r\n\r\n", path, testAdminToken, len(src))
		half := len(src) / 2
		if _, err := conn.Write(src[:half]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		conn.Close()
		// The client asks where to resume (the server may still be saving).
		var off int
		deadline := time.Now().Add(15 * time.Second)
		for {
			resp, _ := b.tus("HEAD", path, nil, nil)
			off, _ = strconv.Atoi(resp.Header.Get("Upload-Offset"))
			if resp.StatusCode == 200 && off > 0 || time.Now().After(deadline) {
				if resp.StatusCode != 200 || resp.Header.Get("Upload-Length") != strconv.Itoa(len(src)) {
					t.Fatalf("HEAD after the cut: %d %v", resp.StatusCode, resp.Header)
				}
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if off <= 0 || off > half {
			t.Fatalf("offset after the cut: %d, want 1..%d", off, half)
		}
		if v, _ := b.video(id); v.State != streaming.StateUploading || v.UploadedBytes == nil || *v.UploadedBytes != int64(off) {
			t.Errorf("video during the upload: %s, %v bytes uploaded (want %d)", v.State, v.UploadedBytes, off)
		}
		for off < len(src) {
			off = b.patch(path, off, src[off:min(len(src), off+1<<20)])
		}
		v := b.waitState(id, streaming.StateReady, streaming.StateFailed)
		if v.State != streaming.StateReady || len(v.Renditions) != 3 {
			t.Fatalf("resumed upload: %s %v", v.State, deref(v.Error))
		}
		if got := readFile(t, filepath.Join(b.upDir, id)); !bytes.Equal(got, src) {
			t.Errorf("resumed source differs from the file: %d bytes, want %d", len(got), len(src))
		}
	})

	t.Run("TwoClients", func(t *testing.T) {
		b := *b
		b.t = t
		twoClients(t, &b, &b)
	})

	t.Run("ForwardedHeadersUntrusted", func(t *testing.T) {
		b := *b
		b.t = t
		id := b.createVideo(b.movie("Forwarded untrusted"))
		meta := "video_id " + base64.StdEncoding.EncodeToString([]byte(id))
		resp, _ := b.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": "100", "Upload-Metadata": meta,
			"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}, nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != 201 || loc != b.URL()+"/api/v1/uploads/"+id {
			t.Errorf("Location from an untrusted peer's headers: %d %q", resp.StatusCode, loc)
		}
	})
}

// twoClients has two clients write the same upload at once, the first
// through a, the second through c (another instance, or a again).
func twoClients(t *testing.T, a, c *videoBundle) {
	b, clients := a, []*videoBundle{a, c}
	id := b.createVideo(b.movie("Two clients"))
	const size = 4 << 20
	path := b.createUpload(id, size)
	payloads := [][]byte{bytes.Repeat([]byte("A"), size), bytes.Repeat([]byte("B"), size)}
	codes, bodies := make([]int, 2), make([]string, 2)
	var wg sync.WaitGroup
	for i := range payloads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Slow bodies, so that both requests overlap.
			req, _ := http.NewRequest("PATCH", clients[i].URL()+path, &slowReader{data: payloads[i], chunk: 256 << 10, every: 20 * time.Millisecond})
			req.ContentLength = size
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			req.Header.Set("Tus-Resumable", "1.0.0")
			req.Header.Set("Upload-Offset", "0")
			req.Header.Set("Content-Type", "application/offset+octet-stream")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes[i] = -1
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			codes[i], bodies[i] = resp.StatusCode, string(b)
		}()
	}
	wg.Wait()
	// The second waits for the lock, then is told its offset is stale
	// (409), or gives up waiting (500 ERR_LOCK_TIMEOUT). No byte of the
	// two clients mixes.
	ok := 0
	for i, c := range codes {
		switch {
		case c == http.StatusNoContent:
			ok++
		case c == http.StatusConflict, c == http.StatusInternalServerError && strings.Contains(bodies[i], "ERR_LOCK_TIMEOUT"):
		default:
			t.Errorf("losing client got %d %s", c, bodies[i])
		}
	}
	if ok != 1 {
		t.Fatalf("two clients writing one upload: %v, want exactly one 204", codes)
	}
	resp, _ := b.tus("HEAD", path, nil, nil)
	off, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
	got := readFile(t, filepath.Join(b.upDir, id))
	if len(got) != off || off == 0 || bytes.Count(got, got[:1]) != off {
		t.Fatalf("after two clients: offset %d, %d bytes, mixed: %v", off, len(got), off > 0 && bytes.Count(got, got[:1]) != off)
	}
	if off < size {
		b.patch(path, off, bytes.Repeat(got[:1], size-off))
	}
	if got := readFile(t, filepath.Join(b.upDir, id)); !bytes.Equal(got, payloads[0]) && !bytes.Equal(got, payloads[1]) {
		t.Fatalf("the upload mixes both clients' bytes (%d bytes)", len(got))
	}
	// Exactly one transcode job ran: the text fails once.
	v := b.waitState(id, streaming.StateFailed)
	if v.Attempts != 1 || *v.ErrorCode != "not_video" {
		t.Errorf("after two clients: attempts %d, %s", v.Attempts, *v.ErrorCode)
	}
}

// TestVideoUploadLockAcrossInstances: the upload lock holds across
// instances sharing Postgres and UPLOAD_DIR.
func TestVideoUploadLockAcrossInstances(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	shared := map[string]string{"UPLOAD_DIR": t.TempDir(), "MEDIA_DIR": t.TempDir()}
	a := &videoBundle{instance: start(t, env(dbURL, shared), nil), t: t, upDir: shared["UPLOAD_DIR"]}
	c := &videoBundle{instance: start(t, env(dbURL, shared), nil), t: t, upDir: shared["UPLOAD_DIR"]}
	twoClients(t, a, c)
}

// TestVideoForwardedLocation: behind a trusted proxy (nginx), the upload's
// Location is the public URL the client used.
func TestVideoForwardedLocation(t *testing.T) {
	t.Parallel()
	b := startVideo(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32"})
	id := b.createVideo(b.movie("Forwarded"))
	meta := "video_id " + base64.StdEncoding.EncodeToString([]byte(id))
	resp, body := b.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": "100", "Upload-Metadata": meta,
		"X-Forwarded-Host": "watch.example.com", "X-Forwarded-Proto": "https"}, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != 201 || loc != "https://watch.example.com/api/v1/uploads/"+id {
		t.Fatalf("Location behind a trusted proxy: %d %q %s", resp.StatusCode, loc, body)
	}
}

// slowReader yields data a chunk at a time.
type slowReader struct {
	data  []byte
	chunk int
	every time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.every)
	n := copy(p[:min(len(p), s.chunk)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// ffmpegOf returns the pids of ffmpeg processes reading video id's source.
func ffmpegOf(id string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 0 && filepath.Base(args[0]) == "ffmpeg" && strings.Contains(string(cmdline), id) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// noTemp fails the test if a transcode of id left its working directory.
func noTemp(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		left, _ := filepath.Glob(filepath.Join(os.TempDir(), streaming.TempPrefix+id+"-*"))
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("transcode files left: %v", left)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitRunning uploads a 30 s clip and waits until ffmpeg is encoding it.
func (b *videoBundle) waitRunning(name string) (string, int) {
	b.t.Helper()
	id := b.createVideo(b.movie(name))
	b.upload(id, readFile(b.t, clip(b.t, "av30")))
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		v, _ := b.video(id)
		if pids := ffmpegOf(id); v.State == streaming.StateProcessing && len(pids) == 1 {
			return id, pids[0]
		}
		if v.State == streaming.StateReady || v.State == streaming.StateFailed {
			b.t.Fatalf("video %s before it could be interrupted", v.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatal("ffmpeg never started")
	return "", 0
}

// TestVideoTranscodeFaults: ffmpeg killed, the video deleted or canceled
// mid-job, storage unreachable when publishing.
func TestVideoTranscodeFaults(t *testing.T) {
	t.Parallel()

	t.Run("FFmpegKilled", func(t *testing.T) {
		t.Parallel()
		b := startVideo(t, map[string]string{"TRANSCODE_PRESET": "veryfast"})
		id, pid := b.waitRunning("Killed ffmpeg")
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		v := b.waitState(id, streaming.StateReady, streaming.StateFailed)
		if v.State != streaming.StateReady || v.Attempts != 2 || len(v.Renditions) != 3 {
			t.Fatalf("after ffmpeg was killed: %s attempts %d %v", v.State, v.Attempts, deref(v.Error))
		}
		// Only the second run's ladder is in storage.
		prefix := strings.TrimPrefix(strings.TrimSuffix(deref(v.Playlist), "master.m3u8"), "/media/")
		keys := b.objects("video/" + id + "/")
		for _, k := range keys {
			if !strings.HasPrefix(k, prefix) {
				t.Errorf("object %s outside the published prefix %s", k, prefix)
			}
		}
		if len(keys) < 20 {
			t.Errorf("published objects: %v", keys)
		}
		noTemp(t, id)
	})

	t.Run("DeletedWhileTranscoding", func(t *testing.T) {
		t.Parallel()
		b := startVideo(t, map[string]string{"TRANSCODE_PRESET": "veryfast"})
		id, _ := b.waitRunning("Deleted mid-job")
		if resp, body := vdo(t, "DELETE", b.URL()+"/api/v1/admin/videos/"+id, testAdminToken, nil); resp.StatusCode != 204 {
			t.Fatalf("delete: %d %s", resp.StatusCode, body)
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(ffmpegOf(id)) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("ffmpeg still runs after the video was deleted")
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(2 * time.Second) // a stopped run must not publish after all
		if keys := b.objects("video/" + id + "/"); len(keys) != 0 {
			t.Errorf("objects of a deleted video: %v", keys)
		}
		if _, err := os.Stat(filepath.Join(b.upDir, id)); !os.IsNotExist(err) {
			t.Errorf("upload of a deleted video: %v", err)
		}
		noTemp(t, id)
	})

	t.Run("Canceled", func(t *testing.T) {
		t.Parallel()
		b := startVideo(t, map[string]string{"TRANSCODE_PRESET": "veryfast"})
		id, _ := b.waitRunning("Canceled mid-job")
		resp, body := vdo(t, "POST", b.URL()+"/api/v1/admin/videos/"+id+"/cancel", testAdminToken, nil)
		var v streaming.Video
		if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil || v.State != streaming.StateCanceled {
			t.Fatalf("cancel: %d %s", resp.StatusCode, body)
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(ffmpegOf(id)) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("ffmpeg still runs after cancel")
			}
			time.Sleep(50 * time.Millisecond)
		}
		noTemp(t, id)
		if resp, _ := vdo(t, "POST", b.URL()+"/api/v1/admin/videos/"+id+"/cancel", testAdminToken, nil); resp.StatusCode != 409 {
			t.Errorf("second cancel: %d", resp.StatusCode)
		}
		// Retry takes it up again from the uploaded source.
		if resp, body := vdo(t, "POST", b.URL()+"/api/v1/admin/videos/"+id+"/retry", testAdminToken, nil); resp.StatusCode != 200 {
			t.Fatalf("retry: %d %s", resp.StatusCode, body)
		}
		if v := b.waitState(id, streaming.StateReady, streaming.StateFailed); v.State != streaming.StateReady {
			t.Fatalf("after retry: %s %v", v.State, deref(v.Error))
		}
	})

	t.Run("StorageDownWhenPublishing", func(t *testing.T) {
		t.Parallel()
		gw := s3test.StartServer(t)
		src := readFile(t, clip(t, "av10"))
		o := s3test.NewBucket(t, gw.Server)
		b := startVideo(t, map[string]string{"STORAGE": "s3", "S3_ENDPOINT": o.Endpoint, "S3_BUCKET": o.Bucket,
			"S3_ACCESS_KEY": o.AccessKey, "S3_SECRET_KEY": o.SecretKey})
		// Storage goes away once the source is in, before the run publishes.
		id := b.createVideo(b.movie("Storage down"))
		path := b.createUpload(id, len(src))
		for off := 0; off < len(src); {
			if off+1<<20 >= len(src) {
				gw.Stop()
			}
			off = b.patch(path, off, src[off:min(len(src), off+1<<20)])
		}
		// The run's publish fails; the video shows it will be retried.
		deadline := time.Now().Add(3 * time.Minute)
		for {
			v, _ := b.video(id)
			if v.ErrorCode != nil && *v.ErrorCode == "retrying" || v.Attempts >= 2 {
				break
			}
			if v.State == streaming.StateReady || v.State == streaming.StateFailed || time.Now().After(deadline) {
				t.Fatalf("with storage down: %s %v", v.State, deref(v.Error))
			}
			time.Sleep(100 * time.Millisecond)
		}
		gw.Start()
		v := b.waitState(id, streaming.StateReady, streaming.StateFailed)
		if v.State != streaming.StateReady || v.Attempts < 2 {
			t.Fatalf("after storage came back: %s attempts %d %v", v.State, v.Attempts, deref(v.Error))
		}
		if code, body, _ := b.get(deref(v.Playlist)); code != 200 || !bytes.Contains(body, []byte("#EXT-X-STREAM-INF")) {
			t.Fatalf("playlist after the outage: %d %s", code, body)
		}
		noTemp(t, id)
	})
}

// TestVideoShutdownMidJob: SIGTERM on the instance running a transcode
// kills its ffmpeg, and another instance finishes the video.
func TestVideoShutdownMidJob(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	shared := map[string]string{"UPLOAD_DIR": t.TempDir(), "MEDIA_DIR": t.TempDir(), "TRANSCODE_PRESET": "veryfast", "SHUTDOWN_GRACE": "1s"}
	a := &videoBundle{instance: start(t, env(dbURL, shared), nil), t: t, upDir: shared["UPLOAD_DIR"]}
	id, _ := a.waitRunning("Shut down mid-job")
	a.stop(t) // what SIGTERM does
	if pids := ffmpegOf(id); len(pids) != 0 {
		t.Fatalf("ffmpeg %v outlives its instance's shutdown", pids)
	}
	noTemp(t, id)
	b := &videoBundle{instance: start(t, env(dbURL, shared), nil), t: t, upDir: shared["UPLOAD_DIR"]}
	v := b.waitState(id, streaming.StateReady, streaming.StateFailed)
	if v.State != streaming.StateReady || v.Attempts != 2 {
		t.Fatalf("after the shutdown: %s attempts %d %v", v.State, v.Attempts, deref(v.Error))
	}
}

// TestVideoImport: streamflix video import puts a file on disk through the
// same pipeline, here for an episode, which makes its series playable.
func TestVideoImport(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	shared := map[string]string{"UPLOAD_DIR": t.TempDir(), "MEDIA_DIR": t.TempDir()}
	b := &videoBundle{instance: start(t, env(dbURL, shared), nil), t: t, upDir: shared["UPLOAD_DIR"]}
	ctx := t.Context()
	key := "import-show"
	show, err := b.Catalog.CreateTitle(ctx, content.TitleInput{ExternalKey: &key, Kind: "series", Name: "Import Show", MaturityRating: "TV-G"})
	if err != nil {
		t.Fatal(err)
	}
	season, err := b.Catalog.CreateSeason(ctx, show.ID, content.SeasonInput{Number: 1})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := b.Catalog.CreateEpisode(ctx, season.ID, content.EpisodeInput{Number: 2, Name: "Two"})
	if err != nil {
		t.Fatal(err)
	}
	getenv := env(dbURL, shared)
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"video", "import", clip(t, "av10"), "--title", key, "--season", "1", "--episode", "3"}, getenv, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "No such episode") {
		t.Errorf("import for a missing episode: exit %d %q", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"video", "import", clip(t, "av10"), "--title", key, "--season", "1", "--episode", "2"}, getenv, &out, &errOut); code != 0 {
		t.Fatalf("import: exit %d %s", code, errOut.String())
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(out.String(), "video "), " ")
	v := b.waitState(id, streaming.StateReady, streaming.StateFailed)
	if v.State != streaming.StateReady || v.EpisodeID == nil || *v.EpisodeID != ep.ID || v.TitleID != show.ID {
		t.Fatalf("imported video: %s %v %+v", v.State, deref(v.Error), v)
	}
	got, err := b.Catalog.Episode(ctx, ep.ID)
	if err != nil || got.VideoID == nil || *got.VideoID != id {
		t.Fatalf("episode after import: %v %v", got.VideoID, err)
	}
	if at, _ := b.Catalog.AdminTitle(ctx, show.ID); !at.Playable {
		t.Error("the series is not playable after its episode's video is ready")
	}
}

// TestVideoCreateErrors: bad requests for a video are refused naming the field.
func TestVideoCreateErrors(t *testing.T) {
	t.Parallel()
	b := startVideo(t, nil)
	movie := b.movie("Errors movie")
	key := "errors-show"
	show, err := b.Catalog.CreateTitle(t.Context(), content.TitleInput{ExternalKey: &key, Kind: "series", Name: "Errors Show", MaturityRating: "TV-G"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body, code, field string
		status            int
	}{
		{`{"language":"en"}`, "invalid_request", "title_id", 422},
		{`{"title_id":"` + movie + `","episode_id":"` + movie + `","language":"en"}`, "invalid_request", "episode_id", 422},
		{`{"title_id":"` + movie + `","language":"English"}`, "invalid_request", "language", 422},
		{`{"title_id":"` + show.ID + `","language":"en"}`, "series_video", "", 422},
		{`{"title_id":"00000000-0000-4000-8000-000000000000","language":"en"}`, "title_not_found", "", 404},
		{`{"episode_id":"00000000-0000-4000-8000-000000000000","language":"en"}`, "episode_not_found", "", 404},
	} {
		resp, body := vdo(t, "POST", b.URL()+"/api/v1/admin/videos", testAdminToken, strings.NewReader(tc.body))
		var p struct {
			Code   string `json:"code"`
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(body, &p)
		if resp.StatusCode != tc.status || p.Code != tc.code || resp.Header.Get("Content-Type") != "application/problem+json" ||
			(tc.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != tc.field)) {
			t.Errorf("POST %s: %d %s, want %d %s %s", tc.body, resp.StatusCode, body, tc.status, tc.code, tc.field)
		}
	}
	if resp, _ := vdo(t, "GET", b.URL()+"/api/v1/admin/videos", "", nil); resp.StatusCode != 401 {
		t.Errorf("anonymous list: %d", resp.StatusCode)
	}
	if resp, body := vdo(t, "GET", b.URL()+"/api/v1/admin/videos/00000000-0000-4000-8000-000000000000", testAdminToken, nil); resp.StatusCode != 404 ||
		!strings.Contains(string(body), "video_not_found") {
		t.Errorf("missing video: %d %s", resp.StatusCode, body)
	}
}

// TestSeedDemoVideos: `seed --videos` queues a made-up video for each demo
// title that has none, the workers make and transcode it until the title
// plays, and running it again queues nothing.
func TestSeedDemoVideos(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	shared := map[string]string{"UPLOAD_DIR": t.TempDir(), "MEDIA_DIR": t.TempDir(), "TRANSCODE_PRESET": "ultrafast"}
	getenv := env(dbURL, shared)
	b := &videoBundle{instance: start(t, getenv, nil), t: t, upDir: shared["UPLOAD_DIR"]}
	ctx := t.Context()
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"seed", "--videos"}, getenv, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "seed --demo") {
		t.Fatalf("videos before the demo catalog: exit %d %q", code, errOut.String())
	}
	// The demo catalog without its artwork, which takes a while to draw.
	if rep, err := b.Catalog.SeedDemo(ctx); err != nil || rep.Titles.Failed > 0 {
		t.Fatalf("demo catalog: %+v %v", rep.Titles, err)
	}
	t0 := time.Now()

	// What would be made: twelve films and every episode of two series.
	vs, err := demoVideos(ctx, b.Catalog, 60)
	if err != nil {
		t.Fatal(err)
	}
	films, episodes := 0, 0
	for _, v := range vs {
		if v.Episode == 0 {
			films++
		} else {
			episodes++
		}
	}
	if films != 12 || episodes != 8 || vs[0].Caption != "A Trip to the Moon (1902)" {
		t.Fatalf("demo videos: %d films, %d episodes, first %q", films, episodes, vs[0].Caption)
	}
	if last := vs[len(vs)-1]; !strings.HasPrefix(last.Caption, "Felix the Cat") || !strings.Contains(last.Caption, "\nS1 E5 · ") {
		t.Errorf("an episode's caption: %q", last.Caption)
	}

	out.Reset()
	if code := run(ctx, []string{"seed", "--videos", "--seconds", "3", "--limit", "1"}, getenv, &out, &errOut); code != 0 ||
		!strings.HasPrefix(out.String(), "demo videos: 1 queued, 0 already there") {
		t.Fatalf("seed --videos: exit %d %q %s", code, out.String(), errOut.String())
	}
	id, _, err := b.Catalog.VideoTarget(ctx, demoVideoFilms[0], 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var videoID string
	deadline := time.Now().Add(2 * time.Minute)
	for videoID == "" && time.Now().Before(deadline) {
		_ = b.DB.Get(&videoID, `SELECT coalesce(max(id::text), '') FROM streaming.videos WHERE title_id = $1`, id)
		time.Sleep(200 * time.Millisecond)
	}
	if videoID == "" {
		t.Fatal("no demo video was made")
	}
	v := b.waitState(videoID, streaming.StateReady, streaming.StateFailed)
	t.Logf("made and transcoded in %s", time.Since(t0))
	if v.State != streaming.StateReady || v.Duration == nil || *v.Duration < 2.9 || len(v.Renditions) != 4 || v.Renditions[0].Height != 720 {
		t.Fatalf("demo video: %s %v duration %v renditions %+v", v.State, deref(v.Error), v.Duration, v.Renditions)
	}
	if at, _ := b.Catalog.AdminTitle(ctx, id); !at.Playable || at.VideoID == nil || *at.VideoID != videoID {
		t.Errorf("the demo film after its video is ready: playable %v video %v", at.Playable, at.VideoID)
	}

	out.Reset()
	if code := run(ctx, []string{"seed", "--videos", "--seconds", "3", "--limit", "1"}, getenv, &out, &errOut); code != 0 ||
		!strings.HasPrefix(out.String(), "demo videos: 0 queued, 1 already there") {
		t.Fatalf("seed --videos again: exit %d %q %s", code, out.String(), errOut.String())
	}
}

// TestVideoInstanceKilledMidJob: the instance running a transcode is
// killed (SIGKILL, no shutdown): its ffmpeg dies with it, and another
// instance takes the video over once its heartbeats stop, long before
// River would rescue the job (TRANSCODE_STALE_AFTER, not hours), so the
// video ends ready once, on its second attempt.
func TestVideoInstanceKilledMidJob(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	shared := map[string]string{"UPLOAD_DIR": t.TempDir(), "MEDIA_DIR": t.TempDir(), "TRANSCODE_PRESET": "ultrafast", "TRANSCODE_STALE_AFTER": "3s"}
	// The API instance works no jobs; the real binary does, until killed.
	api := map[string]string{"WORKERS": "false"}
	for k, v := range shared {
		api[k] = v
	}
	a := &videoBundle{instance: start(t, env(dbURL, api), nil), t: t, upDir: shared["UPLOAD_DIR"]}
	extra := []string{"DATABASE_URL=" + dbURL}
	for k, v := range shared {
		extra = append(extra, k+"="+v)
	}
	worker, _, logs := serveBinary(t, extra...)
	id, pid := a.waitRunning("Killed instance")
	if ppid := parentOf(pid); ppid != worker.Process.Pid {
		t.Fatalf("ffmpeg %d runs under %d, not the worker binary %d", pid, ppid, worker.Process.Pid)
	}
	if err := worker.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = worker.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for len(ffmpegOf(id)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if pids := ffmpegOf(id); len(pids) != 0 {
		t.Fatalf("ffmpeg %v outlives its killed instance", pids)
	}
	killedAt := time.Now()
	b := &videoBundle{instance: start(t, env(dbURL, shared), nil), t: t, upDir: shared["UPLOAD_DIR"]}
	v := b.waitState(id, streaming.StateReady, streaming.StateFailed)
	if v.State != streaming.StateReady || v.Attempts != 2 || len(v.Renditions) != 3 {
		t.Fatalf("after the kill: %s attempts %d %v\nworker logs:\n%s", v.State, v.Attempts, deref(v.Error), logs)
	}
	t.Logf("ready %s after the kill", time.Since(killedAt).Round(time.Millisecond))
	noTemp(t, id)
	var runs int
	if err := b.DB.Get(&runs, `SELECT count(*) FROM river.river_job WHERE kind = 'streaming.transcode' AND args->>'video_id' = $1`, id); err != nil || runs != 2 {
		t.Errorf("transcode jobs for the video: %d %v", runs, err)
	}
}

// parentOf returns the parent process id of pid, or 0.
func parentOf(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces, so cut after ")".
	_, rest, _ := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}
