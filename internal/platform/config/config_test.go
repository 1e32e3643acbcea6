package config_test

import (
	"bytes"
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/streamflix/streamflix/internal/platform/config"
)

const dbURL = "postgres://streamflix@127.0.0.1:5432/streamflix?sslmode=disable"

// load runs config.Load over env (plus DATABASE_URL unless env sets it) and args.
func load(env map[string]string, args ...string) (*config.Config, []string, error) {
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	return config.Load("streamflix", args, getenv, io.Discard)
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, rest, err := load(nil)
	if err != nil {
		t.Fatalf("Load with only DATABASE_URL: %v", err)
	}
	if len(rest) != 0 {
		t.Errorf("rest = %v, want none", rest)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"HTTPAddr", c.HTTPAddr, ":8080"},
		{"PublicURL", c.PublicURL, "http://localhost:8080"},
		{"DatabaseURL", c.DatabaseURL, dbURL},
		{"DBMaxOpenConns", c.DBMaxOpenConns, 25},
		{"DBMaxIdleConns", c.DBMaxIdleConns, 10},
		{"DBConnMaxLifetime", c.DBConnMaxLifetime, 30 * time.Minute},
		{"RedisURL", c.RedisURL, ""},
		{"RedisPrefix", c.RedisPrefix, "streamflix:"},
		{"LogLevel", c.LogLevel, "info"},
		{"LogFormat", c.LogFormat, "auto"},
		{"TrustedProxies", len(c.TrustedProxies), 0},
		{"CORSOrigins", len(c.CORSOrigins), 0},
		{"MaxBodyBytes", c.MaxBodyBytes, int64(1 << 20)},
		{"RequestTimeout", c.RequestTimeout, 30 * time.Second},
		{"RateLimitIP", c.RateLimitIP, config.Rate{N: 50, Period: time.Second, Burst: 100}},
		{"RateLimitUser", c.RateLimitUser, config.Rate{N: 20, Period: time.Second, Burst: 60}},
		{"ShutdownGrace", c.ShutdownGrace, 25 * time.Second},
		{"DrainDelay", c.DrainDelay, 5 * time.Second},
		{"HeartbeatInterval", c.HeartbeatInterval, 10 * time.Second},
		{"InstanceTTL", c.InstanceTTL, 30 * time.Second},
		{"Workers", c.Workers, true},
		{"JobConcurrency", c.JobConcurrency, 10},
		{"NotifyWorkers", c.NotifyWorkers, 50},
		{"AdminToken", c.AdminToken, ""},
		{"MediaDir", c.MediaDir, ".data/media"},
		{"MediaURL", c.MediaURL, "/media"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantAddr string
		wantRest []string
	}{
		{"Env", map[string]string{"HTTP_ADDR": ":7000"}, nil, ":7000", nil},
		{"FlagBeatsEnv", map[string]string{"HTTP_ADDR": ":7000"}, []string{"--http-addr=:9000"}, ":9000", nil},
		{"FlagSeparateValue", map[string]string{"HTTP_ADDR": ":7000"}, []string{"--http-addr", ":9001", "serve", "now"}, ":9001", []string{"serve", "now"}},
		{"FlagOverDefault", nil, []string{"-http-addr=127.0.0.1:1"}, "127.0.0.1:1", nil},
		{"EmptyEnvIsUnset", map[string]string{"HTTP_ADDR": ""}, nil, ":8080", nil},
		{"Trimmed", map[string]string{"HTTP_ADDR": "  :7001 "}, nil, ":7001", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, rest, err := load(tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if c.HTTPAddr != tt.wantAddr {
				t.Errorf("HTTPAddr = %q, want %q", c.HTTPAddr, tt.wantAddr)
			}
			if strings.Join(rest, " ") != strings.Join(tt.wantRest, " ") {
				t.Errorf("rest = %v, want %v", rest, tt.wantRest)
			}
		})
	}

	t.Run("Parsed", func(t *testing.T) {
		t.Parallel()
		c, _, err := load(map[string]string{
			"TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7,::1",
			"CORS_ORIGINS":    "https://app.example.com, http://localhost:3000",
			"RATE_LIMIT_IP":   "600/1m",
			"WORKERS":         "false",
		}, "--job-concurrency", "3")
		if err != nil {
			t.Fatal(err)
		}
		want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("::1/128")}
		if len(c.TrustedProxies) != len(want) {
			t.Fatalf("TrustedProxies = %v, want %v", c.TrustedProxies, want)
		}
		for i := range want {
			if c.TrustedProxies[i] != want[i] {
				t.Errorf("TrustedProxies[%d] = %v, want %v", i, c.TrustedProxies[i], want[i])
			}
		}
		if strings.Join(c.CORSOrigins, "|") != "https://app.example.com|http://localhost:3000" {
			t.Errorf("CORSOrigins = %q", c.CORSOrigins)
		}
		if c.RateLimitIP != (config.Rate{N: 600, Period: time.Minute, Burst: 600}) {
			t.Errorf("RateLimitIP = %+v", c.RateLimitIP)
		}
		if c2, _, err := load(map[string]string{"MEDIA_URL": "https://cdn.example.com/media/"}); err != nil || c2.MediaURL != "https://cdn.example.com/media" {
			t.Errorf("MEDIA_URL with a trailing slash: %v", err)
		}
		if c.Workers || c.JobConcurrency != 3 {
			t.Errorf("Workers, JobConcurrency = %v, %d; want false, 3", c.Workers, c.JobConcurrency)
		}
	})

	t.Run("Help", func(t *testing.T) {
		t.Parallel()
		var out bytes.Buffer
		_, _, err := config.Load("streamflix", []string{"-h"}, func(string) string { return "" }, &out)
		if !errors.Is(err, flag.ErrHelp) {
			t.Errorf("err = %v, want flag.ErrHelp", err)
		}
		if !strings.Contains(out.String(), "DATABASE_URL") {
			t.Errorf("help printed %q, want the settings", out.String())
		}
	})
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantEnv string
	}{
		{"HTTPAddr", map[string]string{"HTTP_ADDR": "nope"}, nil, "HTTP_ADDR"},
		{"HTTPAddrFlag", nil, []string{"--http-addr=nope"}, "HTTP_ADDR"},
		{"PublicURL", map[string]string{"PUBLIC_URL": "ftp://x"}, nil, "PUBLIC_URL"},
		{"DatabaseURLMissing", map[string]string{"DATABASE_URL": ""}, nil, "DATABASE_URL"},
		{"DatabaseURLMySQL", map[string]string{"DATABASE_URL": "mysql://root@localhost/streamflix"}, nil, "DATABASE_URL"},
		{"RedisURLHTTP", map[string]string{"REDIS_URL": "http://x"}, nil, "REDIS_URL"},
		{"DBMaxOpenConns", map[string]string{"DB_MAX_OPEN_CONNS": "0"}, nil, "DB_MAX_OPEN_CONNS"},
		{"DBMaxOpenConnsNotNumber", map[string]string{"DB_MAX_OPEN_CONNS": "lots"}, nil, "DB_MAX_OPEN_CONNS"},
		{"DBMaxIdleConns", map[string]string{"DB_MAX_IDLE_CONNS": "26"}, nil, "DB_MAX_IDLE_CONNS"},
		{"LogLevel", map[string]string{"LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
		{"LogFormat", map[string]string{"LOG_FORMAT": "xml"}, nil, "LOG_FORMAT"},
		{"TrustedProxiesBadMask", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, nil, "TRUSTED_PROXIES"},
		{"TrustedProxiesGarbage", map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, nil, "TRUSTED_PROXIES"},
		{"CORSOriginsNotURL", map[string]string{"CORS_ORIGINS": "not a url"}, nil, "CORS_ORIGINS"},
		{"CORSOriginsWithPath", map[string]string{"CORS_ORIGINS": "https://app.example.com/path"}, nil, "CORS_ORIGINS"},
		{"MaxBodyBytes", map[string]string{"MAX_BODY_BYTES": "10"}, nil, "MAX_BODY_BYTES"},
		{"RateLimitIP", map[string]string{"RATE_LIMIT_IP": "fast"}, nil, "RATE_LIMIT_IP"},
		{"RateLimitUser", map[string]string{"RATE_LIMIT_USER": "5/s:0"}, nil, "RATE_LIMIT_USER"},
		{"JobConcurrencyZero", map[string]string{"JOB_CONCURRENCY": "0"}, nil, "JOB_CONCURRENCY"},
		{"JobConcurrencyHuge", map[string]string{"JOB_CONCURRENCY": "1001"}, nil, "JOB_CONCURRENCY"},
		{"NotifyWorkersZero", map[string]string{"NOTIFY_WORKERS": "0"}, nil, "NOTIFY_WORKERS"},
		{"JobRescueAfterNegative", map[string]string{"JOB_RESCUE_AFTER": "-1s"}, nil, "JOB_RESCUE_AFTER"},
		{"SMTPTimeoutZero", map[string]string{"SMTP_TIMEOUT": "0s"}, nil, "SMTP_TIMEOUT"},
		{"InstanceTTLShort", map[string]string{"HEARTBEAT_INTERVAL": "10s", "INSTANCE_TTL": "19s"}, nil, "INSTANCE_TTL"},
		{"HeartbeatZero", map[string]string{"HEARTBEAT_INTERVAL": "0s"}, nil, "HEARTBEAT_INTERVAL"},
		{"AdminTokenShort", map[string]string{"ADMIN_TOKEN": "short-token"}, nil, "ADMIN_TOKEN"},
		{"RequestTimeoutNegative", map[string]string{"REQUEST_TIMEOUT": "-1s"}, nil, "REQUEST_TIMEOUT"},
		{"RequestTimeoutNotDuration", map[string]string{"REQUEST_TIMEOUT": "30"}, nil, "REQUEST_TIMEOUT"},
		{"ShutdownGraceZero", map[string]string{"SHUTDOWN_GRACE": "0s"}, nil, "SHUTDOWN_GRACE"},
		{"DrainDelayNegative", map[string]string{"DRAIN_DELAY": "-1s"}, nil, "DRAIN_DELAY"},
		{"Workers", map[string]string{"WORKERS": "sometimes"}, nil, "WORKERS"},
		{"MediaDirEmpty", nil, []string{"--media-dir="}, "MEDIA_DIR"},
		{"MediaURLRelative", map[string]string{"MEDIA_URL": "media"}, nil, "MEDIA_URL"},
		{"MediaURLFTP", map[string]string{"MEDIA_URL": "ftp://cdn.example.com/media"}, nil, "MEDIA_URL"},
		{"MediaURLSchemeRelative", map[string]string{"MEDIA_URL": "//cdn.example.com/media"}, nil, "MEDIA_URL"},
		{"MediaURLQuery", map[string]string{"MEDIA_URL": "/media?v=1"}, nil, "MEDIA_URL"},
		{"MediaURLRoot", map[string]string{"MEDIA_URL": "/"}, nil, "MEDIA_URL"},
		{"Storage", map[string]string{"STORAGE": "nfs"}, nil, "STORAGE"},
		{"S3EndpointMissing", map[string]string{"STORAGE": "s3", "S3_BUCKET": "media"}, nil, "S3_ENDPOINT"},
		{"S3BucketMissing", map[string]string{"STORAGE": "s3", "S3_ENDPOINT": "http://127.0.0.1:7070"}, nil, "S3_BUCKET"},
		{"VideoMaxBytesTiny", map[string]string{"VIDEO_MAX_BYTES": "100"}, nil, "VIDEO_MAX_BYTES"},
		{"VideoMaxDurationZero", map[string]string{"VIDEO_MAX_DURATION": "0s"}, nil, "VIDEO_MAX_DURATION"},
		{"TranscodePreset", map[string]string{"TRANSCODE_PRESET": "turbo"}, nil, "TRANSCODE_PRESET"},
		{"TranscodeWorkersZero", map[string]string{"TRANSCODE_WORKERS": "0"}, nil, "TRANSCODE_WORKERS"},
		{"UnknownFlag", nil, []string{"--no-such-flag"}, "flags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := load(tt.env, tt.args...)
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load() = %v, %v; want a *config.Error", c, err)
			}
			if ce.Env != tt.wantEnv {
				t.Errorf("Env = %q, want %q (error %q)", ce.Env, tt.wantEnv, ce)
			}
			if !strings.HasPrefix(err.Error(), tt.wantEnv+": ") || ce.Msg == "" {
				t.Errorf("message %q does not name %s", err, tt.wantEnv)
			}
			if c != nil {
				t.Errorf("Load returned a config with an error")
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	const (
		dbPass    = "pgS3cretPW"
		redisPass = "r3disS3cret"
		token     = "admintoken-0123456789abcdef0123456789abcdef"
		s3Secret  = "s3SecretKeyValue"
	)
	c, _, err := load(map[string]string{
		"DATABASE_URL": "postgres://appuser:" + dbPass + "@db.internal:5432/streamflix?sslmode=disable",
		"REDIS_URL":    "redis://cacheuser:" + redisPass + "@redis.internal:6379/0",
		"ADMIN_TOKEN":  token,
		"STORAGE":      "s3", "S3_ENDPOINT": "http://127.0.0.1:7070", "S3_BUCKET": "media",
		"S3_ACCESS_KEY": "AKIAEXAMPLEKEY", "S3_SECRET_KEY": s3Secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	red := c.Redacted()
	str := c.String()
	for _, secret := range []string{dbPass, redisPass, token, s3Secret, "AKIAEXAMPLEKEY"} {
		if strings.Contains(str, secret) {
			t.Errorf("String() contains secret %q:\n%s", secret, str)
		}
		for k, v := range red {
			if strings.Contains(v, secret) {
				t.Errorf("Redacted()[%s] = %q contains a secret", k, v)
			}
		}
	}
	for _, keep := range []string{"appuser", "db.internal:5432", "cacheuser", "redis.internal:6379", "sslmode=disable"} {
		if !strings.Contains(str, keep) {
			t.Errorf("String() lost %q:\n%s", keep, str)
		}
	}
	if red["ADMIN_TOKEN"] != "REDACTED" {
		t.Errorf("ADMIN_TOKEN = %q, want REDACTED", red["ADMIN_TOKEN"])
	}
	if red["HTTP_ADDR"] != ":8080" || red["RATE_LIMIT_IP"] != "50/s:100" {
		t.Errorf("non-secrets changed: HTTP_ADDR=%q RATE_LIMIT_IP=%q", red["HTTP_ADDR"], red["RATE_LIMIT_IP"])
	}
	if !strings.Contains(str, "DATABASE_URL=postgres://appuser:xxxxx@db.internal:5432/streamflix") {
		t.Errorf("String() DATABASE_URL line unexpected:\n%s", str)
	}

	t.Run("RedactURL", func(t *testing.T) {
		t.Parallel()
		tests := []struct{ in, secret string }{
			{"redis://:onlypass@h:6379/0", "onlypass"},
			{"postgres://u@h/db?password=qpass&sslmode=disable", "qpass"},
			{"postgres://u:p%40ss@h/db", "p@ss"},
			{"not a url at all: secret", "secret"},
		}
		for _, tt := range tests {
			if got := config.RedactURL(tt.in); strings.Contains(got, tt.secret) || strings.Contains(got, "p%40ss") {
				t.Errorf("RedactURL(%q) = %q, still holds the secret", tt.in, got)
			}
		}
	})
}

// TestUsageListsEverySetting reads the Config struct's field comments
// (each names its variable) and checks Usage prints each with its flag, so
// a field added to Config but not to the settings table fails here.
func TestUsageListsEverySetting(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	envName := regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
	var envs []string
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Config" {
			return true
		}
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			if field.Comment == nil || !envName.MatchString(strings.TrimSpace(field.Comment.Text())) {
				t.Errorf("Config field %s has no comment naming its variable", field.Names[0])
				continue
			}
			envs = append(envs, strings.TrimSpace(field.Comment.Text()))
		}
		return false
	})
	if len(envs) < 20 {
		t.Fatalf("found %d Config fields, want the whole struct", len(envs))
	}
	var out bytes.Buffer
	config.Usage(&out, "streamflix")
	usage := out.String()
	c, _, err := load(nil)
	if err != nil {
		t.Fatal(err)
	}
	red := c.Redacted()
	for _, env := range envs {
		flagName := "--" + strings.ReplaceAll(strings.ToLower(env), "_", "-")
		if !regexp.MustCompile(`(?m)^` + env + `\s+` + flagName + `\s`).MatchString(usage) {
			t.Errorf("Usage lacks a line for %s %s", env, flagName)
		}
		if _, ok := red[env]; !ok {
			t.Errorf("Redacted() lacks %s", env)
		}
		// Every variable can be set by its flag.
		if _, _, err := load(nil, flagName+"=?"); err != nil {
			var ce *config.Error
			if errors.As(err, &ce) && ce.Env == "flags" {
				t.Errorf("flag %s is not defined: %v", flagName, err)
			}
		}
	}
	if len(red) != len(envs) {
		t.Errorf("Redacted() has %d settings, Config has %d fields", len(red), len(envs))
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    config.Rate
		wantErr bool
	}{
		{"0", config.Rate{}, false},
		{"", config.Rate{}, false},
		{"50/s:100", config.Rate{N: 50, Period: time.Second, Burst: 100}, false},
		{"50/s", config.Rate{N: 50, Period: time.Second, Burst: 50}, false},
		{"3/m:3", config.Rate{N: 3, Period: time.Minute, Burst: 3}, false},
		{"1000/h", config.Rate{N: 1000, Period: time.Hour, Burst: 1000}, false},
		{"600/1m", config.Rate{N: 600, Period: time.Minute, Burst: 600}, false},
		{"5/10s:1", config.Rate{N: 5, Period: 10 * time.Second, Burst: 1}, false},
		{" 7/s ", config.Rate{N: 7, Period: time.Second, Burst: 7}, false},
		{"fast", config.Rate{}, true},
		{"50", config.Rate{}, true},
		{"x/s", config.Rate{}, true},
		{"-1/s", config.Rate{}, true},
		{"5/fortnight", config.Rate{}, true},
		{"5/0s", config.Rate{}, true},
		{"5/-1s", config.Rate{}, true},
		{"5/s:0", config.Rate{}, true},
		{"5/s:x", config.Rate{}, true},
		{"5/s:", config.Rate{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := config.ParseRate(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Errorf("ParseRate(%q) = %+v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRate(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			// String round-trips.
			back, err := config.ParseRate(got.String())
			if err != nil || back != got {
				t.Errorf("ParseRate(%q.String() = %q) = %+v, %v", tt.in, got.String(), back, err)
			}
			if got.Enabled() != (tt.want.N > 0) {
				t.Errorf("Enabled() = %v", got.Enabled())
			}
		})
	}
}
