package streaming

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRungsFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		height int
		want   string
	}{
		{2160, "[2160 1080 720 540 432 360]"},
		{1080, "[1080 720 540 432 360]"},
		{1079, "[720 540 432 360]"},
		{540, "[540 432 360]"},
		{360, "[360]"},
		{241, "[240]"}, // below the ladder: its own height, made even, never upscaled
	} {
		var hs []int
		for _, r := range rungsFor(tc.height) {
			hs = append(hs, r.Height)
		}
		if got := fmt.Sprint(hs); got != tc.want {
			t.Errorf("rungsFor(%d) = %s, want %s", tc.height, got, tc.want)
		}
	}
}

func TestToWebVTT(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
		err            error
	}{
		{"VTT", "WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n", "WEBVTT\n\n00:01.000 --> 00:02.000\nHi\n", nil},
		{"SRT", "\xef\xbb\xbf1\r\n0:00:01,000 --> 0:00:02,500 X1:10\r\nHi\r\n", "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.500 X1:10\nHi\n", nil},
		{"NotSubtitles", "hello world\n", "", ErrSubtitle},
		{"NotUTF8", "1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe\n", "", ErrSubtitle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toWebVTT([]byte(tc.in))
			if !errors.Is(err, tc.err) || string(got) != tc.want {
				t.Errorf("toWebVTT = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestWriteMasterAndThumbs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := output{
		Renditions: []Rendition{{Name: "720p", Width: 1280, Height: 720, Bitrate: 4_100_000, AverageBitrate: 3_200_000, Codecs: "avc1.64001f,mp4a.40.2", FrameRate: 23.976}},
		Audio:      []Audio{{Name: "audio_0", Language: "eng", IsDefault: true, Bitrate: 130_000, Codecs: audioCodec}},
		Thumbs:     []thumb{{Start: 0, End: 10 * time.Second, Sprite: "sprite_001.jpg", W: 320, H: 180}, {Start: 10 * time.Second, End: 14500 * time.Millisecond, Sprite: "sprite_001.jpg", X: 320, W: 320, H: 180}},
	}
	if err := writeMaster(dir, o); err != nil {
		t.Fatal(err)
	}
	if err := writeThumbs(dir, o); err != nil {
		t.Fatal(err)
	}
	master, _ := os.ReadFile(filepath.Join(dir, masterName))
	want := "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="eng",LANGUAGE="eng",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio_0/index.m3u8"` + "\n" +
		`#EXT-X-STREAM-INF:BANDWIDTH=4100000,AVERAGE-BANDWIDTH=3200000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=23.976,AUDIO="aud"` + "\n720p/index.m3u8\n"
	if string(master) != want {
		t.Errorf("master:\n%s\nwant:\n%s", master, want)
	}
	vtt, _ := os.ReadFile(filepath.Join(dir, thumbsVTT))
	wantVTT := "WEBVTT\n\n00:00:00.000 --> 00:00:10.000\nsprite_001.jpg#xywh=0,0,320,180\n\n00:00:10.000 --> 00:00:14.500\nsprite_001.jpg#xywh=320,0,320,180\n"
	if string(vtt) != wantVTT {
		t.Errorf("thumbnails:\n%q\nwant\n%q", vtt, wantVTT)
	}
}

func TestFFmpegArgsAlignKeyframes(t *testing.T) {
	t.Parallel()
	args := strings.Join(ffmpegArgs("in.mp4", Source{FrameRate: 29.97, Height: 720, Audio: []SourceAudio{{Index: 0, Language: "eng"}, {Index: 1}}}, rungsFor(720), "veryfast"), " ")
	for _, want := range []string{"-g 60 -keyint_min 60 -sc_threshold 0", "expr:gte(t,n_forced*2)", "-hls_time 6", "-hls_segment_type fmp4",
		"v:0,agroup:aud,name:720p", "a:0,agroup:aud,name:audio_0,language:eng,default:yes", "a:1,agroup:aud,name:audio_1 ", "-c:a aac -b:a 128k -ac 2",
		"-preset veryfast", "tile=10x10", "-map 0:a:1"} {
		if !strings.Contains(args, want) {
			t.Errorf("ffmpeg args lack %q:\n%s", want, args)
		}
	}
	if strings.Contains(args, "/") && strings.Contains(args, "/tmp") {
		t.Errorf("absolute paths in ffmpeg args: %s", args)
	}
}
