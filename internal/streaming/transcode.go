package streaming

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names of the files of a published ladder, under its prefix.
const (
	masterName = "master.m3u8"
	posterName = "poster.jpg"
	thumbsVTT  = "thumbnails.vtt"
	audioCodec = "mp4a.40.2" // AAC-LC, what ffmpeg's aac encoder writes
	audioRate  = 128_000
	segmentSec = 6
	keyframeS  = 2
	thumbEvery = 10 // seconds between trickplay frames
	thumbWidth = 320
	thumbGrid  = 10 // a sprite sheet is thumbGrid x thumbGrid frames
)

// Rung is one step of the H.264 ladder (Apple's HLS authoring spec,
// 16:9 table; one bit rate a height).
type Rung struct {
	Height  int
	Bitrate int // kb/s
}

// Ladder is every rung, tallest first. A video gets the rungs at or under
// its own height, never an upscale.
var Ladder = []Rung{{2160, 16800}, {1080, 6000}, {720, 3000}, {540, 2000}, {432, 1100}, {360, 365}}

// rungsFor picks the ladder for a source height; a source shorter than
// the lowest rung gets one rung at its own (even) height.
func rungsFor(height int) []Rung {
	var out []Rung
	for _, r := range Ladder {
		if r.Height <= height {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		h := height &^ 1
		out = []Rung{{h, max(200, Ladder[len(Ladder)-1].Bitrate*h*h/(360*360))}}
	}
	return out
}

func rungName(h int) string { return strconv.Itoa(h) + "p" }

// ffmpegArgs is the one ffmpeg command that makes the whole output in dir:
// every rung from one decode with IDR frames every 2 s at the same
// instants in each, each audio stream as AAC stereo, the poster and the
// trickplay sprite sheets. Paths are relative: ffmpeg runs in dir, so no
// absolute path leaks into EXT-X-MAP.
func ffmpegArgs(src string, s Source, rungs []Rung, preset string) []string {
	gop := max(1, int(math.Round(s.FrameRate*keyframeS)))
	n := len(rungs)
	var fc strings.Builder
	fmt.Fprintf(&fc, "[0:v]split=%d", n+2)
	for i := range rungs {
		fmt.Fprintf(&fc, "[s%d]", i)
	}
	fc.WriteString("[sp][st];")
	for i, r := range rungs {
		fmt.Fprintf(&fc, "[s%d]scale=-2:%d[v%d];", i, r.Height, i)
	}
	fmt.Fprintf(&fc, "[sp]thumbnail=300,scale=1280:-2[poster];")
	fmt.Fprintf(&fc, "[st]select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,%d)',scale=%d:-2,tile=%dx%d[sprites]",
		thumbEvery, thumbWidth, thumbGrid, thumbGrid)

	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-nostats", "-progress", "pipe:1", "-i", src, "-filter_complex", fc.String()}
	for i := range rungs {
		args = append(args, "-map", fmt.Sprintf("[v%d]", i))
	}
	for _, a := range s.Audio {
		args = append(args, "-map", fmt.Sprintf("0:a:%d", a.Index))
	}
	args = append(args, "-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-pix_fmt", "yuv420p",
		"-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0",
		"-force_key_frames", fmt.Sprintf("expr:gte(t,n_forced*%d)", keyframeS))
	for i, r := range rungs {
		// Peak at most 150% of the target (Apple: VOD peak <= 200% of average).
		args = append(args, fmt.Sprintf("-b:v:%d", i), fmt.Sprintf("%dk", r.Bitrate),
			fmt.Sprintf("-maxrate:v:%d", i), fmt.Sprintf("%dk", r.Bitrate*3/2),
			fmt.Sprintf("-bufsize:v:%d", i), fmt.Sprintf("%dk", r.Bitrate*2))
	}
	if len(s.Audio) > 0 {
		args = append(args, "-c:a", "aac", "-b:a", "128k", "-ac", "2")
	}
	var vsm []string
	for i, r := range rungs {
		e := fmt.Sprintf("v:%d,name:%s", i, rungName(r.Height))
		if len(s.Audio) > 0 {
			e = fmt.Sprintf("v:%d,agroup:aud,name:%s", i, rungName(r.Height))
		}
		vsm = append(vsm, e)
	}
	for i, a := range s.Audio {
		e := fmt.Sprintf("a:%d,agroup:aud,name:audio_%d", i, i)
		if a.Language != "" {
			e += ",language:" + a.Language
		}
		if i == 0 {
			e += ",default:yes"
		}
		vsm = append(vsm, e)
	}
	args = append(args, "-f", "hls", "-hls_time", strconv.Itoa(segmentSec), "-hls_playlist_type", "vod",
		"-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
		"-hls_segment_filename", "%v/seg_%05d.m4s", "-var_stream_map", strings.Join(vsm, " "), "%v/index.m3u8",
		"-map", "[poster]", "-frames:v", "1", "-q:v", "3", posterName,
		"-map", "[sprites]", "-q:v", "4", "-f", "image2", "sprite_%03d.jpg")
	return args
}

// runFFmpeg runs ffmpeg in dir and calls progress with out_time as it
// advances. Ending ctx kills ffmpeg. It returns a *Failure when ffmpeg
// could not decode the source, and the output time it reached.
func (s *Service) runFFmpeg(ctx context.Context, dir string, args []string, progress func(time.Duration)) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, s.cfg.FFmpeg, args...)
	cmd.Dir = dir
	// ffmpeg dies with this process, even by SIGKILL: a killed instance
	// leaves no orphan encoding a job River hands to another instance.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Kill() }
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &limitWriter{w: &stderr, n: 8 << 10}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start ffmpeg: %w", err)
	}
	var reached time.Duration
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "out_time_us": // out_time_ms holds microseconds too (an old ffmpeg bug)
			if us, err := strconv.ParseInt(v, 10, 64); err == nil && us > 0 {
				reached = max(reached, time.Duration(us)*time.Microsecond)
			}
		case "progress":
			progress(reached)
		}
	}
	_, _ = io.Copy(io.Discard, out)
	err = cmd.Wait()
	if ctx.Err() != nil {
		return reached, ctx.Err()
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() > 0 {
			return reached, fail("transcode_failed", "ffmpeg could not convert the video: %s", lastLine(stderr.String()))
		}
		// Killed by a signal that was not ours: the run is retried.
		return reached, fmt.Errorf("ffmpeg: %w (%s)", err, lastLine(stderr.String()))
	}
	return reached, nil
}

