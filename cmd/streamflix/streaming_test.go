package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamflix/streamflix/internal/content"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/storage"
	"github.com/streamflix/streamflix/internal/platform/storage/s3test"
	"github.com/streamflix/streamflix/internal/streaming"
)

// clips holds test sources made once per test process with ffmpeg's own
// generators: moving pictures (testsrc2) and tones (sine).
var clips = struct {
	once sync.Once
	dir  string
	err  error
}{}

// clip returns the path of a generated source: name is "av10" (10 s of
// 960x540 with two audio tracks, English and French), "av30" (30 s, one
// track), or "audio" (10 s of sound alone).
func clip(t *testing.T, name string) string {
	t.Helper()
	clips.once.Do(func() {
		// Kept between test processes: made once a machine, each file
		// renamed into place whole, so concurrent processes never read half.
		clips.dir = filepath.Join(os.TempDir(), "streamflix-test-clips-1")
		if clips.err = os.MkdirAll(clips.dir, 0o755); clips.err != nil {
			return
		}
		gen := map[string][]string{
			"av10.mp4": {"-f", "lavfi", "-i", "testsrc2=size=960x540:rate=25:duration=10", "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
				"-f", "lavfi", "-i", "sine=frequency=660:duration=10", "-map", "0", "-map", "1", "-map", "2",
				"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
				"-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra"},
			"av30.mp4": {"-f", "lavfi", "-i", "testsrc2=size=960x540:rate=25:duration=30", "-f", "lavfi", "-i", "sine=frequency=440:duration=30",
				"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"},
			"audio.m4a": {"-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-c:a", "aac"},
		}
		for out, args := range gen {
			final := filepath.Join(clips.dir, out)
			if _, err := os.Stat(final); err == nil {
				continue
			}
			tmp := filepath.Join(clips.dir, fmt.Sprintf("tmp-%d-%s", os.Getpid(), out))
			cmd := exec.Command("ffmpeg", append(append([]string{"-v", "error", "-y"}, args...), tmp)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				os.Remove(tmp)
				clips.err = fmt.Errorf("ffmpeg %s: %v\n%s", out, err, b)
				return
			}
			if clips.err = os.Rename(tmp, final); clips.err != nil {
				return
			}
		}
	})
	if clips.err != nil {
		t.Fatal(clips.err)
	}
	if name == "audio" {
		return filepath.Join(clips.dir, "audio.m4a")
	}
	return filepath.Join(clips.dir, name+".mp4")
}

type videoBundle struct {
	*instance
	t     *testing.T
	upDir string // the instance's UPLOAD_DIR
}

// startVideo runs an instance with its own UPLOAD_DIR (and extra settings).
func startVideo(t *testing.T, extra map[string]string) *videoBundle {
	t.Helper()
	_, dbURL := pgtest.NewDBURL(t)
	up := t.TempDir()
	e := map[string]string{"UPLOAD_DIR": up, "TRANSCODE_PRESET": "ultrafast"}
	for k, v := range extra {
		e[k] = v
	}
	return &videoBundle{instance: start(t, env(dbURL, e), nil), t: t, upDir: up}
}

// movie makes a movie in the catalog and returns its id.
func (b *videoBundle) movie(name string) string {
	b.t.Helper()
	key := strings.ToLower(strings.ReplaceAll(name, " ", "-"))
	ti, err := b.Catalog.CreateTitle(b.t.Context(), content.TitleInput{ExternalKey: &key, Kind: "movie", Name: name, MaturityRating: "PG"})
	if err != nil {
		b.t.Fatal(err)
	}
	return ti.ID
}

// createVideo asks for a video of title and returns its id.
func (b *videoBundle) createVideo(titleID string) string {
	b.t.Helper()
	resp, body := vdo(b.t, "POST", b.URL()+"/api/v1/admin/videos", testAdminToken, strings.NewReader(`{"title_id":"`+titleID+`","language":"en"}`))
	var cv streaming.CreatedVideo
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &cv) != nil || cv.ID == "" || cv.UploadURL != "/api/v1/uploads" {
		b.t.Fatalf("create video: %d %s", resp.StatusCode, body)
	}
	return cv.ID
}

// tus sends one tus request and returns the response and its body.
func (b *videoBundle) tus(method, path string, hdr map[string]string, body []byte) (*http.Response, string) {
	b.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, b.URL()+path, r)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Tus-Resumable", "1.0.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/offset+octet-stream")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

