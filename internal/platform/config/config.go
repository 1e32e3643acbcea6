// Package config reads streamflix's one Config from environment variables and
// command-line flags of the same names (DATABASE_URL and --database-url),
// validates it, and prints it with secrets redacted.
//
// Flags win over the environment, which wins over defaults. Domains never
// read the environment: main reads the Config once and passes it down.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Config holds every setting of streamflix. The comment on each field names
// its environment variable; defaults are in the settings table below.
type Config struct {
	HTTPAddr     string // HTTP_ADDR
	PublicURL    string // PUBLIC_URL
	InstanceAddr string // INSTANCE_ADDR

	DatabaseURL       string        // DATABASE_URL
	DBMaxOpenConns    int           // DB_MAX_OPEN_CONNS
	DBMaxIdleConns    int           // DB_MAX_IDLE_CONNS
	DBConnMaxLifetime time.Duration // DB_CONN_MAX_LIFETIME
	DBConnMaxIdleTime time.Duration // DB_CONN_MAX_IDLE_TIME

	RedisURL    string // REDIS_URL
	RedisPrefix string // REDIS_PREFIX

	CatalogCacheTTL time.Duration // CATALOG_CACHE_TTL

	LogLevel  string // LOG_LEVEL
	LogFormat string // LOG_FORMAT

	TrustedProxies []netip.Prefix // TRUSTED_PROXIES
	CORSOrigins    []string       // CORS_ORIGINS
	MaxBodyBytes   int64          // MAX_BODY_BYTES
	RequestTimeout time.Duration  // REQUEST_TIMEOUT
	RateLimitIP    Rate           // RATE_LIMIT_IP
	RateLimitUser  Rate           // RATE_LIMIT_USER

	ShutdownGrace     time.Duration // SHUTDOWN_GRACE
	DrainDelay        time.Duration // DRAIN_DELAY
	HeartbeatInterval time.Duration // HEARTBEAT_INTERVAL
	InstanceTTL       time.Duration // INSTANCE_TTL

	Workers        bool          // WORKERS
	JobConcurrency int           // JOB_CONCURRENCY
	JobRescueAfter time.Duration // JOB_RESCUE_AFTER
	NotifyWorkers  int           // NOTIFY_WORKERS

	RecoTrainInterval time.Duration // RECO_TRAIN_INTERVAL
	RecoEASEMaxItems  int           // RECO_EASE_MAX_ITEMS

	AdminToken string // ADMIN_TOKEN

	AuthSigningKeys string // AUTH_SIGNING_KEYS

	SMTPHost     string        // SMTP_HOST
	SMTPPort     int           // SMTP_PORT
	SMTPUsername string        // SMTP_USERNAME
	SMTPPassword string        // SMTP_PASSWORD
	SMTPTLS      string        // SMTP_TLS
	SMTPTimeout  time.Duration // SMTP_TIMEOUT
	MailFrom     string        // MAIL_FROM
	MailDir      string        // MAIL_DIR

	MediaDir string // MEDIA_DIR
	MediaURL string // MEDIA_URL

	Storage     string // STORAGE
	S3Endpoint  string // S3_ENDPOINT
	S3Bucket    string // S3_BUCKET
	S3AccessKey string // S3_ACCESS_KEY
	S3SecretKey string // S3_SECRET_KEY
	S3Region    string // S3_REGION

	UploadDir        string        // UPLOAD_DIR
	VideoMaxBytes    int64         // VIDEO_MAX_BYTES
	VideoMaxDuration time.Duration // VIDEO_MAX_DURATION
	TranscodePreset  string        // TRANSCODE_PRESET
	TranscodeWorkers int           // TRANSCODE_WORKERS
	TranscodeStale   time.Duration // TRANSCODE_STALE_AFTER

	PaymentProvider          string // PAYMENT_PROVIDER
	PaymentWebhookSecret     string // PAYMENT_WEBHOOK_SECRET
	PaymentSandboxWebhookURL string // PAYMENT_SANDBOX_WEBHOOK_URL
	StripeSecretKey          string // STRIPE_SECRET_KEY
	StripeWebhookSecret      string // STRIPE_WEBHOOK_SECRET
	StripeAPIURL             string // STRIPE_API_URL
}

