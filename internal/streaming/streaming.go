package streaming

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// QueueName is the River queue streaming's jobs go to (the module's name).
const QueueName = "streaming"

// State is where a video is in its life.
type State string

// States of a video.
const (
	StateCreated    State = "created"
	StateUploading  State = "uploading"
	StateQueued     State = "queued"
	StateProcessing State = "processing"
	StateReady      State = "ready"
	StateFailed     State = "failed"
	StateCanceled   State = "canceled"
)

var states = []State{StateCreated, StateUploading, StateQueued, StateProcessing, StateReady, StateFailed, StateCanceled}

// Config configures the module. Zero values take the defaults in comments.
type Config struct {
	// UploadDir (UPLOAD_DIR) keeps tus uploads, which are the transcode
	// sources, until their video is deleted (default ".data/uploads").
	// Instances that serve uploads or run workers must share it.
	UploadDir string
	// TempDir holds each transcode's working directory, removed when the
	// run ends (default: the system's temporary directory).
	TempDir string
	// MaxBytes (VIDEO_MAX_BYTES) is the largest upload (default 20 GiB).
	MaxBytes int64
	// MaxDuration (VIDEO_MAX_DURATION) is the longest video (default 4h).
	MaxDuration time.Duration
	// Preset (TRANSCODE_PRESET) is x264's preset (default "veryfast").
	Preset string
	// Workers (TRANSCODE_WORKERS) is how many videos an instance
	// transcodes at once (default 1); the caller sizes the queue with it.
	Workers int
	// JobTimeout bounds one transcode run (default 6h): River cancels the
	// run, which kills ffmpeg, and retries.
	JobTimeout time.Duration
	// AbandonAfter is how long an upload may sit unfinished before the
	// cleanup job deletes it (default 24h).
	AbandonAfter time.Duration
	// TrustedProxies (TRUSTED_PROXIES) are the peers whose X-Forwarded-Host
	// and X-Forwarded-Proto make the upload Location; others' are dropped.
	TrustedProxies []netip.Prefix
	// MediaURL (MEDIA_URL) prefixes the URLs of published files (default "/media").
	MediaURL string
	// FFmpeg and FFprobe are the commands run (default "ffmpeg", "ffprobe").
	FFmpeg, FFprobe string
	// PublishAttempts is how often a run tries to copy its output to
	// storage before it fails and River retries the run (default 3).
	PublishAttempts int
	// PublishBackoff is the first wait between those tries, doubling (default 1s).
	PublishBackoff time.Duration
	// StaleAfter (TRANSCODE_STALE_AFTER) is how long a transcode run may
	// go without a heartbeat (it sends one every StaleAfter/6) before
	// another instance takes its video over (default 1m): a killed
	// instance's video is transcoded again within about 1.5×StaleAfter,
	// not when River would rescue its job after JobTimeout.
	StaleAfter time.Duration
}

// Defaults of Config.
const (
	DefaultMaxBytes    int64 = 20 << 30
	DefaultMaxDuration       = 4 * time.Hour
	DefaultPreset            = "veryfast"
	DefaultJobTimeout        = 6 * time.Hour
)

func (c Config) withDefaults() Config {
	if c.UploadDir == "" {
		c.UploadDir = ".data/uploads"
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxDuration == 0 {
		c.MaxDuration = DefaultMaxDuration
	}
	if c.Preset == "" {
		c.Preset = DefaultPreset
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = DefaultJobTimeout
	}
	if c.AbandonAfter == 0 {
		c.AbandonAfter = 24 * time.Hour
	}
	if c.MediaURL == "" {
		c.MediaURL = "/media"
	}
	c.MediaURL = strings.TrimRight(c.MediaURL, "/")
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.FFprobe == "" {
		c.FFprobe = "ffprobe"
	}
	if c.PublishAttempts == 0 {
		c.PublishAttempts = 3
	}
	if c.PublishBackoff == 0 {
		c.PublishBackoff = time.Second
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = time.Minute
	}
	return c
}

func (c Config) validate() error {
	if c.MaxBytes < 1<<20 {
		return fmt.Errorf("streaming: MaxBytes must be at least 1 MiB, got %d", c.MaxBytes)
	}
	if c.StaleAfter < time.Second {
		return fmt.Errorf("streaming: StaleAfter must be at least 1s, got %s", c.StaleAfter)
	}
	if c.MaxDuration < 0 || c.JobTimeout < 0 || c.AbandonAfter < 0 {
		return errors.New("streaming: MaxDuration, JobTimeout and AbandonAfter must not be negative")
	}
	if c.Workers < 1 {
		return fmt.Errorf("streaming: Workers must be at least 1, got %d", c.Workers)
	}
	for _, bin := range []string{c.FFmpeg, c.FFprobe} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("streaming: %s not found (apt-get install -y ffmpeg): %w", bin, err)
		}
	}
	return nil
}

// Deps are the module's connections and what it needs from other modules.
type Deps struct {
	DB      *sqlx.DB
	Log     zerolog.Logger
	Storage Storage
	Catalog Catalog
	Queue   Inserter
}

// Service ingests and transcodes videos.
type Service struct {
	cfg     Config
	db      *sqlx.DB
	log     zerolog.Logger
	store   Storage
	catalog Catalog
	queue   Inserter
	uploads *uploads
	running *runs
}

