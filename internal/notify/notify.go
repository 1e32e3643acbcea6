package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// QueueName is the River queue notify's jobs go to (the module's name).
const QueueName = "notify"

// Config configures the service. The comment on each field names the
// environment variable main reads it from and its default; withDefaults
// fills the defaults in.
type Config struct {
	// SMTPHost (SMTP_HOST) is the SMTP server. Empty (the default) writes
	// each email as an .eml file under MailDir instead of sending it.
	SMTPHost string
	// SMTPPort (SMTP_PORT); 0 means the TLS mode's port: 587 for starttls,
	// 465 for tls, 25 for none.
	SMTPPort int
	// SMTPUsername (SMTP_USERNAME) and SMTPPassword (SMTP_PASSWORD) turn on
	// SMTP AUTH (PLAIN or LOGIN). Empty username (the default): no AUTH.
	SMTPUsername, SMTPPassword string
	// SMTPTLS (SMTP_TLS) is none, starttls (default) or tls.
	SMTPTLS string
	// SMTPTimeout (SMTP_TIMEOUT) bounds connecting and each SMTP command
	// (default 30s). An email job may run for EmailTimeoutFactor times it
	// (default 90s): the recipient lookup and an SMTP conversation with a
	// slow server. A job of a crashed instance is retried once that has
	// passed.
	SMTPTimeout time.Duration
	// Workers (NOTIFY_WORKERS) is how many emails this instance sends at
	// once: notify's queue gets that many workers (Module), and the SMTP
	// mailer keeps up to that many connections open between messages
	// (default 50).
	Workers int
	// From (MAIL_FROM) is the From of every email (default
	// "streamflix <no-reply@streamflix.local>"). Its domain also ends
	// every Message-ID.
	From string
	// MailDir (MAIL_DIR) is where emails are written when SMTPHost is
	// empty (default ".data/mail").
	MailDir string
	// PublicURL (PUBLIC_URL) is where users reach streamflix, for links in
	// the templates (default "http://localhost:8080").
	PublicURL string

	// DatabaseURL is the Postgres URL the inbox listener (Listen) opens
	// its own LISTEN connection with. Empty: no live updates.
	DatabaseURL string
	// UnsubscribeSecret (UNSUBSCRIBE_SECRET) signs unsubscribe links.
	// Empty (the default): a random key generated once and kept in
	// notify.secrets, shared by every instance.
	UnsubscribeSecret string

	// Templates, when set, replaces the embedded templates; it is laid
	// out like templates/: <locale>/layout.{html,txt} and
	// <locale>/<kind>.{subject,txt,html}. Not from the environment.
	Templates fs.FS
}

// Defaults of Config.
const (
	DefaultFrom        = "streamflix <no-reply@streamflix.local>"
	DefaultMailDir     = ".data/mail"
	DefaultPublicURL   = "http://localhost:8080"
	DefaultSMTPTimeout = 30 * time.Second
	DefaultWorkers     = 50
)

// EmailTimeoutFactor times Config.SMTPTimeout is how long one email job may
// run.
const EmailTimeoutFactor = 3

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.SMTPTLS == "" {
		c.SMTPTLS = TLSStartTLS
	}
	if c.SMTPTimeout <= 0 {
		c.SMTPTimeout = DefaultSMTPTimeout
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.From == "" {
		c.From = DefaultFrom
	}
	if c.MailDir == "" {
		c.MailDir = DefaultMailDir
	}
	if c.PublicURL == "" {
		c.PublicURL = DefaultPublicURL
	}
	return c
}

