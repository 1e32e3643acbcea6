// Package reco is the recommendation module: the analytics log that
// viewing and player events land in, the signals profiles give on purpose
// (ratings, My List, cold-start picks), retrains chosen by offline
// evaluation, nearline rescoring, and the home rows with their reasons.
//
// Schemas: it owns "analytics" (events, partitioned by month) and "reco"
// (watch summary, ratings, my_list, picks, models, neighbours, popular,
// topn), migrations/reco; all of its SQL is in store.go. It refers to
// profiles and titles by id only.
//
// Routes (http.go): POST /events, PUT /titles/{id}/rating, GET /my-list,
// PUT and DELETE /my-list/{title_id}, GET and PUT /recommendations/picks,
// GET /recommendations/rows, GET /recommendations?row=, and for operators
// GET /admin/reco/models and POST /admin/reco/train.
//
// Jobs and queue "reco" (jobs.go): reco.rescore (one profile, nearline),
// reco.train (hourly check, retrains when due; one at a time by an
// advisory lock) and reco.partitions (daily, partitions three months
// ahead). Record is the entry point for playback's events: buffered,
// written within a second, never blocking.
//
// Needs (deps.go): Catalog (content: every published title, and the cards
// a viewer may see), Profiles (user: a profile's name), optionally
// Watching (streaming: "Continue watching"), a Queue and a Cache.
package reco
