// Package content is the catalog module: titles (movies and series with
// seasons and episodes), genres, people, maturity ratings, availability,
// artwork, browse rows and full-text search.
//
// Schema: it owns the Postgres schema "content" (migrations/content) and
// no SQL of it reads another module's schema. All of its SQL is in
// store.go and store_<part>.go; titles are written in one place,
// writeTitles (store_title.go), which the admin API calls with one title,
// Import with each row and AddTitles with thousands.
//
// Routes (http.go): /api/v1/titles, /catalog, /search, /genres for
// viewers, and /admin/{titles,seasons,episodes,genres,people,catalog} for
// operators. Every viewer read filters in SQL by status, availability
// window and the active profile's maturity ceiling. Hot reads (home rows,
// title pages) are cached under a catalog version that every write bumps,
// so all instances sharing the cache see a change at once.
//
// Jobs and queue: none.
//
// The catalog moves in and out as one JSON file (CatalogFile, format
// "streamflix.catalog" version 1): Import reads it as a stream and applies
// each title, keyed by external key, whole or not at all; Export writes it
// from one snapshot. SeedDemo imports the embedded demo catalog
// (demo/catalog.json); package scale generates titles for load tests
// through AddTitles.
//
// It also owns the objects under artwork/ in media storage (Deps.Media):
// each title's poster and backdrop as JPEG renditions at standard widths,
// uploaded by operators or drawn by GenerateArtwork with package artgen.
//
// Needs (deps.go): Media for artwork and, optionally, a Cache shared by
// instances. It calls no other module.
package content