// New builds the service. It fails when ffmpeg or ffprobe is missing.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.DB == nil || deps.Storage == nil || deps.Catalog == nil || deps.Queue == nil {
		return nil, errors.New("streaming: DB, Storage, Catalog and Queue are required")
	}
	abs, err := filepath.Abs(cfg.UploadDir)
	if err != nil {
		return nil, fmt.Errorf("streaming: upload dir: %w", err)
	}
	cfg.UploadDir = abs // made by the first upload
	s := &Service{cfg: cfg, db: deps.DB, log: deps.Log.With().Str("module", "streaming").Logger(),
		store: deps.Storage, catalog: deps.Catalog, queue: deps.Queue, running: newRuns()}
	if s.uploads, err = newUploads(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Target is what a video plays as: a movie (EpisodeID empty) or an episode.
type Target struct {
	TitleID   string `json:"title_id"`
	EpisodeID string `json:"episode_id,omitempty"`
}

// Video is a video as operators see it.
type Video struct {
	ID         string   `json:"id"`
	TitleID    string   `json:"title_id"`
	EpisodeID  *string  `json:"episode_id"`
	Language   string   `json:"language"`
	State      State    `json:"state"`
	Progress   float64  `json:"progress"`
	Duration   *float64 `json:"duration_seconds"`
	Width      *int     `json:"width"`
	Height     *int     `json:"height"`
	SourceSize *int64   `json:"source_size"`
	// UploadedBytes is how much of the source tus has received, while
	// the video is uploading.
	UploadedBytes *int64      `json:"uploaded_bytes,omitempty"`
	Attempts      int         `json:"attempts"`
	ErrorCode     *string     `json:"error_code"`
	Error         *string     `json:"error"`
	Playlist      *string     `json:"playlist_url"`
	Poster        *string     `json:"poster_url"`
	Thumbnails    *string     `json:"thumbnails_url"`
	Renditions    []Rendition `json:"renditions"`
	Audio         []Audio     `json:"audio"`
	Subtitles     []Subtitle  `json:"subtitles"`
	CreatedAt     time.Time   `json:"created_at"`
	UpdatedAt     time.Time   `json:"updated_at"`
	ReadyAt       *time.Time  `json:"ready_at"`
	// Prefix is the storage prefix of the published ladder, for the
	// playback module; empty until ready.
	Prefix string `json:"-"`
}

// Rendition is one rung of the video ladder, as measured.
type Rendition struct {
	Name           string  `json:"name" db:"name"`
	Width          int     `json:"width" db:"width"`
	Height         int     `json:"height" db:"height"`
	Bitrate        int     `json:"bitrate" db:"bitrate"`
	AverageBitrate int     `json:"average_bitrate" db:"average_bitrate"`
	Codecs         string  `json:"codecs" db:"codecs"`
	FrameRate      float64 `json:"frame_rate" db:"frame_rate"`
}

// Audio is one audio rendition.
type Audio struct {
	Name      string `json:"name" db:"name"`
	Language  string `json:"language" db:"language"`
	IsDefault bool   `json:"default" db:"is_default"`
	Bitrate   int    `json:"bitrate" db:"bitrate"`
	Codecs    string `json:"codecs" db:"codecs"`
}

// Subtitle is one subtitle rendition.
type Subtitle struct {
	Language string `json:"language" db:"language"`
	URL      string `json:"url" db:"-"`
	Key      string `json:"-" db:"key"`
}

// Errors.
var (
	ErrVideoNotFound = apperr.New(apperr.NotFound, "video_not_found", "No such video.")
	ErrWrongState    = apperr.New(apperr.Conflict, "video_state", "The video is not in a state that allows this.")
	ErrUploadStarted = apperr.New(apperr.Conflict, "upload_started", "This video already has an upload; resume it or create a new video.")
	ErrSubtitle      = apperr.New(apperr.Invalid, "subtitle_invalid", "The subtitles are neither WebVTT nor SRT.")
)

var langRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

func validID(id string) bool { return len(id) == 36 && uuid.Validate(id) == nil }

func invalid(field, code, msg string) error {
	return &apperr.Error{Kind: apperr.Invalid, Code: "invalid_request", Message: "The request is invalid.",
		Fields: []apperr.FieldError{{Field: field, Code: code, Message: msg}}}
}

// CreateVideo makes a video for a movie (TitleID) or an episode
// (EpisodeID, whose title the catalog finds), to be uploaded or imported.
// It returns a validation error (title_id, language) or the catalog's
// not-found error.
func (s *Service) CreateVideo(ctx context.Context, t Target, language string) (Video, error) {
	if t.TitleID == "" && t.EpisodeID == "" {
		return Video{}, invalid("title_id", "required", "Give title_id (a movie) or episode_id.")
	}
	if !langRE.MatchString(language) {
		return Video{}, invalid("language", "invalid", `Must be a language tag such as "en" or "pt-BR".`)
	}
	resolved, err := s.catalog.CheckTarget(ctx, t)
	if err != nil {
		return Video{}, err
	}
	id := uuid.NewString()
	var ep any
	if resolved.EpisodeID != "" {
		ep = resolved.EpisodeID
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO streaming.videos (id, title_id, episode_id, language) VALUES ($1, $2, $3, $4)`,
		id, resolved.TitleID, ep, language); err != nil {
		return Video{}, fmt.Errorf("create video: %w", err)
	}
	return s.FindVideo(ctx, id)
}

// mediaURL is the public URL of a stored key.
func (s *Service) mediaURL(key string) string { return s.cfg.MediaURL + "/" + key }