// Rate is a rate limit written as "N/period" or "N/period:burst", e.g.
// "50/s:100" (50 a second, bursts of 100) or "600/1m". "0" disables it.
type Rate struct {
	N      int
	Period time.Duration
	Burst  int
}

// Enabled reports whether the rate limits anything.
func (r Rate) Enabled() bool { return r.N > 0 }

func (r Rate) String() string {
	if !r.Enabled() {
		return "0"
	}
	p := r.Period.String()
	switch r.Period {
	case time.Second:
		p = "s"
	case time.Minute:
		p = "m"
	case time.Hour:
		p = "h"
	}
	return fmt.Sprintf("%d/%s:%d", r.N, p, r.Burst)
}

// ParseRate parses the RATE_LIMIT_* syntax.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	if s == "0" || s == "" {
		return Rate{}, nil
	}
	spec, burstS, hasBurst := strings.Cut(s, ":")
	nS, periodS, ok := strings.Cut(spec, "/")
	if !ok {
		return Rate{}, errors.New(`want "N/period[:burst]", e.g. "50/s:100"`)
	}
	n, err := strconv.Atoi(nS)
	if err != nil || n < 0 {
		return Rate{}, fmt.Errorf("%q is not a count", nS)
	}
	var period time.Duration
	switch periodS {
	case "s":
		period = time.Second
	case "m":
		period = time.Minute
	case "h":
		period = time.Hour
	default:
		period, err = time.ParseDuration(periodS)
		if err != nil || period <= 0 {
			return Rate{}, fmt.Errorf("%q is not a period (s, m, h or a duration like 10s)", periodS)
		}
	}
	burst := n
	if hasBurst {
		burst, err = strconv.Atoi(burstS)
		if err != nil || burst < 1 {
			return Rate{}, fmt.Errorf("burst %q is not a positive count", burstS)
		}
	}
	return Rate{N: n, Period: period, Burst: burst}, nil
}

// setting is one row of the settings table.
type setting struct {
	env    string
	def    string
	usage  string
	secret bool // a URL whose password is redacted, or a value hidden whole
	ptr    func(*Config) any
}

func (s setting) flagName() string {
	return strings.ReplaceAll(strings.ToLower(s.env), "_", "-")
}

