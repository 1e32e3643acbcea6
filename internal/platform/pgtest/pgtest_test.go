package pgtest_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/migrate"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

func TestNewDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Isolated", func(t *testing.T) {
		t.Parallel()
		// Two databases requested at the same time.
		var dbs [2]*sqlx.DB
		var wg sync.WaitGroup
		for i := range dbs {
			wg.Go(func() { dbs[i] = pgtest.NewDB(t) })
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}

		var names [2]string
		for i, db := range dbs {
			if err := migrate.Current(ctx, db); err != nil {
				t.Fatalf("clone %d not migrated: %v", i, err)
			}
			mustExec(t, db, `CREATE TABLE pgtest_probe (id int)`)
			if err := db.GetContext(ctx, &names[i], `SELECT current_database()`); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(names[i], "streamflix_t_") {
				t.Errorf("database name = %q, want prefix streamflix_t_", names[i])
			}
		}
		if names[0] == names[1] {
			t.Fatalf("both NewDB calls returned database %s", names[0])
		}
		mustExec(t, dbs[0], `INSERT INTO pgtest_probe VALUES (1)`)
		if n := count(t, dbs[0], "pgtest_probe"); n != 1 {
			t.Errorf("rows in %s = %d, want 1", names[0], n)
		}
		if n := count(t, dbs[1], "pgtest_probe"); n != 0 {
			t.Errorf("rows in %s = %d, want 0: databases are not isolated", names[1], n)
		}
	})

	t.Run("DroppedAtCleanup", func(t *testing.T) {
		t.Parallel()
		var name string
		t.Run("Use", func(t *testing.T) {
			db, u := pgtest.NewDBURL(t)
			if err := db.GetContext(ctx, &name, `SELECT current_database()`); err != nil {
				t.Fatal(err)
			}
			// The URL reaches the same database, as another process would.
			other, err := sqlx.Open("postgres", u)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			var got string
			if err := other.GetContext(ctx, &got, `SELECT current_database()`); err != nil {
				t.Fatal(err)
			}
			if got != name {
				t.Errorf("URL %s reaches database %s, want %s", u, got, name)
			}
			// Left open on purpose: cleanup drops the database WITH (FORCE).
			if _, err := other.ExecContext(ctx, `SELECT 1`); err != nil {
				t.Fatal(err)
			}
		})
		if exists(t, name) {
			t.Errorf("database %s still exists after cleanup", name)
		}
	})

	t.Run("TemplateNamedByFingerprint", func(t *testing.T) {
		t.Parallel()
		pgtest.NewDB(t)
		tpl := "streamflix_tpl_" + migrate.Fingerprint()[:12]
		if !exists(t, tpl) {
			t.Errorf("template %s does not exist", tpl)
		}
		if exists(t, tpl+"_building") {
			t.Errorf("half-built template %s_building left behind", tpl)
		}
	})
}

func TestNewTx(t *testing.T) {
	t.Parallel()
	var key int64
	if err := binary.Read(rand.Reader, binary.LittleEndian, &key); err != nil {
		t.Fatal(err)
	}
	table := fmt.Sprintf("pgtest_probe_%x", uint64(key))

	t.Run("Write", func(t *testing.T) {
		tx := pgtest.NewTx(t)
		mustExec(t, tx, `CREATE TABLE `+table+` (id int)`)
		mustExec(t, tx, `INSERT INTO `+table+` VALUES (1)`)
		// A transaction-scoped lock shows below whether the transaction ended.
		mustExec(t, tx, `SELECT pg_advisory_xact_lock($1)`, key)
		if n := count(t, tx, table); n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
	})

	tx := pgtest.NewTx(t)
	var ended, gone bool
	if err := tx.Get(&ended, `SELECT pg_try_advisory_xact_lock($1)`, key); err != nil {
		t.Fatal(err)
	}
	if !ended {
		t.Error("the first test's transaction is still open after its cleanup")
	}
	if err := tx.Get(&gone, `SELECT to_regclass($1) IS NULL`, table); err != nil {
		t.Fatal(err)
	}
	if !gone {
		t.Errorf("table %s survived the first test: its transaction was committed", table)
	}
}

// TestURL is not parallel: it sets the environment.
func TestURL(t *testing.T) {
	orig := os.Getenv(pgtest.EnvURL)

	t.Run("Env", func(t *testing.T) {
		const want = "postgres://someone@db.example.invalid:5999/postgres?sslmode=disable"
		t.Setenv(pgtest.EnvURL, want)
		if got := pgtest.URL(t); got != want {
			t.Errorf("URL = %q, want %s %q", got, pgtest.EnvURL, want)
		}
	})

	t.Run("Private", func(t *testing.T) {
		t.Setenv(pgtest.EnvURL, "")
		u := pgtest.URL(t)
		if u == orig {
			t.Fatalf("URL = %s with %s unset", u, pgtest.EnvURL)
		}
		db, err := sqlx.Open("postgres", u)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var fsync string
		if err := db.Get(&fsync, `SHOW fsync`); err != nil {
			t.Fatalf("private cluster at %s: %v", u, err)
		}
		if fsync != "off" {
			t.Errorf("private cluster fsync = %s, want off", fsync)
		}
		if again := pgtest.URL(t); again != u {
			t.Errorf("second URL = %s, want the same cluster %s", again, u)
		}
	})
}

func mustExec(t *testing.T, db sqlx.ExecerContext, query string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func count(t *testing.T, q sqlx.QueryerContext, table string) int {
	t.Helper()
	var n int
	if err := sqlx.GetContext(context.Background(), q, &n, `SELECT count(*) FROM `+table); err != nil {
		t.Fatal(err)
	}
	return n
}

// exists reports whether the test server has a database called name.
func exists(t *testing.T, name string) bool {
	t.Helper()
	admin, err := sqlx.Open("postgres", pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var ok bool
	if err := admin.Get(&ok, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name); err != nil {
		t.Fatal(err)
	}
	return ok
}
