// Package migrate applies the embedded migrations of every module, each in
// its own Postgres schema with its own schema_migrations table, and River's
// own migrations in the "river" schema.
package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database/postgres"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/streamflix/streamflix/migrations"
)

// RiverSchema is the schema holding River's tables (the message queue).
const RiverSchema = "river"

var moduleName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Modules returns the names of the modules that have migrations, sorted.
// Each name is also the module's Postgres schema.
func Modules() []string {
	entries, err := fs.ReadDir(migrations.FS, ".")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && moduleName.MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Fingerprint is a hash of every embedded migration file and River's
// migration versions; it changes whenever the schema would.
func Fingerprint() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	fmt.Fprintf(h, "river:%d", riverLatest())
	return hex.EncodeToString(h.Sum(nil))
}

func riverLatest() int {
	m, err := rivermigrate.New(riverdatabasesql.New(nil), &rivermigrate.Config{Schema: RiverSchema})
	if err != nil {
		return 0
	}
	all := m.AllVersions()
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Version
}

// Up applies every pending migration: River's first, then each module's.
func Up(ctx context.Context, db *sqlx.DB) error {
	if err := riverMigrate(ctx, db, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	for _, mod := range Modules() {
		if err := withModule(ctx, db, mod, func(m *migrate.Migrate) error {
			if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
				return err
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// Down rolls back steps migrations of one module. The module "river" rolls
// back River's migrations (steps -1 means all of them). steps must be >= 1
// for modules; -1 rolls the module back entirely.
func Down(ctx context.Context, db *sqlx.DB, module string, steps int) error {
	if module == RiverSchema {
		opts := &rivermigrate.MigrateOpts{MaxSteps: steps}
		if steps < 0 {
			opts = &rivermigrate.MigrateOpts{TargetVersion: -1}
		}
		return riverMigrate(ctx, db, rivermigrate.DirectionDown, opts)
	}
	if !slices.Contains(Modules(), module) {
		return fmt.Errorf("unknown module %q (have %s, %s)", module, strings.Join(Modules(), ", "), RiverSchema)
	}
	return withModule(ctx, db, module, func(m *migrate.Migrate) error {
		var err error
		if steps < 0 {
			err = m.Down()
		} else {
			err = m.Steps(-steps)
		}
		if err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return err
		}
		return nil
	})
}

// DownAll rolls back every module, then River: an empty database.
func DownAll(ctx context.Context, db *sqlx.DB) error {
	mods := Modules()
	for i := len(mods) - 1; i >= 0; i-- {
		if err := Down(ctx, db, mods[i], -1); err != nil {
			return err
		}
	}
	return Down(ctx, db, RiverSchema, -1)
}

// Status is where one module's migrations stand.
type Status struct {
	Module  string `json:"module"`
	Current int    `json:"current"`
	Latest  int    `json:"latest"`
	Dirty   bool   `json:"dirty"`
}

// Pending reports whether migrations remain to apply or the last one failed.
func (s Status) Pending() bool { return s.Dirty || s.Current != s.Latest }

// Statuses reads the applied version of River and every module without
// changing anything.
func Statuses(ctx context.Context, db *sqlx.DB) ([]Status, error) {
	var out []Status
	rm, err := rivermigrate.New(riverdatabasesql.New(db.DB), &rivermigrate.Config{Schema: RiverSchema})
	if err != nil {
		return nil, err
	}
	rs := Status{Module: RiverSchema, Latest: riverLatest()}
	var exists bool
	if err := db.GetContext(ctx, &exists, `SELECT to_regclass($1) IS NOT NULL`, RiverSchema+".river_migration"); err != nil {
		return nil, fmt.Errorf("read river migrations: %w", err)
	}
	if exists {
		versions, err := rm.ExistingVersions(ctx)
		if err != nil {
			return nil, fmt.Errorf("read river migrations: %w", err)
		}
		if n := len(versions); n > 0 {
			rs.Current = versions[n-1].Version
		}
	}
	out = append(out, rs)
	for _, mod := range Modules() {
		s := Status{Module: mod, Latest: latest(mod)}
		var table bool
		if err := db.GetContext(ctx, &table, `SELECT to_regclass($1) IS NOT NULL`, mod+".schema_migrations"); err != nil {
			return nil, fmt.Errorf("read %s migrations: %w", mod, err)
		}
		if table {
			var v int64
			var dirty bool
			err := db.QueryRowxContext(ctx, `SELECT version, dirty FROM `+mod+`.schema_migrations LIMIT 1`).Scan(&v, &dirty)
			if err == nil {
				s.Current, s.Dirty = int(v), dirty
			} else if !isNoRows(err) {
				return nil, fmt.Errorf("read %s migrations: %w", mod, err)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// Current reports whether every migration is applied; it returns an error
// naming the first module that is behind or dirty.
func Current(ctx context.Context, db *sqlx.DB) error {
	st, err := Statuses(ctx, db)
	if err != nil {
		return err
	}
	for _, s := range st {
		if s.Pending() {
			return fmt.Errorf("module %s at migration %d of %d (dirty=%t): run streamflix migrate up", s.Module, s.Current, s.Latest, s.Dirty)
		}
	}
	return nil
}

func latest(mod string) int {
	entries, _ := fs.ReadDir(migrations.FS, mod)
	max := 0
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(num); err == nil && n > max {
			max = n
		}
	}
	return max
}

func withModule(ctx context.Context, db *sqlx.DB, mod string, fn func(*migrate.Migrate) error) error {
	if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+mod); err != nil {
		return fmt.Errorf("create schema %s: %w", mod, err)
	}
	src, err := iofs.New(migrations.FS, mod)
	if err != nil {
		return fmt.Errorf("read %s migrations: %w", mod, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", mod, err)
	}
	drv, err := postgres.WithConnection(ctx, conn, &postgres.Config{SchemaName: mod, MigrationsTable: "schema_migrations"})
	if err != nil {
		conn.Close()
		return fmt.Errorf("migrate %s: %w", mod, err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "postgres", drv)
	if err != nil {
		drv.Close()
		return fmt.Errorf("migrate %s: %w", mod, err)
	}
	defer m.Close()
	if err := fn(m); err != nil {
		return fmt.Errorf("migrate %s: %w", mod, err)
	}
	return nil
}

func riverMigrate(ctx context.Context, db *sqlx.DB, dir rivermigrate.Direction, opts *rivermigrate.MigrateOpts) error {
	if dir == rivermigrate.DirectionUp {
		if _, err := db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+RiverSchema); err != nil {
			return fmt.Errorf("create schema %s: %w", RiverSchema, err)
		}
	}
	m, err := rivermigrate.New(riverdatabasesql.New(db.DB), &rivermigrate.Config{Schema: RiverSchema})
	if err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	// River's migrations run one at a time in one transaction each, under its
	// own lock, so two instances migrating at once is safe.
	if _, err := m.Migrate(ctx, dir, opts); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

func isNoRows(err error) bool { return errors.Is(err, sqlErrNoRows) }

var sqlErrNoRows = sql.ErrNoRows