// settings lists every setting with its default. Keep it in sync with Config.
var settings = []setting{
	{"HTTP_ADDR", ":8080", "address the HTTP server listens on", false, func(c *Config) any { return &c.HTTPAddr }},
	{"PUBLIC_URL", "http://localhost:8080", "URL users reach streamflix at (links in emails)", false, func(c *Config) any { return &c.PublicURL }},
	{"INSTANCE_ADDR", "", "address other instances and operators reach this instance at; default host:port from HTTP_ADDR", false, func(c *Config) any { return &c.InstanceAddr }},
	{"DATABASE_URL", "", "Postgres URL (required), e.g. postgres://user:pass@host:5432/streamflix?sslmode=disable", true, func(c *Config) any { return &c.DatabaseURL }},
	{"DB_MAX_OPEN_CONNS", "25", "maximum open Postgres connections in the pool", false, func(c *Config) any { return &c.DBMaxOpenConns }},
	{"DB_MAX_IDLE_CONNS", "10", "maximum idle Postgres connections kept in the pool", false, func(c *Config) any { return &c.DBMaxIdleConns }},
	{"DB_CONN_MAX_LIFETIME", "30m", "close Postgres connections older than this", false, func(c *Config) any { return &c.DBConnMaxLifetime }},
	{"DB_CONN_MAX_IDLE_TIME", "5m", "close Postgres connections idle longer than this", false, func(c *Config) any { return &c.DBConnMaxIdleTime }},
	{"REDIS_URL", "", "Redis URL, e.g. redis://:pass@host:6379/0; empty runs on Postgres alone with in-process caches and limits", true, func(c *Config) any { return &c.RedisURL }},
	{"REDIS_PREFIX", "streamflix:", "prefix of every Redis key (share one Redis between deployments)", false, func(c *Config) any { return &c.RedisPrefix }},
	{"CATALOG_CACHE_TTL", "60s", "how long cached home rows and title pages live (catalog writes invalidate them at once); 0 disables the cache", false, func(c *Config) any { return &c.CatalogCacheTTL }},
	{"LOG_LEVEL", "info", "trace, debug, info, warn or error", false, func(c *Config) any { return &c.LogLevel }},
	{"LOG_FORMAT", "auto", "json, pretty, or auto (pretty on a terminal, JSON otherwise)", false, func(c *Config) any { return &c.LogFormat }},
	{"TRUSTED_PROXIES", "", "comma-separated CIDRs of proxies whose X-Forwarded-For is believed, e.g. 127.0.0.1/32,10.0.0.0/8", false, func(c *Config) any { return &c.TrustedProxies }},
	{"CORS_ORIGINS", "", "comma-separated origins allowed to call the API from a browser; * for any (without credentials)", false, func(c *Config) any { return &c.CORSOrigins }},
	{"MAX_BODY_BYTES", "1048576", "largest request body accepted by JSON routes, in bytes", false, func(c *Config) any { return &c.MaxBodyBytes }},
	{"REQUEST_TIMEOUT", "30s", "time limit for one API request", false, func(c *Config) any { return &c.RequestTimeout }},
	{"RATE_LIMIT_IP", "50/s:100", "requests per client IP, as N/period[:burst]; 0 disables", false, func(c *Config) any { return &c.RateLimitIP }},
	{"RATE_LIMIT_USER", "20/s:60", "requests per signed-in user, as N/period[:burst]; 0 disables", false, func(c *Config) any { return &c.RateLimitUser }},
	{"SHUTDOWN_GRACE", "25s", "on SIGTERM, time allowed for in-flight requests and running jobs to finish", false, func(c *Config) any { return &c.ShutdownGrace }},
	{"DRAIN_DELAY", "5s", "on SIGTERM, time /readyz answers 503 before the listener closes, so load balancers stop sending traffic", false, func(c *Config) any { return &c.DrainDelay }},
	{"HEARTBEAT_INTERVAL", "10s", "how often this instance refreshes its registry entry", false, func(c *Config) any { return &c.HeartbeatInterval }},
	{"INSTANCE_TTL", "30s", "an instance whose heartbeat is older than this drops out of the registry", false, func(c *Config) any { return &c.InstanceTTL }},
	{"WORKERS", "true", "run queue workers in this instance", false, func(c *Config) any { return &c.Workers }},
	{"ADMIN_TOKEN", "", "static bearer token with the admin role, for operators' scripts (at least 32 characters); empty disables it", true, func(c *Config) any { return &c.AdminToken }},
	{"AUTH_SIGNING_KEYS", "", "PEM-encoded PKCS#8 RSA private keys that sign access tokens (the first signs, all verify); empty keeps generated keys in Postgres, shared by every instance", true, func(c *Config) any { return &c.AuthSigningKeys }},
	{"SMTP_HOST", "", "SMTP server for email; empty writes each email as a .eml file under MAIL_DIR instead", false, func(c *Config) any { return &c.SMTPHost }},
	{"SMTP_PORT", "587", "SMTP server port", false, func(c *Config) any { return &c.SMTPPort }},
	{"SMTP_USERNAME", "", "SMTP user name (empty: no authentication)", false, func(c *Config) any { return &c.SMTPUsername }},
	{"SMTP_PASSWORD", "", "SMTP password", true, func(c *Config) any { return &c.SMTPPassword }},
	{"SMTP_TLS", "starttls", "none, starttls or tls (implicit TLS, usually port 465)", false, func(c *Config) any { return &c.SMTPTLS }},
	{"SMTP_TIMEOUT", "30s", "time limit for connecting to the SMTP server and for each SMTP command; one email job may take 3 times it, and an email left by a crashed instance is sent again once that has passed", false, func(c *Config) any { return &c.SMTPTimeout }},
	{"MAIL_FROM", "streamflix <no-reply@streamflix.local>", "From address of every email", false, func(c *Config) any { return &c.MailFrom }},
	{"MAIL_DIR", ".data/mail", "where emails are written when SMTP_HOST is empty", false, func(c *Config) any { return &c.MailDir }},
	{"MEDIA_DIR", ".data/media", "directory media (artwork, later video) is stored in and served from at /media/; instances behind one load balancer must share it", false, func(c *Config) any { return &c.MediaDir }},
	{"MEDIA_URL", "/media", "prefix of media URLs in API responses: /media (this app, behind the edge cache) or a CDN's https:// URL that fetches from it", false, func(c *Config) any { return &c.MediaURL }},
	{"STORAGE", "local", "where media is stored: local (MEDIA_DIR) or s3 (S3_ENDPOINT, S3_BUCKET)", false, func(c *Config) any { return &c.Storage }},
	{"S3_ENDPOINT", "", "URL of the S3-compatible server when STORAGE=s3, e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:7070", false, func(c *Config) any { return &c.S3Endpoint }},
	{"S3_BUCKET", "", "bucket media is stored in when STORAGE=s3 (created if missing)", false, func(c *Config) any { return &c.S3Bucket }},
	{"S3_ACCESS_KEY", "", "S3 access key id", true, func(c *Config) any { return &c.S3AccessKey }},
	{"S3_SECRET_KEY", "", "S3 secret access key", true, func(c *Config) any { return &c.S3SecretKey }},
	{"S3_REGION", "us-east-1", "S3 region of the bucket", false, func(c *Config) any { return &c.S3Region }},
	{"UPLOAD_DIR", ".data/uploads", "directory resumable video uploads and their sources are kept in until transcoded; instances that serve uploads or run workers must share it", false, func(c *Config) any { return &c.UploadDir }},
	{"VIDEO_MAX_BYTES", "21474836480", "largest video upload accepted, in bytes (default 20 GiB)", false, func(c *Config) any { return &c.VideoMaxBytes }},
	{"VIDEO_MAX_DURATION", "4h", "longest video accepted for transcoding", false, func(c *Config) any { return &c.VideoMaxDuration }},
	{"TRANSCODE_PRESET", "veryfast", "x264 preset of transcodes (ultrafast ... veryslow): slower is smaller at the same quality", false, func(c *Config) any { return &c.TranscodePreset }},
	{"TRANSCODE_WORKERS", "1", "videos transcoded at once per instance (each ffmpeg uses every core)", false, func(c *Config) any { return &c.TranscodeWorkers }},
	{"TRANSCODE_STALE_AFTER", "1m", "how long a transcode may go without a heartbeat before another instance takes its video over (a killed instance's video is picked up again within about 1.5 times this)", false, func(c *Config) any { return &c.TranscodeStale }},
	{"PAYMENT_PROVIDER", "sandbox", "payment provider: sandbox (built in, test cards, test clock) or stripe", false, func(c *Config) any { return &c.PaymentProvider }},
	{"PAYMENT_WEBHOOK_SECRET", "", "secret the sandbox signs its webhook events with (Stripe's scheme); empty keeps a generated one in Postgres", true, func(c *Config) any { return &c.PaymentWebhookSecret }},
	{"PAYMENT_SANDBOX_WEBHOOK_URL", "", "where the sandbox delivers its events; empty: this instance's own /api/v1/billing/webhooks/sandbox", false, func(c *Config) any { return &c.PaymentSandboxWebhookURL }},
	{"STRIPE_SECRET_KEY", "", "Stripe secret key (sk_...), required with PAYMENT_PROVIDER=stripe", true, func(c *Config) any { return &c.StripeSecretKey }},
	{"STRIPE_WEBHOOK_SECRET", "", "signing secret of the Stripe webhook endpoint (whsec_...), required with PAYMENT_PROVIDER=stripe; pin the endpoint's API version to stripe-go's", true, func(c *Config) any { return &c.StripeWebhookSecret }},
	{"STRIPE_API_URL", "", "Stripe API address override, e.g. stripe-mock's http://127.0.0.1:12111; empty is Stripe's", false, func(c *Config) any { return &c.StripeAPIURL }},
	{"JOB_CONCURRENCY", "10", "jobs worked at once per module queue", false, func(c *Config) any { return &c.JobConcurrency }},
	{"JOB_RESCUE_AFTER", "0s", "how long a job may run before it counts as left by a crashed instance; River runs it again once its own time limit has passed too; 0 derives it from the short jobs' time limits (100s with the default SMTP_TIMEOUT)", false, func(c *Config) any { return &c.JobRescueAfter }},
	{"NOTIFY_WORKERS", "50", "emails sent at once per instance (notify's queue), each over its own SMTP connection, kept open for reuse", false, func(c *Config) any { return &c.NotifyWorkers }},
	{"RECO_TRAIN_INTERVAL", "24h", "how old the recommendation model may grow before the hourly check retrains it (streamflix reco train retrains at once)", false, func(c *Config) any { return &c.RecoTrainInterval }},
	{"RECO_EASE_MAX_ITEMS", "20000", "largest catalog dense EASE is tried on at a retrain (it needs 16·n² bytes: 6.4 GB at 20,000); above it only the sparse models run", false, func(c *Config) any { return &c.RecoEASEMaxItems }},
}

