// Package pgtest gives each test an isolated database on a real PostgreSQL
// server: a database cloned from a migrated template for tests that commit
// (NewDB, NewDBURL), or a transaction that rolls back by itself for store
// tests (NewTx).
//
// The server is TEST_DATABASE_URL when set (scripts/services.sh env prints
// one); otherwise the package starts a private cluster once per test process
// and stops it when the process exits. It never skips a test: without a
// server and without Postgres binaries it fails, naming the package to
// install.
//
// The template, streamflix_tpl_<first 12 hex digits of migrate.Fingerprint>,
// is built once per schema and shared by every test process using the same
// server; it is rebuilt only when a migration file changes.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/streamflix/streamflix/internal/platform/migrate"
)

// EnvURL names the environment variable holding the admin URL of an existing
// test server, such as postgres://postgres@127.0.0.1:54329/postgres?sslmode=disable.
// The user must be able to create databases.
const EnvURL = "TEST_DATABASE_URL"

const (
	templatePrefix = "streamflix_tpl_"
	clonePrefix    = "streamflix_t_"  // NewDB's databases
	sharedPrefix   = "streamflix_tx_" // NewTx's database, one per test process

	// buildLockKey is the advisory lock, taken in the admin database, that
	// serialises template builds across test processes.
	buildLockKey int64 = 0x7374666c78747031

	cloneMaxOpenConns  = 10
	sharedMaxOpenConns = 20

	// cloneOrphanAge is how old a NewDB database without connections must be
	// before a later test process drops it, on the theory that its own
	// process was killed before its cleanup ran.
	cloneOrphanAge = 15 * time.Minute
	// sharedOrphanAge is the same for NewTx's databases, whose process keeps
	// a connection open to them for as long as it lives.
	sharedOrphanAge = time.Minute

	setupTimeout = 5 * time.Minute
)

// Stand-ins for the migrate package, so that this package's own tests could
// swap them.
var (
	migrateUp   = migrate.Up
	fingerprint = migrate.Fingerprint
)

// URL returns the admin URL of the test server: TEST_DATABASE_URL if set,
// otherwise the URL of a private cluster started once per test process (in a
// temporary directory, on a free port, with fsync off) that is stopped when
// the process exits. It fails the test if the cluster cannot start, and names
// `apt-get install -y postgresql` when the server binaries are missing.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	u, err := privateURL()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// NewDB returns a pool (at most 10 connections) on a fresh database cloned
// from the migrated template. The database is dropped, with any connections
// still open to it, when the test and its subtests finish.
func NewDB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, _ := NewDBURL(t)
	return db
}

// NewDBURL is NewDB, and also returns the URL of the fresh database, for
// tests that hand it to another process or to the whole application.
func NewDBURL(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	s := serverFor(t)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	name, err := s.clone(ctx, clonePrefix)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	dbURL := withDatabase(s.u, name)
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", name, err)
	}
	db.SetMaxOpenConns(cloneMaxOpenConns)
	t.Cleanup(func() {
		db.Close()
		if err := s.drop(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("pgtest: connect to %s: %v", name, err)
	}
	return db, dbURL
}

// NewTx returns a transaction on a migrated database shared by the tests of
// this process; it is rolled back when the test finishes, so nothing it does
// is ever seen by another test. The test must not commit it (use NewDB for
// code that commits). Parallel tests that insert the same unique value wait
// for each other's rollback, so use distinct values; after a failed
// statement the transaction is aborted unless the test used a savepoint.
func NewTx(t testing.TB) *sqlx.Tx {
	t.Helper()
	s := serverFor(t)
	db, err := s.sharedDB()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// Not bound to a test's context: database/sql rolls back a transaction
	// when its context ends, and this one must last until cleanup.
	tx, err := db.BeginTxx(context.Background(), nil)
	if err != nil {
		t.Fatalf("pgtest: begin: %v", err)
	}
	t.Cleanup(func() {
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			t.Errorf("pgtest: rollback: %v", err)
		}
	})
	return tx
}

