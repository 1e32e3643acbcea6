package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	db, dbURL := pgtest.NewDBURL(t) // already migrated from the template
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	migrate := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(context.Background(), append([]string{"migrate"}, args...), getenv, &out, &errOut); code != 0 {
			t.Fatalf("migrate %v: exit %d: %s", args, code, errOut.String())
		}
		return out.String()
	}
	if out := migrate("status"); !strings.Contains(out, "registry  1        1       up to date") {
		t.Fatalf("status after template:\n%s", out)
	}
	out := migrate("down", "registry")
	if !strings.Contains(out, "registry  0        1       pending") {
		t.Fatalf("status after down registry:\n%s", out)
	}
	var exists bool
	if err := db.Get(&exists, `SELECT to_regclass('registry.instances') IS NOT NULL`); err != nil || exists {
		t.Fatalf("registry.instances still exists after down (err %v)", err)
	}
	migrate("up")
	migrate("up") // idempotent
	if err := db.Get(&exists, `SELECT to_regclass('registry.instances') IS NOT NULL`); err != nil || !exists {
		t.Fatalf("registry.instances missing after up (err %v)", err)
	}
	migrate("down", "--all")
	if err := db.Get(&exists, `SELECT to_regclass('river.river_job') IS NOT NULL`); err != nil || exists {
		t.Fatalf("river tables remain after down --all (err %v)", err)
	}
	migrate("up")
	if out := migrate("status"); strings.Contains(out, "pending") {
		t.Fatalf("pending after up:\n%s", out)
	}

	var out2, errOut bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "down", "nosuchmodule"}, getenv, &out2, &errOut); code == 0 || !strings.Contains(errOut.String(), "unknown module") {
		t.Fatalf("down of an unknown module: exit %d, %s", code, errOut.String())
	}
}