// Error reports a setting with a bad value. Its message names the variable.
type Error struct {
	Env string
	Msg string
}

func (e *Error) Error() string { return e.Env + ": " + e.Msg }

// Load builds a Config from defaults, then the environment (getenv), then
// args (flags such as --http-addr=:9000 or --http-addr :9000), and validates
// it. It returns flag.ErrHelp when args ask for help (after printing it to
// out), and an *Error naming the variable for a bad value.
func Load(name string, args []string, getenv func(string) string, out io.Writer) (*Config, []string, error) {
	c := &Config{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	raw := map[string]*string{}
	for _, s := range settings {
		v := s.def
		if e, ok := lookup(getenv, s.env); ok {
			v = e
		}
		p := new(string)
		*p = v
		raw[s.env] = p
		fs.StringVar(p, s.flagName(), v, s.usage)
	}
	fs.Usage = func() { Usage(out, name) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err // fs.Usage has printed the settings
		}
		return nil, nil, &Error{Env: "flags", Msg: err.Error()}
	}
	for _, s := range settings {
		if err := s.set(c, *raw[s.env]); err != nil {
			return nil, nil, &Error{Env: s.env, Msg: err.Error()}
		}
	}
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	return c, fs.Args(), nil
}

func lookup(getenv func(string) string, key string) (string, bool) {
	v := getenv(key)
	return v, v != ""
}