// validate names the field at fault, and the variable main reads it from.
func (c Config) validate() error {
	switch c.SMTPTLS {
	case TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return fmt.Errorf("notify: Config.SMTPTLS (SMTP_TLS) must be %s, %s or %s, got %q", TLSNone, TLSStartTLS, TLSImplicit, c.SMTPTLS)
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		return fmt.Errorf("notify: Config.SMTPPort (SMTP_PORT) must be between 1 and 65535, got %d", c.SMTPPort)
	}
	if c.SMTPPassword != "" && c.SMTPUsername == "" {
		return errors.New("notify: Config.SMTPPassword (SMTP_PASSWORD) is set but Config.SMTPUsername (SMTP_USERNAME) is empty")
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil || addressDomain(from.Address) == "" {
		return fmt.Errorf("notify: Config.From (MAIL_FROM) must be an address such as %q, got %q", DefaultFrom, c.From)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("notify: Config.PublicURL (PUBLIC_URL) must be an absolute http(s) URL, got %q", c.PublicURL)
	}
	return nil
}

// Deps is what notify is built with.
type Deps struct {
	// DB holds schema notify.
	DB *sqlx.DB
	// Recipients finds a user's address, name and locale (deps.go).
	Recipients Recipients
	// Queue inserts notify's jobs in the caller's transaction. It may
	// resolve after New (queue.Deferred): River's client needs notify's
	// workers first.
	Queue Queue
	Log   zerolog.Logger
	// Mailer, when set, replaces the mailer chosen from Config (for tests,
	// or another transport).
	Mailer Mailer
}

// Service sends notifications. Build it with New.
type Service struct {
	db         *sqlx.DB
	recipients Recipients
	queue      Queue
	log        zerolog.Logger
	tmpl       *templates
	mailer     Mailer
	from       mail.Address
	domain     string // of From, for Message-IDs
	appURL     string
	workers    int
	jobTimeout time.Duration
	// The email jobs' delivery records, written in batches.
	begin *batcher[deliveryRow, begun]
	sent  *batcher[string, struct{}]

	hub         *hub
	databaseURL string
	listening   atomic.Bool
	keyMu       sync.Mutex
	unsubKey    []byte // nil until first use
}

// New parses and test-renders every kind's templates and picks the mailer:
// deps.Mailer when set, else SMTP when cfg.SMTPHost is set, otherwise .eml
// files in cfg.MailDir. It returns an error naming the setting at fault,
// the missing dependency, or the kind, file and field of a broken
// template. It does not connect to the SMTP server, nor use deps.Queue.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	switch {
	case deps.DB == nil:
		return nil, errors.New("notify: Deps.DB is nil")
	case deps.Recipients == nil:
		return nil, errors.New("notify: Deps.Recipients is nil")
	case deps.Queue == nil:
		return nil, errors.New("notify: Deps.Queue is nil")
	}
	if err := checkKinds(kinds); err != nil {
		return nil, err
	}
	fsys := cfg.Templates
	if fsys == nil {
		sub, err := fs.Sub(embedded, "templates")
		if err != nil {
			return nil, err
		}
		fsys = sub
	}
	tmpl, err := loadTemplates(fsys, kinds)
	if err != nil {
		return nil, err
	}
	from, _ := mail.ParseAddress(cfg.From) // validated
	db := deps.DB
	s := &Service{
		db: db, recipients: deps.Recipients, queue: deps.Queue, log: deps.Log.With().Str("module", "notify").Logger(),
		tmpl: tmpl, from: *from, domain: addressDomain(from.Address),
		appURL:      strings.TrimRight(cfg.PublicURL, "/"),
		workers:     cfg.Workers,
		jobTimeout:  EmailTimeoutFactor * cfg.SMTPTimeout,
		hub:         newHub(),
		databaseURL: cfg.DatabaseURL,
	}
	s.begin = &batcher[deliveryRow, begun]{run: func(ctx context.Context, ds []deliveryRow) ([]begun, error) {
		return beginDeliveries(ctx, db, ds)
	}}
	s.sent = &batcher[string, struct{}]{run: func(ctx context.Context, ids []string) ([]struct{}, error) {
		return markSent(ctx, db, ids)
	}}
	if cfg.UnsubscribeSecret != "" {
		s.unsubKey = []byte(cfg.UnsubscribeSecret)
	}
	s.mailer = deps.Mailer
	switch {
	case s.mailer != nil:
	case cfg.SMTPHost != "":
		s.mailer, err = NewSMTPMailer(SMTPConfig{
			Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			TLS: cfg.SMTPTLS, Timeout: cfg.SMTPTimeout, MaxIdle: cfg.Workers,
		})
		if err != nil {
			return nil, err
		}
	default:
		s.mailer, err = NewDirMailer(cfg.MailDir, s.log)
		if err != nil {
			return nil, fmt.Errorf("%w (MAIL_DIR)", err)
		}
		s.log.Info().Str("dir", cfg.MailDir).Msg("SMTP_HOST is not set: emails are written to files, not sent")
	}
	return s, nil
}

