package content

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"
	"golang.org/x/sync/singleflight"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Kinds of title.
const (
	KindMovie  = "movie"
	KindSeries = "series"
)

// Statuses of a title.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

// Roles of a person in a title.
const (
	RoleActor    = "actor"
	RoleDirector = "director"
	RoleWriter   = "writer"
	RoleCreator  = "creator"
)

// Ratings maps each maturity rating to its level, on the same scale as the
// user module's profile ceilings (10 all ages to 50 adults only). The
// migration's generated column holds the same mapping.
var Ratings = map[string]int{
	"G": 10, "TV-Y": 10, "TV-G": 10,
	"PG": 20, "TV-Y7": 20, "TV-PG": 20,
	"PG-13": 30, "TV-14": 30,
	"R": 40, "TV-MA": 40,
	"NC-17": 50,
}

// Limits on input.
const (
	MaxQueryLen  = 200 // runes in a search query
	maxNameLen   = 200
	maxTextLen   = 5000
	maxListItems = 30
	maxTagLen    = 40
	maxPeople    = 200
	// rowItems is how many titles a home row holds before its next_cursor.
	rowItems = 20
	// maxRows caps the per-genre rows on the home page.
	maxRows = 30
	// relatedItems is how many related titles a title page lists.
	relatedItems = 12
	// searchOthers bounds the search matches ranked that are not in a
	// title's names, tags or people (the newest are taken).
	searchOthers = 500
	// relatedPerGenre is how many of each genre's newest titles are
	// candidates for a title's related list.
	relatedPerGenre = 50
)

// Errors returned by the Service.
var (
	ErrTitleNotFound   = apperr.New(apperr.NotFound, "title_not_found", "No such title.")
	ErrSeasonNotFound  = apperr.New(apperr.NotFound, "season_not_found", "No such season.")
	ErrEpisodeNotFound = apperr.New(apperr.NotFound, "episode_not_found", "No such episode.")
	ErrGenreNotFound   = apperr.New(apperr.NotFound, "genre_not_found", "No such genre.")
	ErrPersonNotFound  = apperr.New(apperr.NotFound, "person_not_found", "No such person.")
	ErrGenreTaken      = apperr.New(apperr.Conflict, "genre_slug_taken", "Another genre already has this slug.")
	ErrSeasonTaken     = apperr.New(apperr.Conflict, "season_number_taken", "The title already has a season with this number.")
	ErrEpisodeTaken    = apperr.New(apperr.Conflict, "episode_number_taken", "The season already has an episode with this number.")
	ErrExternalKey     = apperr.New(apperr.Conflict, "external_key_taken", "Another title already has this external key.")
	ErrNotSeries       = apperr.New(apperr.Conflict, "not_series", "Only series have seasons.")
)

// Artwork is a title's images; nil when the title has none in that slot.
type Artwork struct {
	Poster   *Image `json:"poster"`
	Backdrop *Image `json:"backdrop"`
}

// Image is one image at the widths it was rendered at.
type Image struct {
	// Color is the image's average colour as #rrggbb, a placeholder to
	// show while it loads.
	Color string `json:"color"`
	// Sizes are the renditions, narrowest first (JPEG; URLs never change
	// content, so they are cached for a year).
	Sizes []ImageSize `json:"sizes"`
}

// ImageSize is one rendition of an image.
type ImageSize struct {
	Width int    `json:"width"`
	URL   string `json:"url" jsonschema:"format=uri-reference"`
}