func (s setting) set(c *Config, v string) error {
	v = strings.TrimSpace(v)
	switch p := s.ptr(c).(type) {
	case *string:
		*p = v
	case *int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (like 30s, 5m, 1h)", v)
		}
		*p = d
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*p = b
	case *[]netip.Prefix:
		*p = nil
		for _, item := range splitList(v) {
			pr, err := netip.ParsePrefix(item)
			if err != nil {
				a, aerr := netip.ParseAddr(item)
				if aerr != nil {
					return fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an IP address", item)
				}
				pr = netip.PrefixFrom(a, a.BitLen())
			}
			*p = append(*p, pr.Masked())
		}
	case *[]string:
		*p = splitList(v)
	case *Rate:
		r, err := ParseRate(v)
		if err != nil {
			return err
		}
		*p = r
	default:
		return fmt.Errorf("unsupported setting type %T", p)
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (c *Config) validate() error {
	bad := func(env, format string, a ...any) error { return &Error{Env: env, Msg: fmt.Sprintf(format, a...)} }
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return bad("HTTP_ADDR", "%q is not host:port (e.g. :8080)", c.HTTPAddr)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("PUBLIC_URL", "%q is not an http(s) URL", c.PublicURL)
	}
	if c.DatabaseURL == "" {
		return bad("DATABASE_URL", "is required (e.g. postgres://postgres@127.0.0.1:5432/streamflix?sslmode=disable)")
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return bad("DATABASE_URL", "is not a postgres:// URL")
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return bad("REDIS_URL", "is not a redis:// or rediss:// URL")
		}
	}
	if c.DBMaxOpenConns < 1 {
		return bad("DB_MAX_OPEN_CONNS", "must be at least 1, got %d", c.DBMaxOpenConns)
	}
	if c.DBMaxIdleConns < 0 || c.DBMaxIdleConns > c.DBMaxOpenConns {
		return bad("DB_MAX_IDLE_CONNS", "must be between 0 and DB_MAX_OPEN_CONNS (%d), got %d", c.DBMaxOpenConns, c.DBMaxIdleConns)
	}
	switch c.LogLevel {
	case "trace", "debug", "info", "warn", "error":
	default:
		return bad("LOG_LEVEL", "%q is not one of trace, debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "auto", "json", "pretty":
	default:
		return bad("LOG_FORMAT", "%q is not one of auto, json, pretty", c.LogFormat)
	}
	for _, o := range c.CORSOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			return bad("CORS_ORIGINS", "%q is not an origin like https://app.example.com", o)
		}
	}
	if c.MaxBodyBytes < 1024 {
		return bad("MAX_BODY_BYTES", "must be at least 1024, got %d", c.MaxBodyBytes)
	}
	positive := []struct {
		env string
		d   time.Duration
	}{
		{"REQUEST_TIMEOUT", c.RequestTimeout}, {"SHUTDOWN_GRACE", c.ShutdownGrace},
		{"HEARTBEAT_INTERVAL", c.HeartbeatInterval}, {"INSTANCE_TTL", c.InstanceTTL}, {"SMTP_TIMEOUT", c.SMTPTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			return bad(p.env, "must be a positive duration, got %s", p.d)
		}
	}
	if c.DrainDelay < 0 {
		return bad("DRAIN_DELAY", "must not be negative")
	}
	if c.CatalogCacheTTL < 0 {
		return bad("CATALOG_CACHE_TTL", "must not be negative (0 disables the cache)")
	}
	if c.InstanceTTL < 2*c.HeartbeatInterval {
		return bad("INSTANCE_TTL", "must be at least twice HEARTBEAT_INTERVAL (%s), got %s", c.HeartbeatInterval, c.InstanceTTL)
	}
	if c.AdminToken != "" && len(c.AdminToken) < 32 {
		return bad("ADMIN_TOKEN", "must be at least 32 characters (try: openssl rand -hex 32)")
	}
	switch c.SMTPTLS {
	case "none", "starttls", "tls":
	default:
		return bad("SMTP_TLS", "%q is not one of none, starttls, tls", c.SMTPTLS)
	}
	if c.SMTPPort < 1 || c.SMTPPort > 65535 {
		return bad("SMTP_PORT", "must be a port number, got %d", c.SMTPPort)
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		return bad("MAIL_FROM", "%q is not an address like streamflix <no-reply@example.com>", c.MailFrom)
	}
	if c.MediaDir == "" {
		return bad("MEDIA_DIR", "must name a directory")
	}
	c.MediaURL = strings.TrimRight(c.MediaURL, "/")
	if u, err := url.Parse(c.MediaURL); err != nil || u.RawQuery != "" || u.Fragment != "" ||
		!(u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/") || (u.Scheme == "http" || u.Scheme == "https") && u.Host != "") {
		return bad("MEDIA_URL", "%q is not a path like /media or an http(s) URL like https://cdn.example.com/media", c.MediaURL)
	}
	switch c.Storage {
	case "local":
	case "s3":
		if u, err := url.Parse(c.S3Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("S3_ENDPOINT", "%q is not an http(s) URL (required with STORAGE=s3)", c.S3Endpoint)
		}
		if c.S3Bucket == "" {
			return bad("S3_BUCKET", "is required with STORAGE=s3")
		}
	default:
		return bad("STORAGE", "%q is not one of local, s3", c.Storage)
	}
	if c.UploadDir == "" {
		return bad("UPLOAD_DIR", "must name a directory")
	}
	if c.VideoMaxBytes < 1<<20 {
		return bad("VIDEO_MAX_BYTES", "must be at least 1048576 (1 MiB), got %d", c.VideoMaxBytes)
	}
	if c.VideoMaxDuration <= 0 {
		return bad("VIDEO_MAX_DURATION", "must be a positive duration, got %s", c.VideoMaxDuration)
	}
	switch c.TranscodePreset {
	case "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow":
	default:
		return bad("TRANSCODE_PRESET", "%q is not an x264 preset (ultrafast, superfast, veryfast, faster, fast, medium, slow, slower, veryslow)", c.TranscodePreset)
	}
	if c.TranscodeWorkers < 1 || c.TranscodeWorkers > 64 {
		return bad("TRANSCODE_WORKERS", "must be between 1 and 64, got %d", c.TranscodeWorkers)
	}
	if c.TranscodeStale < time.Second {
		return bad("TRANSCODE_STALE_AFTER", "must be at least 1s, got %s", c.TranscodeStale)
	}
	if c.JobConcurrency < 1 || c.JobConcurrency > 1000 {
		return bad("JOB_CONCURRENCY", "must be between 1 and 1000, got %d", c.JobConcurrency)
	}
	if c.JobRescueAfter < 0 {
		return bad("JOB_RESCUE_AFTER", "must not be negative (0 derives it from the jobs' time limits)")
	}
	if c.NotifyWorkers < 1 || c.NotifyWorkers > 1000 {
		return bad("NOTIFY_WORKERS", "must be between 1 and 1000, got %d", c.NotifyWorkers)
	}
	if c.RecoTrainInterval < time.Minute {
		return bad("RECO_TRAIN_INTERVAL", "must be at least 1m, got %s", c.RecoTrainInterval)
	}
	if c.RecoEASEMaxItems < 1 {
		return bad("RECO_EASE_MAX_ITEMS", "must be a positive number of items, got %d", c.RecoEASEMaxItems)
	}
	return nil
}