// createUpload opens the tus upload of video id for size bytes and
// returns its path (from Location).
func (b *videoBundle) createUpload(id string, size int) string {
	b.t.Helper()
	meta := "video_id " + base64.StdEncoding.EncodeToString([]byte(id)) + ",filename " + base64.StdEncoding.EncodeToString([]byte("clip.mp4"))
	resp, body := b.tus("POST", "/api/v1/uploads", map[string]string{"Upload-Length": strconv.Itoa(size), "Upload-Metadata": meta}, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusCreated || loc != b.URL()+"/api/v1/uploads/"+id {
		b.t.Fatalf("tus create: %d %q %s", resp.StatusCode, loc, body)
	}
	return strings.TrimPrefix(loc, b.URL())
}

// patch appends data at offset and returns the new offset.
func (b *videoBundle) patch(path string, offset int, data []byte) int {
	b.t.Helper()
	resp, body := b.tus("PATCH", path, map[string]string{"Upload-Offset": strconv.Itoa(offset)}, data)
	if resp.StatusCode != http.StatusNoContent {
		b.t.Fatalf("tus patch at %d: %d %s", offset, resp.StatusCode, body)
	}
	n, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
	return n
}

// upload sends file's bytes for video id in chunks of 1 MiB.
func (b *videoBundle) upload(id string, data []byte) {
	b.t.Helper()
	path := b.createUpload(id, len(data))
	for off := 0; off < len(data); {
		end := min(len(data), off+1<<20)
		off = b.patch(path, off, data[off:end])
	}
}

func (b *videoBundle) video(id string) (streaming.Video, int) {
	b.t.Helper()
	resp, body := vdo(b.t, "GET", b.URL()+"/api/v1/admin/videos/"+id, testAdminToken, nil)
	var v streaming.Video
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &v); err != nil {
			b.t.Fatal(err)
		}
	}
	return v, resp.StatusCode
}

