package reco

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/reco/model"
)

// QueueName is the River queue reco's jobs go to (the module's name).
const QueueName = "reco"

// Config configures the service. Each field's comment names the
// environment variable main reads it from and its default.
type Config struct {
	// TrainInterval (RECO_TRAIN_INTERVAL) is how old the current model may
	// grow before the hourly check retrains (default 24h).
	TrainInterval time.Duration
	// TrainTimeout bounds one retrain (default 2h).
	TrainTimeout time.Duration
	// EASEMaxItems (RECO_EASE_MAX_ITEMS) is the largest catalog dense EASE
	// is tried on; above it a retrain chooses among the sparse models
	// (default model.DefaultEASEMaxItems, 20,000).
	EASEMaxItems int
	// TopN is how many titles are kept per profile (default 200).
	TopN int
	// FlushInterval is how long an event may wait in memory before it is
	// written (default 500ms; at most 1s).
	FlushInterval time.Duration
	// BufferSize is how many events may wait in memory; beyond it Record
	// drops events rather than hold up playback (default 50,000).
	BufferSize int
	// CacheTTL is how long a profile's serving state is cached (default
	// 60s); every change of the profile's signals invalidates it at once.
	CacheTTL time.Duration
	// MinEvalUsers is how many validation users a retrain needs before
	// popularity may win "Top picks" over a learned model (default 50):
	// on fewer, the comparison is noise and the learned model serves.
	MinEvalUsers int
}

// Defaults of Config.
const (
	DefaultTrainInterval = 24 * time.Hour
	DefaultTrainTimeout  = 2 * time.Hour
	DefaultTopN          = 200
	DefaultFlushInterval = 500 * time.Millisecond
	DefaultBufferSize    = 50000
	DefaultCacheTTL      = time.Minute
	DefaultMinEvalUsers  = 50
)

func (c Config) withDefaults() Config {
	if c.TrainInterval <= 0 {
		c.TrainInterval = DefaultTrainInterval
	}
	if c.TrainTimeout <= 0 {
		c.TrainTimeout = DefaultTrainTimeout
	}
	if c.EASEMaxItems <= 0 {
		c.EASEMaxItems = model.DefaultEASEMaxItems
	}
	if c.TopN <= 0 {
		c.TopN = DefaultTopN
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.BufferSize <= 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.CacheTTL <= 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.MinEvalUsers <= 0 {
		c.MinEvalUsers = DefaultMinEvalUsers
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.FlushInterval > time.Second:
		return fmt.Errorf("reco: Config.FlushInterval must be at most 1s, got %s", c.FlushInterval)
	case c.TopN > 1000:
		return fmt.Errorf("reco: Config.TopN must be at most 1000, got %d", c.TopN)
	case c.TrainInterval < time.Minute:
		return fmt.Errorf("reco: Config.TrainInterval (RECO_TRAIN_INTERVAL) must be at least 1m, got %s", c.TrainInterval)
	}
	return nil
}

// Deps is what reco is built with.
type Deps struct {
	// DB holds schemas analytics and reco.
	DB *sqlx.DB
	// Catalog lists titles and filters them for a viewer (deps.go).
	Catalog Catalog
	// Profiles names a profile (deps.go).
	Profiles Profiles
	// Watching gives "Continue watching"; nil leaves the row out.
	Watching Watching
	// Queue inserts reco's jobs in the caller's transaction; it may
	// resolve after New (queue.Deferred).
	Queue Inserter
	// Cache holds profiles' serving state; nil caches nothing.
	Cache Cache
	Log   zerolog.Logger
	// Metrics registers reco's counters; nil registers none.
	Metrics prometheus.Registerer
}

// Service is the recommendation module. Build it with New; Close it to
// write the events still in memory.
type Service struct {
	cfg      Config
	db       *sqlx.DB
	catalog  Catalog
	profiles Profiles
	watching Watching
	queue    Inserter
	cache    Cache
	log      zerolog.Logger
	w        *writer
	m        metrics

	// The current model's weights, loaded once per version per instance.
	modelMu sync.Mutex
	current *servedModel
	// The catalog as rows order it, reused for catalogTTL.
	catMu       sync.Mutex
	catalogCopy *catalogView
}

// New builds the service and starts its event writer. It returns an
// error naming the setting or dependency at fault.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	switch {
	case deps.DB == nil:
		return nil, errors.New("reco: Deps.DB is nil")
	case deps.Catalog == nil:
		return nil, errors.New("reco: Deps.Catalog is nil")
	case deps.Profiles == nil:
		return nil, errors.New("reco: Deps.Profiles is nil")
	case deps.Queue == nil:
		return nil, errors.New("reco: Deps.Queue is nil")
	}
	s := &Service{cfg: cfg, db: deps.DB, catalog: deps.Catalog, profiles: deps.Profiles, watching: deps.Watching,
		queue: deps.Queue, cache: deps.Cache, log: deps.Log.With().Str("module", "reco").Logger(), m: newMetrics(deps.Metrics)}
	s.w = newWriter(s)
	return s, nil
}