// Usage prints every setting with its environment variable, flag and default.
func Usage(w io.Writer, name string) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\nEvery setting is an environment variable and a flag of the same name; flags win.\n\n", name)
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tFLAG\tDEFAULT\tMEANING")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(tw, "%s\t--%s\t%s\t%s\n", s.env, s.flagName(), def, s.usage)
	}
	tw.Flush()
}

// Redacted returns every setting's value as text with secrets hidden: the
// password of a URL becomes "xxxxx", and other secrets become "REDACTED".
func (c *Config) Redacted() map[string]string {
	out := make(map[string]string, len(settings))
	for _, s := range settings {
		v := format(s.ptr(c))
		if s.secret && v != "" {
			if strings.HasSuffix(s.env, "_URL") {
				v = redact(v)
			} else {
				v = "REDACTED"
			}
		}
		out[s.env] = v
	}
	return out
}

// String prints the config one setting a line, sorted, with secrets redacted.
func (c *Config) String() string {
	m := c.Redacted()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

func format(p any) string {
	switch v := p.(type) {
	case *string:
		return *v
	case *int:
		return strconv.Itoa(*v)
	case *int64:
		return strconv.FormatInt(*v, 10)
	case *time.Duration:
		return v.String()
	case *bool:
		return strconv.FormatBool(*v)
	case *[]netip.Prefix:
		parts := make([]string, len(*v))
		for i, p := range *v {
			parts[i] = p.String()
		}
		return strings.Join(parts, ",")
	case *[]string:
		return strings.Join(*v, ",")
	case *Rate:
		return v.String()
	}
	return fmt.Sprint(p)
}

// RedactURL hides the password in a URL (and any "password" query
// parameter); text that is not a URL is hidden whole.
func RedactURL(s string) string { return redact(s) }

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return "REDACTED"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// FromEnv is Load over the process environment.
func FromEnv(name string, args []string, out io.Writer) (*Config, []string, error) {
	return Load(name, args, os.Getenv, out)
}