// waitState polls the video until it is in one of states (within 4
// minutes: transcodes share two cores with every other test).
func (b *videoBundle) waitState(id string, states ...streaming.State) streaming.Video {
	b.t.Helper()
	deadline := time.Now().Add(waitFor)
	var v streaming.Video
	for time.Now().Before(deadline) {
		v, _ = b.video(id)
		for _, s := range states {
			if v.State == s {
				return v
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	var jobs []string
	_ = b.DB.Select(&jobs, `SELECT concat_ws(' ', id, state, attempt, kind, errors::text) FROM river.river_job WHERE args->>'video_id' = $1 ORDER BY id`, id)
	b.t.Fatalf("video %s is %s (error %v), never %v; its jobs: %v", id, v.State, deref(v.Error), states, jobs)
	return v
}

// waitFor bounds waits for a transcode: they share two cores with every
// other test.
var waitFor = 4 * time.Minute

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (b *videoBundle) get(path string) (int, []byte, http.Header) {
	b.t.Helper()
	resp, body := vdo(b.t, "GET", b.URL()+path, "", nil)
	return resp.StatusCode, body, resp.Header
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var streamInf = regexp.MustCompile(`#EXT-X-STREAM-INF:BANDWIDTH=(\d+),AVERAGE-BANDWIDTH=(\d+),CODECS="(avc1\.[0-9a-f]{6},mp4a\.40\.2)",RESOLUTION=(\d+)x(\d+),FRAME-RATE=25\.000,AUDIO="aud"\n(\d+p)/index\.m3u8`)

// TestVideoIngest uploads a 10-second clip over tus and plays the ladder
// back through /media/, on the local store and on a real S3 server.
func TestVideoIngest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		extra func(t *testing.T) map[string]string
	}{
		{"Local", func(t *testing.T) map[string]string { return map[string]string{"MEDIA_DIR": t.TempDir()} }},
		{"S3", func(t *testing.T) map[string]string {
			o := s3test.New(t)
			return map[string]string{"STORAGE": "s3", "S3_ENDPOINT": o.Endpoint, "S3_BUCKET": o.Bucket, "S3_ACCESS_KEY": o.AccessKey, "S3_SECRET_KEY": o.SecretKey}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			extra := tc.extra(t)
			extra["TRANSCODE_PRESET"] = "veryfast"
			b := startVideo(t, extra)
			title := b.movie("Ingest " + tc.name)
			id := b.createVideo(title)
			if v, _ := b.video(id); v.State != streaming.StateCreated {
				t.Fatalf("new video is %s", v.State)
			}
			b.upload(id, readFile(t, clip(t, "av10")))
			v := b.waitState(id, streaming.StateReady, streaming.StateFailed)
			if v.State != streaming.StateReady {
				t.Fatalf("video %s: %s", v.State, deref(v.Error))
			}
			if v.Progress != 1 || v.Attempts != 1 || v.Duration == nil || *v.Duration < 9.9 || *v.Duration > 10.2 || v.Error != nil {
				t.Errorf("ready video: progress %v attempts %d duration %v error %v", v.Progress, v.Attempts, v.Duration, v.Error)
			}
			// The ladder: every rung up to the source's 540p, none above.
			var heights []int
			for _, r := range v.Renditions {
				heights = append(heights, r.Height)
				if r.AverageBitrate <= 0 || r.Bitrate < r.AverageBitrate || r.FrameRate != 25 || !strings.HasPrefix(r.Codecs, "avc1.64") {
					t.Errorf("rendition %+v", r)
				}
			}
			if fmt.Sprint(heights) != "[540 432 360]" {
				t.Errorf("rungs %v, want [540 432 360]", heights)
			}
			if len(v.Audio) != 2 || v.Audio[0].Language != "eng" || !v.Audio[0].IsDefault || v.Audio[1].Language != "fra" || v.Audio[1].IsDefault {
				t.Errorf("audio %+v", v.Audio)
			}

			// The multivariant playlist, written by streamflix.
			code, master, hdr := b.get(deref(v.Playlist))
			if code != 200 || hdr.Get("Content-Type") != "application/vnd.apple.mpegurl" {
				t.Fatalf("master: %d %s", code, master)
			}
			ms := streamInf.FindAllStringSubmatch(string(master), -1)
			if len(ms) != 3 {
				t.Fatalf("master playlist has %d well-formed variants, want 3:\n%s", len(ms), master)
			}
			wantRes := []string{"960x540", "768x432", "640x360"}
			for i, m := range ms {
				if m[4]+"x"+m[5] != wantRes[i] || m[6] != strconv.Itoa(heights[i])+"p" {
					t.Errorf("variant %d: %s (want %s)", i, m[0], wantRes[i])
				}
				bw, _ := strconv.Atoi(m[1])
				avg, _ := strconv.Atoi(m[2])
				if avg <= 0 || bw < avg || bw > 3*avg {
					t.Errorf("variant %s: BANDWIDTH %d AVERAGE-BANDWIDTH %d", m[6], bw, avg)
				}
			}
			for _, want := range []string{`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="eng",LANGUAGE="eng",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio_0/index.m3u8"`,
				`LANGUAGE="fra",DEFAULT=NO`, "#EXT-X-INDEPENDENT-SEGMENTS"} {
				if !strings.Contains(string(master), want) {
					t.Errorf("master lacks %s:\n%s", want, master)
				}
			}

			// Each media playlist, its init segment and every segment.
			base := strings.TrimSuffix(deref(v.Playlist), "master.m3u8")
			for _, dir := range []string{"540p", "432p", "360p", "audio_0", "audio_1"} {
				code, pl, _ := b.get(base + dir + "/index.m3u8")
				if code != 200 || !strings.Contains(string(pl), "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
					t.Fatalf("%s playlist: %d %s", dir, code, pl)
				}
				var total float64
				segs := 0
				for _, line := range strings.Split(string(pl), "\n") {
					if u, ok := strings.CutPrefix(line, `#EXT-X-MAP:URI="`); ok {
						u = strings.TrimSuffix(u, `"`)
						if strings.Contains(u, "/") {
							t.Errorf("%s: init %q is not relative to its playlist", dir, u)
						}
						if code, body, h := b.get(base + dir + "/" + u); code != 200 || len(body) < 100 || h.Get("Content-Type") != "video/mp4" {
							t.Errorf("%s init %s: %d %d bytes", dir, u, code, len(body))
						}
					}
					if d, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
						f, _ := strconv.ParseFloat(strings.TrimSuffix(d, ","), 64)
						total += f
						if f > 6.5 {
							t.Errorf("%s: segment of %.2fs, want at most 6", dir, f)
						}
					}
					if strings.HasSuffix(line, ".m4s") {
						segs++
						if code, body, h := b.get(base + dir + "/" + line); code != 200 || len(body) < 500 || h.Get("Content-Type") != "video/iso.segment" {
							t.Errorf("%s segment %s: %d %d bytes", dir, line, code, len(body))
						}
					}
				}
				if segs != 2 || total < 9.9 || total > 10.2 {
					t.Errorf("%s: %d segments of %.2fs in all, want 2 making 10s", dir, segs, total)
				}
			}
			// Keyframes every 2 s in every rung: 6 s segments start on them.
			if code, body, _ := b.get(base + "360p/index.m3u8"); code != 200 || !strings.Contains(string(body), "#EXTINF:6.000000,") {
				t.Errorf("360p segments do not cut at 6 s:\n%s", body)
			}

			// Poster and trickplay.
			code, poster, _ := b.get(deref(v.Poster))
			if img, err := jpeg.DecodeConfig(bytes.NewReader(poster)); code != 200 || err != nil || img.Width != 1280 || img.Height != 720 {
				t.Errorf("poster: %d %v %+v", code, err, img)
			}
			code, vtt, hdr := b.get(deref(v.Thumbnails))
			wantVTT := "WEBVTT\n\n00:00:00.000 --> 00:00:10.000\nsprite_001.jpg#xywh=0,0,320,180\n"
			if code != 200 || string(vtt) != wantVTT || !strings.HasPrefix(hdr.Get("Content-Type"), "text/vtt") {
				t.Errorf("thumbnails: %d %q, want %q", code, vtt, wantVTT)
			}
			code, sprite, _ := b.get(base + "sprite_001.jpg")
			if img, err := jpeg.DecodeConfig(bytes.NewReader(sprite)); code != 200 || err != nil || img.Width != 3200 || img.Height != 1800 {
				t.Errorf("sprite sheet: %d %v %+v, want 10x10 frames of 320x180", code, err, img)
			}

			// The movie now plays this video.
			at, err := b.Catalog.AdminTitle(t.Context(), title)
			if err != nil || at.VideoID == nil || *at.VideoID != id || !at.Playable {
				t.Fatalf("title after ready: video %v playable %v %v", at.VideoID, at.Playable, err)
			}

			// Subtitles: SRT in, WebVTT out.
			srt := "1\r\n00:00:01,000 --> 00:00:03,500\r\nHello.\r\n\r\n2\r\n00:00:04,000 --> 00:00:06,000\r\nBonjour.\r\n"
			req, _ := http.NewRequest("PUT", b.URL()+"/api/v1/admin/videos/"+id+"/subtitles/fr", strings.NewReader(srt))
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			req.Header.Set("Content-Type", "application/x-subrip")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var sv streaming.Video
			_ = json.NewDecoder(resp.Body).Decode(&sv)
			resp.Body.Close()
			if resp.StatusCode != 200 || len(sv.Subtitles) != 1 || sv.Subtitles[0].Language != "fr" {
				t.Fatalf("subtitles: %d %+v", resp.StatusCode, sv.Subtitles)
			}
			_, sub, _ := b.get(sv.Subtitles[0].URL)
			if want := "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.500\nHello.\n\n2\n00:00:04.000 --> 00:00:06.000\nBonjour.\n"; string(sub) != want {
				t.Errorf("converted subtitles %q, want %q", sub, want)
			}

			// Delete: storage, upload and the title's video go.
			if resp, body := vdo(t, "DELETE", b.URL()+"/api/v1/admin/videos/"+id, testAdminToken, nil); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("delete: %d %s", resp.StatusCode, body)
			}
			if _, code := b.video(id); code != 404 {
				t.Errorf("deleted video answers %d", code)
			}
			if code, _, _ := b.get(deref(v.Playlist)); code != 404 {
				t.Errorf("deleted video's playlist answers %d", code)
			}
			if keys := b.objects("video/" + id + "/"); len(keys) != 0 {
				t.Errorf("objects left after delete: %v", keys)
			}
			if _, err := os.Stat(filepath.Join(b.upDir, id)); !os.IsNotExist(err) {
				t.Errorf("upload left after delete: %v", err)
			}
			at, _ = b.Catalog.AdminTitle(t.Context(), title)
			if at.VideoID != nil || at.Playable {
				t.Errorf("title after delete: video %v playable %v", deref(at.VideoID), at.Playable)
			}
		})
	}
}

func (b *videoBundle) objects(prefix string) []string {
	b.t.Helper()
	var keys []string
	if err := b.Media.List(b.t.Context(), prefix, func(i storage.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		b.t.Fatal(err)
	}
	return keys
}

// vdo sends one request (JSON when body is set) and returns the response
// with its body read.
func vdo(t *testing.T, method, url, token string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}