// Genre is a category titles belong to.
type Genre struct {
	ID   string `json:"id" jsonschema:"format=uuid"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// Person is someone in a title's cast or crew.
type Person struct {
	ID   string `json:"id" jsonschema:"format=uuid"`
	Name string `json:"name"`
}

// Credit is a person's part in a title.
type Credit struct {
	PersonID  string `json:"person_id" db:"person_id" jsonschema:"format=uuid"`
	Name      string `json:"name" db:"name"`
	Role      string `json:"role" db:"role" jsonschema:"enum=actor,enum=director,enum=writer,enum=creator"`
	Character string `json:"character,omitempty" db:"character"`
	Position  int    `json:"position" db:"position"`
}

// Title is a title as it appears in lists.
type Title struct {
	ID             string  `json:"id" jsonschema:"format=uuid"`
	Kind           string  `json:"kind" jsonschema:"enum=movie,enum=series"`
	Name           string  `json:"name"`
	Year           *int    `json:"year"`
	Genres         []Genre `json:"genres"`
	MaturityRating string  `json:"maturity_rating" jsonschema:"enum=G,enum=PG,enum=PG-13,enum=R,enum=NC-17,enum=TV-Y,enum=TV-Y7,enum=TV-G,enum=TV-PG,enum=TV-14,enum=TV-MA"`
	MaturityLevel  int     `json:"maturity_level"`
	Artwork        Artwork `json:"artwork"`
	Playable       bool    `json:"playable"`
}

// Episode is one episode of a season.
type Episode struct {
	ID             string  `json:"id" jsonschema:"format=uuid"`
	SeasonID       string  `json:"season_id" jsonschema:"format=uuid"`
	Number         int     `json:"number"`
	Name           string  `json:"name"`
	Synopsis       string  `json:"synopsis"`
	RuntimeMinutes *int    `json:"runtime_minutes"`
	VideoID        *string `json:"video_id"`
}

// Season is one season of a series, with its episodes in order.
type Season struct {
	ID       string    `json:"id" jsonschema:"format=uuid"`
	TitleID  string    `json:"title_id" jsonschema:"format=uuid"`
	Number   int       `json:"number"`
	Name     string    `json:"name"`
	Synopsis string    `json:"synopsis"`
	Year     *int      `json:"year"`
	Episodes []Episode `json:"episodes"`
}

// TitleDetails is a title page.
type TitleDetails struct {
	Title
	OriginalName   string   `json:"original_name"`
	Synopsis       string   `json:"synopsis"`
	RuntimeMinutes *int     `json:"runtime_minutes"`
	Languages      []string `json:"languages"`
	Tags           []string `json:"tags"`
	People         []Credit `json:"people"`
	Seasons        []Season `json:"seasons"`
	Related        []Title  `json:"related"`
}

// AdminTitle is a title as operators see it, whatever its status.
type AdminTitle struct {
	TitleDetails
	ExternalKey    *string    `json:"external_key"`
	Status         string     `json:"status" jsonschema:"enum=draft,enum=published"`
	PublishedAt    *time.Time `json:"published_at"`
	AvailableFrom  *time.Time `json:"available_from"`
	AvailableUntil *time.Time `json:"available_until"`
	VideoID        *string    `json:"video_id"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Config holds content's settings. The comment on each field states its
// default, which withDefaults fills in.
type Config struct {
	// CacheTTL is how long cached home rows and title pages live (default
	// 60s); writes invalidate them at once regardless.
	CacheTTL time.Duration
	// MediaURL prefixes the URLs of artwork in responses (default "/media",
	// where the gateway serves Deps.Media); a trailing slash is dropped.
	MediaURL string
}

// Defaults of Config.
const (
	DefaultCacheTTL = 60 * time.Second
	DefaultMediaURL = "/media"
)

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.CacheTTL == 0 {
		c.CacheTTL = DefaultCacheTTL
	}
	if c.MediaURL == "" {
		c.MediaURL = DefaultMediaURL
	}
	c.MediaURL = strings.TrimRight(c.MediaURL, "/")
	return c
}

// validate reports a bad setting, naming the field.
func (c Config) validate() error {
	if c.CacheTTL < 0 {
		return fmt.Errorf("content: Config.CacheTTL must not be negative, got %s", c.CacheTTL)
	}
	if u, err := url.Parse(c.MediaURL); err != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("content: Config.MediaURL must be a path like /media or an http(s) URL, got %q", c.MediaURL)
	}
	return nil
}

// Deps holds what content is built from.
type Deps struct {
	// DB is the Postgres pool; required.
	DB *sqlx.DB
	// Cache shares hot reads between instances; nil caches nothing.
	Cache Cache
	// Media keeps artwork images; nil makes artwork writes fail.
	Media Media
	// Log receives content's warnings.
	Log zerolog.Logger
}

// Service is the content module's API. Build it with New.
type Service struct {
	db    *sqlx.DB
	cache Cache
	media Media
	near  *expirable.LRU[string, Cached] // this instance's copy of cache entries
	// flight joins concurrent builds of one cache entry.
	flight singleflight.Group
	cfg    Config
	log    zerolog.Logger
	// imaging bounds how many images are decoded and resized at once: a
	// decoded upload can take a few hundred MB.
	imaging chan struct{}
}

// New returns the content Service. It returns an error naming the field
// of cfg or deps at fault.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.DB == nil {
		return nil, errors.New("content: Deps.DB is required")
	}
	return &Service{db: deps.DB, cache: deps.Cache, media: deps.Media, cfg: cfg, log: deps.Log,
		imaging: make(chan struct{}, imagingSlots), near: expirable.NewLRU[string, Cached](nearEntries, nil, cfg.CacheTTL)}, nil
}

// Health checks the database.
func (s *Service) Health(ctx context.Context) error { return s.db.PingContext(ctx) }

// Viewer is who reads the catalog: the active profile's maturity ceiling.
type Viewer struct {
	MaturityLevel int
}

func newID() string { return uuid.NewString() }

// validUUID reports whether s is a UUID in its canonical 36-character
// form, so that a malformed id is a not-found rather than a database error.
func validUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

// fieldErrs collects validation errors.
type fieldErrs []apperr.FieldError

func (f *fieldErrs) add(field, code, msg string) {
	*f = append(*f, apperr.FieldError{Field: field, Code: code, Message: msg})
}

func (f fieldErrs) err() error {
	if len(f) == 0 {
		return nil
	}
	return apperr.Validation(f...)
}

// cleanText reports whether s can be stored: valid UTF-8 with no NUL
// (Postgres text refuses both, and the error would be a 500).
func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// text checks an optional free-text field of at most max runes.
func (f *fieldErrs) text(field, s string, max int) {
	switch {
	case !cleanText(s):
		f.add(field, "invalid", "Must be valid UTF-8 text.")
	case utf8.RuneCountInString(s) > max:
		f.add(field, "too_long", "Must be at most "+strconv.Itoa(max)+" characters.")
	}
}

// required checks a required text field.
func (f *fieldErrs) required(field, s string, max int) {
	if strings.TrimSpace(s) == "" {
		f.add(field, "required", "This field is required.")
		return
	}
	if fe := api.LineProblem(field, s); fe != nil { // names are one line, without control or bidi characters
		*f = append(*f, *fe)
		return
	}
	f.text(field, s, max)
}

var (
	slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	langRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)
)