// server is one Postgres server reached through an admin URL.
type server struct {
	u     *url.URL
	admin *sqlx.DB

	mu       sync.Mutex
	template string // name of the built template, once built
	tplErr   error  // sticky: a failed migration fails every later test alike
	swept    bool

	sharedOnce sync.Once
	shared     *sqlx.DB
	sharedErr  error
	lease      *sql.Conn // keeps the shared database visibly in use
}

var (
	serversMu sync.Mutex
	servers   = map[string]*server{}
)

func serverFor(t testing.TB) *server {
	t.Helper()
	raw := URL(t)
	serversMu.Lock()
	defer serversMu.Unlock()
	if s, ok := servers[raw]; ok {
		return s
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("pgtest: %s must be a postgres:// URL, got %q", EnvURL, raw)
	}
	admin, err := sqlx.Open("postgres", raw)
	if err != nil {
		t.Fatalf("pgtest: open %s: %v", u.Redacted(), err)
	}
	admin.SetMaxOpenConns(4)
	s := &server{u: u, admin: admin}
	servers[raw] = s
	return s
}

// clone creates a database from the template, named prefix followed by hex
// digits, and returns its name. If the template vanished (a test process of
// a checkout with other migrations replaced it), it rebuilds it once.
func (s *server) clone(ctx context.Context, prefix string) (string, error) {
	for attempt := 0; ; attempt++ {
		tpl, err := s.ensureTemplate(ctx)
		if err != nil {
			return "", err
		}
		name := newName(prefix)
		_, err = s.admin.ExecContext(ctx, `CREATE DATABASE `+pq.QuoteIdentifier(name)+` TEMPLATE `+pq.QuoteIdentifier(tpl))
		if err == nil {
			return name, nil
		}
		var pqErr *pq.Error
		if attempt == 0 && errors.As(err, &pqErr) && pqErr.Code == "3D000" { // invalid_catalog_name
			s.forgetTemplate(tpl)
			continue
		}
		return "", fmt.Errorf("create database from template %s on %s: %w", tpl, s.u.Redacted(), err)
	}
}

func (s *server) drop(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+pq.QuoteIdentifier(name)+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

func (s *server) forgetTemplate(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.template == name {
		s.template = ""
	}
}

// ensureTemplate returns the name of the migrated template, building it if
// no test process has yet.
func (s *server) ensureTemplate(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.template != "" || s.tplErr != nil {
		return s.template, s.tplErr
	}
	s.template, s.tplErr = s.buildTemplate(ctx)
	if s.tplErr == nil && !s.swept {
		s.swept = true
		s.dropOrphans(ctx)
	}
	return s.template, s.tplErr
}

func (s *server) buildTemplate(ctx context.Context) (string, error) {
	fp := strings.ToLower(fingerprint())
	if len(fp) < 12 {
		return "", fmt.Errorf("migration fingerprint %q is shorter than 12 hex digits", fp)
	}
	name := templatePrefix + fp[:12]
	if ok, err := s.exists(ctx, name); err != nil || ok {
		return name, err
	}

	// A session-level advisory lock lives as long as its connection, so take
	// it on a connection of its own that closing lockDB ends, whatever happens.
	lockDB, err := sql.Open("postgres", s.u.String())
	if err != nil {
		return "", err
	}
	defer lockDB.Close()
	conn, err := lockDB.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", s.u.Redacted(), err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, buildLockKey); err != nil {
		return "", fmt.Errorf("wait for template build lock: %w", err)
	}
	if ok, err := s.exists(ctx, name); err != nil || ok {
		return name, err
	}

	// Build under another name and rename when done, so that no process
	// ever clones a half-migrated template.
	building := name + "_building"
	q := pq.QuoteIdentifier(building)
	if _, err := conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+q+` WITH (FORCE)`); err != nil {
		return "", fmt.Errorf("drop stale %s: %w", building, err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+q); err != nil {
		return "", fmt.Errorf("create %s: %w", building, err)
	}
	db, err := sqlx.Open("postgres", withDatabase(s.u, building))
	if err != nil {
		return "", err
	}
	err = migrateUp(ctx, db)
	// Cloning and renaming need the template free of connections.
	db.Close()
	if err != nil {
		_, _ = conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+q+` WITH (FORCE)`)
		return "", fmt.Errorf("migrate template %s: %w", building, err)
	}
	if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+q+` RENAME TO `+pq.QuoteIdentifier(name)); err != nil {
		return "", fmt.Errorf("rename %s to %s: %w", building, name, err)
	}

	// Templates of other schemas are now likely stale. Dropping one that a
	// process of another checkout still uses costs that process one rebuild
	// (see clone). Without FORCE, a drop never cuts off a connection.
	var old []string
	err = sqlx.SelectContext(ctx, s.admin, &old, `
		SELECT datname FROM pg_database
		WHERE datname LIKE $1 AND datname <> $2 AND datname NOT LIKE '%\_building'`,
		strings.ReplaceAll(templatePrefix, "_", `\_`)+"%", name)
	if err == nil {
		for _, o := range old {
			_, _ = conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+pq.QuoteIdentifier(o))
		}
	}
	return name, nil
}

