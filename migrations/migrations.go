// Package migrations embeds every module's SQL migrations: one directory a
// module, named after the Postgres schema the module owns, with golang-migrate
// files NNNN_name.up.sql and NNNN_name.down.sql. Each directory is tracked in
// its own schema's schema_migrations table.
package migrations

import "embed"

// FS holds the migration files, as <module>/<NNNN_name>.(up|down).sql.
//
//go:embed */*.sql
var FS embed.FS