// Close closes the mailer's idle SMTP connections, if it keeps any. Call
// it once the workers have stopped.
func (s *Service) Close() error {
	if c, ok := s.mailer.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Request asks for one notification.
type Request struct {
	Kind Kind
	// UserID is the user the notification is about and, unless To is set,
	// its recipient (address, name and locale come from Recipients).
	UserID string
	// To, when set, is the address to send to instead of the user's: the
	// new address for EmailChange, the deleted account's for
	// AccountDeleted.
	To string
	// Locale overrides the user's locale (needed when there is no user
	// any more). Default: the user's, else "en".
	Locale string
	// Data holds the kind's fields (see the Kind constants). Fields ending
	// in "link" must be absolute http(s) URLs.
	Data map[string]string
	// DedupKey, when set, makes the request idempotent: requests with the
	// same Kind and DedupKey are delivered once, however often they are
	// made. Name what makes the notification unique, such as the token id
	// of a verification link or the Idempotency-Key of the request.
	DedupKey string
}

// Errors of EnqueueTx. Both mean the calling code is wrong.
var (
	ErrUnknownKind    = apperr.New(apperr.Invalid, "notification_kind_unknown", "Unknown notification kind.")
	ErrInvalidRequest = apperr.New(apperr.Invalid, "notification_invalid", "The notification request is invalid.")
)

// Limits on a request's sizes.
const (
	maxDedupKey  = 200
	maxDataValue = 2000
)

// EnqueueTx asks for r to be sent once tx commits: it inserts the email job
// in tx, so a rolled-back transaction sends nothing, and, for kinds shown
// in-app, the user's inbox row (announced to live streams at commit). The
// user's preferences apply: a non-essential kind turned off in a channel
// is not sent there. A repeated DedupKey is accepted and dropped. It
// returns ErrUnknownKind or ErrInvalidRequest (wrapped, naming the field)
// for a request the kind does not accept, and an internal error when the
// insert fails (wrapping queue.ErrNotStarted before the queue exists).
func (s *Service) EnqueueTx(ctx context.Context, tx *sqlx.Tx, r Request) error {
	args, err := r.validate()
	if err != nil {
		return err
	}
	if r.UserID != "" {
		email, inApp, err := effectivePreference(ctx, tx, r.UserID, r.Kind)
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		if inApp && r.Kind.InApp() {
			if err := s.insertNotificationTx(ctx, tx, r); err != nil {
				return err
			}
		}
		if !email {
			return nil
		}
	}
	opts := args.InsertOpts()
	if args.DedupKey != "" {
		// The River unique job is the first line: it keeps a duplicate out
		// of the queue for a day. notify.deliveries then keeps one email a
		// (kind, dedup key) for good.
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByPeriod: 24 * time.Hour}
	}
	res, err := s.queue.InsertTx(ctx, tx.Tx, args, &opts)
	if err != nil {
		return fmt.Errorf("notify: enqueue %s: %w", r.Kind, err)
	}
	if res.UniqueSkippedAsDuplicate {
		s.log.Debug().Str("notification", string(r.Kind)).Int64("job_id", res.Job.ID).Msg("duplicate notification request dropped")
	}
	return nil
}

func (r Request) validate() (EmailArgs, error) {
	spec, ok := kinds[r.Kind]
	if !ok {
		return EmailArgs{}, fmt.Errorf("notify: kind %q: %w", r.Kind, ErrUnknownKind)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("notify: %s: %s: %w", r.Kind, fmt.Sprintf(format, a...), ErrInvalidRequest)
	}
	if r.UserID == "" && r.To == "" {
		return EmailArgs{}, bad("UserID or To is required")
	}
	to := ""
	if r.To != "" {
		a, err := mail.ParseAddress(r.To)
		if err != nil || addressDomain(a.Address) == "" {
			return EmailArgs{}, bad("To is not an email address")
		}
		to = a.Address
	}
	if len(r.DedupKey) > maxDedupKey {
		return EmailArgs{}, bad("DedupKey is longer than %d bytes", maxDedupKey)
	}
	for _, f := range spec.Required {
		if strings.TrimSpace(r.Data[f]) == "" {
			return EmailArgs{}, bad("data field %q is required", f)
		}
	}
	for f, v := range r.Data {
		if !slices.Contains(spec.Required, f) && !slices.Contains(spec.Optional, f) {
			return EmailArgs{}, bad("data field %q is not one of the kind's fields", f)
		}
		if len(v) > maxDataValue {
			return EmailArgs{}, bad("data field %q is longer than %d bytes", f, maxDataValue)
		}
		if isLinkField(f) {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return EmailArgs{}, bad("data field %q must be an absolute http(s) URL", f)
			}
		}
	}
	return EmailArgs{
		Notification: r.Kind, UserID: r.UserID, To: to, Locale: r.Locale,
		Data: r.Data, DedupKey: r.DedupKey,
	}, nil
}

// Delivery is an email delivery as operators see it.
type Delivery struct {
	ID        string     `json:"id"`
	JobID     int64      `json:"job_id"`
	Kind      Kind       `json:"kind"`
	UserID    string     `json:"user_id,omitempty"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	MessageID string     `json:"message_id"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	Error     string     `json:"error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

// DeliveryPage is GET /api/v1/admin/notifications/failed's body.
type DeliveryPage struct {
	Items      []Delivery `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// FailedDeliveries returns deliveries that failed for good, newest first.
// Retrying one is retrying its job (queue admin: POST
// /api/v1/admin/jobs/{job_id}/retry): the job finds its delivery row and
// sends. It returns ErrBadCursor for a cursor it did not make.
func (s *Service) FailedDeliveries(ctx context.Context, limit int, cursor string) (DeliveryPage, error) {
	var after pagePos
	if cursor != "" {
		var err error
		if after, err = decodeCursor(cursor); err != nil {
			return DeliveryPage{}, err
		}
	}
	rows, err := findFailedDeliveries(ctx, s.db, after, limit+1)
	if err != nil {
		return DeliveryPage{}, err
	}
	page := DeliveryPage{Items: []Delivery{}}
	for i, d := range rows {
		if i == limit {
			page.NextCursor = encodeCursor(pagePos{rows[i-1].CreatedAt, rows[i-1].ID})
			break
		}
		page.Items = append(page.Items, d.delivery())
	}
	return page, nil
}