// dropOrphans drops the databases of test processes that ended without
// cleaning up (killed, or NewTx's database, which outlives every test):
// those without connections that are old enough. Errors are ignored; the
// next process tries again.
func (s *server) dropOrphans(ctx context.Context) {
	for prefix, age := range map[string]time.Duration{clonePrefix: cloneOrphanAge, sharedPrefix: sharedOrphanAge} {
		var names []string
		err := sqlx.SelectContext(ctx, s.admin, &names, `
			SELECT d.datname FROM pg_database d
			WHERE d.datname LIKE $1
			  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datid = d.oid)`,
			strings.ReplaceAll(prefix, "_", `\_`)+"%")
		if err != nil {
			return
		}
		for _, n := range names {
			created, ok := nameTime(n, prefix)
			if !ok || time.Since(created) < age {
				continue
			}
			// Without FORCE: never cut off a process that just connected.
			_, _ = s.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+pq.QuoteIdentifier(n))
		}
	}
}

func (s *server) exists(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := s.admin.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name)
	if err != nil {
		return false, fmt.Errorf("connect to %s: %w", s.u.Redacted(), err)
	}
	return ok, nil
}

// sharedDB returns the pool on this process's shared database for NewTx.
// There is no hook to drop it when the process ends, so a later process drops
// it as an orphan; until then this process holds a connection to it (the
// lease) to show it is in use.
func (s *server) sharedDB() (*sqlx.DB, error) {
	s.sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		name, err := s.clone(ctx, sharedPrefix)
		if err != nil {
			s.sharedErr = err
			return
		}
		db, err := sqlx.Open("postgres", withDatabase(s.u, name))
		if err != nil {
			s.sharedErr = err
			return
		}
		db.SetMaxOpenConns(sharedMaxOpenConns + 1) // one more for the lease
		lease, err := db.Conn(ctx)
		if err != nil {
			db.Close()
			s.sharedErr = fmt.Errorf("connect to %s: %w", name, err)
			return
		}
		s.shared, s.lease = db, lease
	})
	return s.shared, s.sharedErr
}

// newName returns prefix followed by 8 hex digits of the Unix time, which
// dropOrphans reads, and 8 random hex digits.
func newName(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s%08x%s", prefix, uint32(time.Now().Unix()), hex.EncodeToString(b[:]))
}

// nameTime returns the creation time written in a name from newName.
func nameTime(name, prefix string) (time.Time, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || len(rest) != 16 {
		return time.Time{}, false
	}
	sec, err := strconv.ParseUint(rest[:8], 16, 32)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(sec), 0), true
}

// withDatabase returns u with its database replaced by name.
func withDatabase(u *url.URL, name string) string {
	c := *u
	c.Path = "/" + name
	c.RawPath = ""
	return c.String()
}