// Close writes the events still in memory and stops the writer. Record
// after Close drops events.
func (s *Service) Close() error { return s.w.close() }

// Errors.
var (
	// ErrTitleNotFound: the title does not exist or the profile may not see it.
	ErrTitleNotFound = apperr.New(apperr.NotFound, "title_not_found", "No such title.")
	// ErrTrainingBusy: another retrain is running.
	ErrTrainingBusy = apperr.New(apperr.Conflict, "training_busy", "A retrain is already running.")
	// ErrRow: the row asked for is not one of top, because, trending, my-list, new or genre:{slug}.
	errRow = apperr.Validation(apperr.FieldError{Field: "row", Code: "invalid", Message: "Must be top, because, trending, my-list, new or genre:{slug}."})
)

// Title is a title card in a row, as the catalog shows it.
type Title struct {
	ID             string  `json:"id" jsonschema:"format=uuid"`
	Kind           string  `json:"kind" jsonschema:"enum=movie,enum=series"`
	Name           string  `json:"name"`
	Year           *int    `json:"year"`
	Genres         []Genre `json:"genres"`
	MaturityRating string  `json:"maturity_rating"`
	MaturityLevel  int     `json:"maturity_level"`
	Artwork        Artwork `json:"artwork"`
	Playable       bool    `json:"playable"`
}

// Genre is a category titles belong to.
type Genre struct {
	ID   string `json:"id" jsonschema:"format=uuid"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Artwork is a title's poster and backdrop.
type Artwork struct {
	Poster   *Image `json:"poster"`
	Backdrop *Image `json:"backdrop"`
}

// Image is one image at the widths it was rendered at, narrowest first.
type Image struct {
	Color string      `json:"color"`
	Sizes []ImageSize `json:"sizes"`
}

// ImageSize is one rendition of an image.
type ImageSize struct {
	Width int    `json:"width"`
	URL   string `json:"url" jsonschema:"format=uri-reference"`
}

type metrics struct {
	recorded, dropped, written prometheus.Counter
}

func newMetrics(r prometheus.Registerer) metrics {
	m := metrics{
		recorded: prometheus.NewCounter(prometheus.CounterOpts{Name: "streamflix_reco_events_recorded_total", Help: "Viewing and client events handed to the analytics writer."}),
		dropped:  prometheus.NewCounter(prometheus.CounterOpts{Name: "streamflix_reco_events_dropped_total", Help: "Events dropped because the writer's buffer was full or closed."}),
		written:  prometheus.NewCounter(prometheus.CounterOpts{Name: "streamflix_reco_events_written_total", Help: "Events written to analytics.events (first deliveries only)."}),
	}
	if r != nil {
		r.MustRegister(m.recorded, m.dropped, m.written)
	}
	return m
}
