// Package content is the catalog module: titles (movies and series with
// seasons and episodes), genres, people, maturity ratings, availability,
// browse rows and full-text search.
//
// It owns the Postgres schema "content" and the routes under
// /api/v1/titles, /catalog, /search, /genres and /admin/{titles,seasons,
// episodes,genres,people,catalog}. Every viewer read filters in SQL by status,
// availability window and the active profile's maturity ceiling. Hot reads
// (home rows, title pages) are cached under a catalog version that every
// admin write bumps, so all instances sharing the cache see a change at
// once.
//
// The catalog moves in and out as one JSON file (CatalogFile, format
// "streamflix.catalog" version 1): Import reads it as a stream and applies
// each title, keyed by external key, whole or not at all; Export writes it
// from one snapshot. SeedDemo imports the embedded demo catalog
// (demo/catalog.json) and SeedScale generates titles for load tests.
//
// It also owns the objects under artwork/ in media storage (Config.Media):
// each title's poster and backdrop as JPEG renditions at standard widths,
// uploaded by operators or drawn by GenerateArtwork.
package content
