package streaming

import (
	"context"
)

// LadderCommand probes src as a transcode does and returns the ffmpeg
// arguments its run would use with preset, and the rung directories
// (relative, like every path in them) that must exist in the directory
// ffmpeg runs in. `make bench` times this bare command next to the job.
func LadderCommand(ctx context.Context, src, preset string) (args, dirs []string, err error) {
	s := &Service{cfg: Config{Preset: preset}.withDefaults()}
	so, err := s.probe(ctx, src)
	if err != nil {
		return nil, nil, err
	}
	rungs := rungsFor(so.Height)
	for _, r := range rungs {
		dirs = append(dirs, rungName(r.Height))
	}
	return ffmpegArgs(src, so, rungs, s.cfg.Preset), dirs, nil
}
