package main

import (
	"context"
	"fmt"
	"time"

	"github.com/streamflix/streamflix/internal/content"
	"github.com/streamflix/streamflix/internal/platform/config"
	"github.com/streamflix/streamflix/internal/platform/storage"
	"github.com/streamflix/streamflix/internal/streaming"
)

// openStreaming builds the video module over the media store and the
// catalog, and registers it. It runs after content's module is built.
func (m *Main) openStreaming(ctx context.Context) error {
	cfg := m.Config
	s, err := streaming.New(streaming.Config{
		UploadDir: cfg.UploadDir, MaxBytes: cfg.VideoMaxBytes, MaxDuration: cfg.VideoMaxDuration,
		Preset: cfg.TranscodePreset, Workers: cfg.TranscodeWorkers, StaleAfter: cfg.TranscodeStale, TrustedProxies: cfg.TrustedProxies, MediaURL: cfg.MediaURL,
	}, streaming.Deps{DB: m.DB, Log: m.Log, Storage: m.Media, Catalog: streamingCatalog{m}, Queue: m.jobs})
	if err != nil {
		return err
	}
	m.Streaming = s
	m.Registry.Add(s.Module(m.Version))
	return nil
}

// openMedia opens the media store STORAGE names: MEDIA_DIR, or a bucket
// on an S3-compatible server, created when missing.
func openMedia(ctx context.Context, cfg *config.Config) (storage.Store, error) {
	if cfg.Storage != "s3" {
		st, err := storage.NewLocal(cfg.MediaDir)
		if err != nil {
			return nil, fmt.Errorf("MEDIA_DIR: %w", err)
		}
		return st, nil
	}
	st, err := storage.NewS3(storage.S3Options{
		Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, Region: cfg.S3Region,
	})
	if err != nil {
		return nil, fmt.Errorf("S3_ENDPOINT: %w", err)
	}
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := st.EnsureBucket(bctx); err != nil {
		return nil, fmt.Errorf("S3_BUCKET: %w", err)
	}
	return st, nil
}

// streamingCatalog gives streaming its view of the catalog.
type streamingCatalog struct{ m *Main }

func (c streamingCatalog) CheckTarget(ctx context.Context, t streaming.Target) (streaming.Target, error) {
	if t.EpisodeID != "" {
		ep, err := c.m.Catalog.Episode(ctx, t.EpisodeID)
		if err != nil {
			return t, err
		}
		se, err := c.m.Catalog.Season(ctx, ep.SeasonID)
		if err != nil {
			return t, err
		}
		return streaming.Target{TitleID: se.TitleID, EpisodeID: ep.ID}, nil
	}
	tt, err := c.m.Catalog.AdminTitle(ctx, t.TitleID)
	if err != nil {
		return t, err
	}
	if tt.Kind != "movie" {
		return t, content.ErrNotPlayableKind
	}
	return streaming.Target{TitleID: tt.ID}, nil
}

func (c streamingCatalog) FindTarget(ctx context.Context, ref string, season, episode int) (streaming.Target, error) {
	tid, eid, err := c.m.Catalog.VideoTarget(ctx, ref, season, episode)
	return streaming.Target{TitleID: tid, EpisodeID: eid}, err
}

func (c streamingCatalog) SetVideo(ctx context.Context, t streaming.Target, videoID string, attach bool) error {
	return c.m.Catalog.SetVideo(ctx, t.TitleID, t.EpisodeID, videoID, attach)
}
