package streaming

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Source is what ffprobe found in an uploaded file.
type Source struct {
	Duration   time.Duration
	Width      int
	Height     int
	FrameRate  float64
	VideoCodec string
	Audio      []SourceAudio
}

// SourceAudio is one audio stream of the source.
type SourceAudio struct {
	Index    int // among the audio streams: 0:a:Index
	Language string
	Channels int
}

// Failure is why a video failed, in words a person understands; Code is
// stable for programs.
type Failure struct {
	Code    string
	Message string
}

func (f *Failure) Error() string { return f.Message }

func fail(code, format string, a ...any) *Failure {
	return &Failure{Code: code, Message: fmt.Sprintf(format, a...)}
}

// supportedCodecs are the video codecs Debian's ffmpeg decodes and that
// real sources come in; anything else (a still image, a screen codec) is
// refused before any work.
var supportedCodecs = map[string]bool{
	"h264": true, "hevc": true, "vp8": true, "vp9": true, "av1": true, "mpeg4": true, "mpeg2video": true,
	"mpeg1video": true, "prores": true, "dnxhd": true, "theora": true, "vc1": true, "wmv3": true, "h263": true,
	"msmpeg4v3": true, "ffv1": true, "rawvideo": true, "mjpeg": true, "dvvideo": true, "cfhd": true,
}

// stillFormats are image demuxers: a picture is not a video.
var stillFormats = []string{"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "gif", "tiff_pipe", "svg_pipe"}

type probeOut struct {
	Streams []struct {
		Index        int               `json:"index"`
		CodecType    string            `json:"codec_type"`
		CodecName    string            `json:"codec_name"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		AvgFrameRate string            `json:"avg_frame_rate"`
		RFrameRate   string            `json:"r_frame_rate"`
		Channels     int               `json:"channels"`
		Tags         map[string]string `json:"tags"`
		Disposition  map[string]int    `json:"disposition"`
	} `json:"streams"`
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
}

// probe runs ffprobe on path. It returns a *Failure for a file that cannot
// become a video, or another error when ffprobe itself could not run.
func (s *Service) probe(ctx context.Context, path string) (Source, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.cfg.FFprobe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return Source{}, fmt.Errorf("ffprobe: %w", ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return Source{}, fmt.Errorf("ffprobe: %w", err)
	}
	msg := firstLine(stderr.String())
	if err != nil {
		if strings.Contains(msg, "moov atom not found") {
			return Source{}, fail("source_incomplete", "The file is incomplete or damaged: its index (moov atom) is missing. Upload the whole file again.")
		}
		if strings.Contains(msg, "Invalid data found") {
			return Source{}, fail("not_video", "The file is not a video (ffprobe: %s).", msg)
		}
		return Source{}, fail("source_unreadable", "The file cannot be read as a video (ffprobe: %s).", msg)
	}
	var out probeOut
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return Source{}, fail("source_unreadable", "The file cannot be read as a video.")
	}
	for _, f := range stillFormats {
		if strings.Contains(","+out.Format.FormatName+",", ","+f+",") {
			return Source{}, fail("not_video", "The file is a picture (%s), not a video.", out.Format.FormatName)
		}
	}
	var src Source
	haveVideo := false
	for _, st := range out.Streams {
		switch st.CodecType {
		case "video":
			if haveVideo || st.Disposition["attached_pic"] == 1 {
				continue // cover art, or a second angle: the first real stream plays
			}
			if !supportedCodecs[st.CodecName] {
				return Source{}, fail("unsupported_codec", "The video codec %q is not supported; use H.264, HEVC, VP9, AV1, ProRes or MPEG-4.", st.CodecName)
			}
			haveVideo = true
			src.Width, src.Height, src.VideoCodec = st.Width, st.Height, st.CodecName
			src.FrameRate = parseRate(st.AvgFrameRate)
			if src.FrameRate <= 0 || src.FrameRate > 240 {
				src.FrameRate = parseRate(st.RFrameRate)
			}
		case "audio":
			lang := st.Tags["language"]
			if lang == "" || lang == "und" {
				lang = ""
			}
			src.Audio = append(src.Audio, SourceAudio{Index: len(src.Audio), Language: lang, Channels: st.Channels})
		}
	}
	if !haveVideo {
		if len(src.Audio) > 0 {
			return Source{}, fail("no_video_stream", "The file has sound but no pictures: it has no video stream.")
		}
		return Source{}, fail("no_video_stream", "The file has no video stream.")
	}
	if src.Width < 16 || src.Height < 16 {
		return Source{}, fail("source_unreadable", "The video's picture size (%dx%d) cannot be read.", src.Width, src.Height)
	}
	if src.FrameRate <= 0 || src.FrameRate > 240 {
		src.FrameRate = 25
	}
	d, err := strconv.ParseFloat(out.Format.Duration, 64)
	if err != nil || d <= 0 || math.IsNaN(d) {
		return Source{}, fail("source_unreadable", "The video's length cannot be read; the file may be damaged.")
	}
	src.Duration = time.Duration(d * float64(time.Second))
	if src.Duration > s.cfg.MaxDuration {
		return Source{}, fail("too_long", "The video is %s long; the limit is %s.", src.Duration.Round(time.Second), s.cfg.MaxDuration)
	}
	return src, nil
}

func parseRate(r string) float64 {
	n, d, ok := strings.Cut(r, "/")
	if !ok {
		f, _ := strconv.ParseFloat(r, 64)
		return f
	}
	a, err1 := strconv.ParseFloat(n, 64)
	b, err2 := strconv.ParseFloat(d, 64)
	if err1 != nil || err2 != nil || b == 0 {
		return 0
	}
	return a / b
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	// ffprobe names the file first ("/tmp/x: Invalid data..."): drop the path.
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s, "/") {
		s = s[i+2:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
