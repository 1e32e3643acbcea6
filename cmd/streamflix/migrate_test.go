package main

import (
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
		code, out, errOut := runCLI(t, getenv, append([]string{"migrate"}, args...)...)
		if code != 0 {
			t.Fatalf("migrate %v: exit %d: %s", args, code, errOut)
		}
		// One space between columns, however wide the module names make them.
		return strings.Join(strings.Fields(strings.ReplaceAll(out, "\n", " | ")), " ")
	}
	if out := migrate("status"); !strings.Contains(out, "registry 1 1 up to date") {
		t.Fatalf("status after template:\n%s", out)
	}
	out := migrate("down", "registry")
	if !strings.Contains(out, "registry 0 1 pending") {
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

	if code, _, errOut := runCLI(t, getenv, "migrate", "down", "nosuchmodule"); code == 0 || !strings.Contains(errOut, "unknown module") {
		t.Fatalf("down of an unknown module: exit %d, %s", code, errOut)
	}
}