// output is the measured result of a transcode in its directory.
type output struct {
	Renditions []Rendition
	Audio      []Audio
	Thumbs     []thumb
}

type thumb struct {
	Start, End time.Duration
	Sprite     string
	X, Y, W, H int
}

// measure reads what ffmpeg wrote: each rendition's bit rates from its
// segments' sizes and durations, its codec from its init segment, and
// the trickplay sheets' geometry.
func measure(dir string, src Source, rungs []Rung) (output, error) {
	var out output
	audioPeak, audioAvg := 0, 0
	for i, a := range src.Audio {
		name := fmt.Sprintf("audio_%d", i)
		peak, avg, _, err := bitrates(filepath.Join(dir, name))
		if err != nil {
			return out, err
		}
		lang := a.Language
		if lang == "" {
			lang = "und"
		}
		out.Audio = append(out.Audio, Audio{Name: name, Language: lang, IsDefault: i == 0, Bitrate: peak, Codecs: audioCodec})
		audioPeak, audioAvg = max(audioPeak, peak), max(audioAvg, avg)
	}
	for _, r := range rungs {
		name := rungName(r.Height)
		peak, avg, init, err := bitrates(filepath.Join(dir, name))
		if err != nil {
			return out, err
		}
		codec, w, h, err := avcInfo(filepath.Join(dir, name, init))
		if err != nil {
			return out, fmt.Errorf("%s: %w", name, err)
		}
		codecs := codec
		if len(src.Audio) > 0 {
			codecs += "," + audioCodec
		}
		out.Renditions = append(out.Renditions, Rendition{Name: name, Width: w, Height: h,
			Bitrate: peak + audioPeak, AverageBitrate: avg + audioAvg, Codecs: codecs,
			FrameRate: math.Round(src.FrameRate*1000) / 1000})
	}
	sprites, _ := filepath.Glob(filepath.Join(dir, "sprite_*.jpg"))
	sort.Strings(sprites)
	n := int(math.Ceil(src.Duration.Seconds() / thumbEvery))
	for i, sp := range sprites {
		f, err := os.Open(sp)
		if err != nil {
			return out, err
		}
		cfg, err := jpeg.DecodeConfig(f)
		f.Close()
		if err != nil {
			return out, fmt.Errorf("sprite %s: %w", filepath.Base(sp), err)
		}
		w, h := cfg.Width/thumbGrid, cfg.Height/thumbGrid
		for j := 0; j < thumbGrid*thumbGrid && len(out.Thumbs) < n; j++ {
			k := i*thumbGrid*thumbGrid + j
			end := min(time.Duration(k+1)*thumbEvery*time.Second, src.Duration)
			out.Thumbs = append(out.Thumbs, thumb{Start: time.Duration(k) * thumbEvery * time.Second, End: end,
				Sprite: filepath.Base(sp), X: (j % thumbGrid) * w, Y: (j / thumbGrid) * h, W: w, H: h})
		}
	}
	if len(out.Thumbs) == 0 {
		return out, errors.New("ffmpeg wrote no trickplay sprites")
	}
	return out, nil
}

// bitrates returns a media playlist's peak and average segment bit rates,
// init segment included in neither (it is fetched once), and the init
// segment's name.
func bitrates(dir string) (peak, avg int, init string, err error) {
	pl, err := os.ReadFile(filepath.Join(dir, "index.m3u8"))
	if err != nil {
		return 0, 0, "", fmt.Errorf("media playlist: %w", err)
	}
	var total int64
	var secs float64
	var dur float64
	for _, line := range strings.Split(string(pl), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, `#EXT-X-MAP:URI="`); ok {
			init = strings.TrimSuffix(v, `"`)
			continue
		}
		if v, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			dur, _ = strconv.ParseFloat(strings.TrimSuffix(v, ","), 64)
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, line))
		if err != nil {
			return 0, 0, "", fmt.Errorf("segment %s: %w", line, err)
		}
		if dur > 0 {
			// A last segment shorter than a second would overstate the peak.
			peak = max(peak, int(float64(fi.Size()*8)/math.Max(dur, 1)))
		}
		total += fi.Size()
		secs += dur
	}
	if secs == 0 {
		return 0, 0, "", fmt.Errorf("%s: no segments", filepath.Base(dir))
	}
	if init == "" || strings.ContainsAny(init, "/\\") {
		return 0, 0, "", fmt.Errorf("%s: no init segment in the playlist", filepath.Base(dir))
	}
	return peak, int(float64(total*8) / secs), init, nil
}

// avcInfo reads the RFC 6381 codec string and the picture size of an
// H.264 init segment (its avcC and tkhd boxes).
func avcInfo(path string) (codec string, w, h int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", 0, 0, err
	}
	i := bytes.Index(b, []byte("avcC"))
	if i < 0 || i+8 > len(b) {
		return "", 0, 0, errors.New("no avcC box in the init segment")
	}
	codec = fmt.Sprintf("avc1.%02x%02x%02x", b[i+5], b[i+6], b[i+7])
	// avc1 sample entry: width and height are 16-bit fields 24 bytes in.
	j := bytes.Index(b, []byte("avc1"))
	if j < 0 || j+36 > len(b) {
		return "", 0, 0, errors.New("no avc1 sample entry in the init segment")
	}
	w = int(b[j+28])<<8 | int(b[j+29])
	h = int(b[j+30])<<8 | int(b[j+31])
	return codec, w, h, nil
}

// writeMaster writes the multivariant playlist from the measured output:
// Debian's ffmpeg leaves out AVERAGE-BANDWIDTH and FRAME-RATE, which
// Apple requires. Variants go tallest first; the audio group lists each
// track with its language.
func writeMaster(dir string, o output) error {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	for _, a := range o.Audio {
		def := "NO"
		if a.IsDefault {
			def = "YES"
		}
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=%q,LANGUAGE=%q,DEFAULT=%s,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"%s/index.m3u8\"\n",
			audioLabel(a), a.Language, def, a.Name)
	}
	for _, r := range o.Renditions {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,AVERAGE-BANDWIDTH=%d,CODECS=%q,RESOLUTION=%dx%d,FRAME-RATE=%.3f",
			r.Bitrate, r.AverageBitrate, r.Codecs, r.Width, r.Height, r.FrameRate)
		if len(o.Audio) > 0 {
			b.WriteString(`,AUDIO="aud"`)
		}
		fmt.Fprintf(&b, "\n%s/index.m3u8\n", r.Name)
	}
	return os.WriteFile(filepath.Join(dir, masterName), []byte(b.String()), 0o644)
}

func audioLabel(a Audio) string {
	if a.Language == "und" {
		return a.Name
	}
	return a.Language
}

// writeThumbs writes the WebVTT thumbnail track: one cue a trickplay
// frame, pointing into its sprite sheet with a media fragment.
func writeThumbs(dir string, o output) error {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	for _, t := range o.Thumbs {
		fmt.Fprintf(&b, "\n%s --> %s\n%s#xywh=%d,%d,%d,%d\n", vttTime(t.Start), vttTime(t.End), t.Sprite, t.X, t.Y, t.W, t.H)
	}
	return os.WriteFile(filepath.Join(dir, thumbsVTT), []byte(b.String()), 0o644)
}

func vttTime(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3_600_000, ms/60_000%60, ms/1000%60, ms%1000)
}

type limitWriter struct {
	w io.Writer
	n int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 300 {
		l = l[:300]
	}
	if l == "" {
		return "no message"
	}
	return l
}
