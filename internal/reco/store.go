package reco

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// All of reco's SQL, over its schemas analytics and reco.

// writeEvents stores a batch in one transaction: the events (each new
// one once), the watching summary folded from those inserted for the
// first time, and a rescore job for each profile that finished a title.
// When the batch falls in a month with no partition yet, it creates the
// partitions and tries again.
func (s *Service) writeEvents(ctx context.Context, evs []Event) error {
	err := s.writeEventsOnce(ctx, evs)
	var pe *pq.Error
	if errors.As(err, &pe) && pe.Code == "23514" { // no partition of relation "events" found for row
		months := map[time.Time]bool{}
		for _, e := range evs {
			months[monthOf(e.At)] = true
		}
		for m := range months {
			if err := ensureMonth(ctx, s.db, m); err != nil {
				return err
			}
		}
		err = s.writeEventsOnce(ctx, evs)
	}
	return err
}

func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func ensureMonth(ctx context.Context, q sqlx.ExecerContext, m time.Time) error {
	if _, err := q.ExecContext(ctx, `SELECT analytics.ensure_month($1)`, m); err != nil {
		return fmt.Errorf("create analytics partition for %s: %w", m.Format("2006-01"), err)
	}
	return nil
}

// EnsurePartitions creates the monthly partitions of analytics.events
// from this month to months ahead.
func (s *Service) EnsurePartitions(ctx context.Context, ahead int) error {
	now := monthOf(time.Now())
	for n := 0; n <= ahead; n++ {
		if err := ensureMonth(ctx, s.db, now.AddDate(0, n, 0)); err != nil {
			return err
		}
	}
	return nil
}

const insertEvents = `
WITH ins AS (
	INSERT INTO analytics.events (id, at, kind, account_id, profile_id, session_id, title_id, episode_id, video_id, position_s, rendition, detail, source)
	SELECT id, at, kind, NULLIF(acc, '')::uuid, prof, sess, NULLIF(tid, '')::uuid, NULLIF(eid, '')::uuid, vid,
	       NULLIF(pos, '')::double precision, rend, NULLIF(det, '')::jsonb, src
	FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[],
	            $10::text[], $11::text[], $12::text[], $13::text[])
	     AS u(id, at, kind, acc, prof, sess, tid, eid, vid, pos, rend, det, src)
	ON CONFLICT DO NOTHING
	RETURNING profile_id, title_id, kind, position_s, at
), folded AS (
	INSERT INTO reco.watch AS w (profile_id, title_id, max_position_s, completes, last_at, last_complete_at)
	SELECT profile_id, title_id, coalesce(max(position_s), 0), count(*) FILTER (WHERE kind = 'complete'), max(at),
	       max(at) FILTER (WHERE kind = 'complete')
	FROM ins WHERE title_id IS NOT NULL AND kind IN ('start', 'progress', 'stop', 'complete')
	GROUP BY profile_id, title_id
	ON CONFLICT (profile_id, title_id) DO UPDATE SET
		max_position_s = GREATEST(w.max_position_s, EXCLUDED.max_position_s),
		completes = w.completes + EXCLUDED.completes,
		last_at = GREATEST(w.last_at, EXCLUDED.last_at),
		last_complete_at = GREATEST(w.last_complete_at, EXCLUDED.last_complete_at)
)
-- folded runs although nothing reads it (a data-modifying WITH always does).
SELECT (SELECT count(*) FROM ins) AS inserted,
       coalesce((SELECT array_agg(DISTINCT profile_id::text) FROM ins WHERE kind = 'complete' AND title_id IS NOT NULL), '{}') AS finished`

func (s *Service) writeEventsOnce(ctx context.Context, evs []Event) error {
	n := len(evs)
	ids, kinds := make([]string, n), make([]string, n)
	ats := make([]string, n)
	acc, prof, sess, tid, eid := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	vid, pos, rend, det, src := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range evs {
		ids[i], kinds[i], ats[i] = e.ID.String(), e.Kind, e.At.UTC().Format(time.RFC3339Nano)
		acc[i], prof[i], sess[i], tid[i], eid[i], vid[i], rend[i] = e.AccountID, e.ProfileID, e.SessionID, e.TitleID, e.EpisodeID, e.VideoID, e.Rendition
		if !math.IsNaN(e.PositionS) && !math.IsInf(e.PositionS, 0) {
			pos[i] = strconv.FormatFloat(e.PositionS, 'f', -1, 64)
		}
		det[i] = string(e.detail)
		src[i] = "server"
		if e.client {
			src[i] = "client"
		}
	}
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var out struct {
			Inserted int            `db:"inserted"`
			Finished pq.StringArray `db:"finished"`
		}
		err := tx.GetContext(ctx, &out, insertEvents, pq.StringArray(ids), pq.StringArray(ats), pq.StringArray(kinds), pq.StringArray(acc),
			pq.StringArray(prof), pq.StringArray(sess), pq.StringArray(tid), pq.StringArray(eid), pq.StringArray(vid),
			pq.StringArray(pos), pq.StringArray(rend), pq.StringArray(det), pq.StringArray(src))
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		s.m.written.Add(float64(out.Inserted))
		for _, p := range out.Finished {
			if err := s.enqueueRescoreTx(ctx, tx, p); err != nil {
				return err
			}
		}
		if len(out.Finished) > 0 {
			keys := make([]string, len(out.Finished))
			for i, p := range out.Finished {
				keys[i] = stateKey(p)
			}
			pg.AfterCommit(tx, func() { s.forget(keys...) })
		}
		return nil
	})
}

// watchRow is one profile's watching of one title.
type watchRow struct {
	ProfileID      string       `db:"profile_id"`
	TitleID        string       `db:"title_id"`
	MaxPositionS   float64      `db:"max_position_s"`
	Completes      int          `db:"completes"`
	LastAt         time.Time    `db:"last_at"`
	LastCompleteAt sql.NullTime `db:"last_complete_at"`
}

const watchCols = `profile_id, title_id, max_position_s, completes, last_at, last_complete_at`

func allWatches(ctx context.Context, q sqlx.QueryerContext, since time.Time) ([]watchRow, error) {
	var rows []watchRow
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+watchCols+` FROM reco.watch WHERE last_at >= $1`, since)
	if err != nil {
		return nil, fmt.Errorf("load watches: %w", err)
	}
	return rows, nil
}

func profileWatches(ctx context.Context, q sqlx.QueryerContext, profileID string) ([]watchRow, error) {
	var rows []watchRow
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+watchCols+` FROM reco.watch WHERE profile_id = $1 ORDER BY last_at DESC`, profileID)
	if err != nil {
		return nil, fmt.Errorf("load profile watches: %w", err)
	}
	return rows, nil
}

type ratingRow struct {
	ProfileID string    `db:"profile_id"`
	TitleID   string    `db:"title_id"`
	Rating    int       `db:"rating"`
	At        time.Time `db:"rated_at"`
}

func ratingsOf(ctx context.Context, q sqlx.QueryerContext, profileID string) ([]ratingRow, error) {
	var rows []ratingRow
	stmt := `SELECT profile_id, title_id, rating, rated_at FROM reco.ratings`
	var args []any
	if profileID != "" {
		stmt += ` WHERE profile_id = $1`
		args = append(args, profileID)
	}
	if err := sqlx.SelectContext(ctx, q, &rows, stmt, args...); err != nil {
		return nil, fmt.Errorf("load ratings: %w", err)
	}
	return rows, nil
}

type listRow struct {
	ProfileID string    `db:"profile_id"`
	TitleID   string    `db:"title_id"`
	At        time.Time `db:"added_at"`
}

func listOf(ctx context.Context, q sqlx.QueryerContext, profileID string) ([]listRow, error) {
	var rows []listRow
	stmt := `SELECT profile_id, title_id, added_at FROM reco.my_list`
	var args []any
	if profileID != "" {
		stmt += ` WHERE profile_id = $1`
		args = append(args, profileID)
	}
	stmt += ` ORDER BY added_at DESC, title_id`
	if err := sqlx.SelectContext(ctx, q, &rows, stmt, args...); err != nil {
		return nil, fmt.Errorf("load my list: %w", err)
	}
	return rows, nil
}

type picksRow struct {
	ProfileID string         `db:"profile_id"`
	TitleIDs  pq.StringArray `db:"title_ids"`
	Genres    pq.StringArray `db:"genres"`
	At        time.Time      `db:"picked_at"`
}

func picksOf(ctx context.Context, q sqlx.QueryerContext, profileID string) ([]picksRow, error) {
	var rows []picksRow
	stmt := `SELECT profile_id, title_ids::text[] AS title_ids, genres, picked_at FROM reco.picks`
	var args []any
	if profileID != "" {
		stmt += ` WHERE profile_id = $1`
		args = append(args, profileID)
	}
	if err := sqlx.SelectContext(ctx, q, &rows, stmt, args...); err != nil {
		return nil, fmt.Errorf("load picks: %w", err)
	}
	return rows, nil
}

func setRating(ctx context.Context, q sqlx.ExtContext, profileID, titleID string, rating int) error {
	var err error
	if rating == 0 {
		_, err = q.ExecContext(ctx, `DELETE FROM reco.ratings WHERE profile_id = $1 AND title_id = $2`, profileID, titleID)
	} else {
		_, err = q.ExecContext(ctx, `INSERT INTO reco.ratings (profile_id, title_id, rating) VALUES ($1, $2, $3)
			ON CONFLICT (profile_id, title_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = now()`, profileID, titleID, rating)
	}
	if err != nil {
		return fmt.Errorf("set rating: %w", err)
	}
	return nil
}

func setListed(ctx context.Context, q sqlx.ExtContext, profileID, titleID string, listed bool) (changed bool, err error) {
	var res sql.Result
	if listed {
		res, err = q.ExecContext(ctx, `INSERT INTO reco.my_list (profile_id, title_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, profileID, titleID)
	} else {
		res, err = q.ExecContext(ctx, `DELETE FROM reco.my_list WHERE profile_id = $1 AND title_id = $2`, profileID, titleID)
	}
	if err != nil {
		return false, fmt.Errorf("change my list: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

func setPicks(ctx context.Context, q sqlx.ExtContext, profileID string, titles, genres []string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO reco.picks (profile_id, title_ids, genres) VALUES ($1, $2::uuid[], $3)
		ON CONFLICT (profile_id) DO UPDATE SET title_ids = EXCLUDED.title_ids, genres = EXCLUDED.genres, picked_at = now()`,
		profileID, pq.StringArray(titles), pq.StringArray(genres))
	if err != nil {
		return fmt.Errorf("set picks: %w", err)
	}
	return nil
}

// modelRow is one trained model.
type modelRow struct {
	Version      int64           `db:"version" json:"version"`
	Model        string          `db:"model" json:"model"`
	Kind         string          `db:"kind" json:"kind"`
	Metrics      json.RawMessage `db:"metrics" json:"metrics"`
	Profiles     int             `db:"profiles" json:"profiles"`
	Items        int             `db:"items" json:"items"`
	Interactions int             `db:"interactions" json:"interactions"`
	TrainMS      int64           `db:"train_ms" json:"train_ms"`
	PeakBytes    int64           `db:"peak_bytes" json:"peak_bytes"`
	TrainedAt    time.Time       `db:"trained_at" json:"trained_at"`
}

const modelCols = `version, model, kind, metrics, profiles, items, interactions, train_ms, peak_bytes, trained_at`

// latestModel returns the newest model, or sql.ErrNoRows before the first retrain.
func latestModel(ctx context.Context, q sqlx.QueryerContext) (modelRow, error) {
	var m modelRow
	err := sqlx.GetContext(ctx, q, &m, `SELECT `+modelCols+` FROM reco.models ORDER BY version DESC LIMIT 1`)
	return m, err
}

func insertModel(ctx context.Context, q sqlx.QueryerContext, m modelRow) (int64, error) {
	var v int64
	err := sqlx.GetContext(ctx, q, &v, `INSERT INTO reco.models (model, kind, metrics, profiles, items, interactions, train_ms, peak_bytes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING version`,
		m.Model, m.Kind, []byte(m.Metrics), m.Profiles, m.Items, m.Interactions, m.TrainMS, m.PeakBytes)
	if err != nil {
		return 0, fmt.Errorf("record model: %w", err)
	}
	return v, nil
}

// ranked is a list of titles with scores, best first.
type ranked struct {
	IDs    []string
	Scores []float32
}

// arrays returns r's lists as SQL arrays, empty (never NULL) when r is.
func (r ranked) arrays() (any, any) {
	ids, scores := r.IDs, r.Scores
	if ids == nil {
		ids = []string{}
	}
	if scores == nil {
		scores = []float32{}
	}
	return pq.StringArray(ids), pq.Array(scores)
}

// copyRanked writes rows of (key, ids, scores) into table's columns with
// one multi-row insert per 500 rows.
func copyRanked(ctx context.Context, tx *sqlx.Tx, stmt string, version int64, keys []string, lists []ranked) error {
	for lo := 0; lo < len(keys); lo += 500 {
		hi := min(lo+500, len(keys))
		var args []any
		vals := ""
		for i := lo; i < hi; i++ {
			if vals != "" {
				vals += ","
			}
			n := len(args)
			vals += fmt.Sprintf("($%d::bigint, $%d, $%d::uuid[], $%d::real[])", n+1, n+2, n+3, n+4)
			ids, scores := lists[i].arrays()
			args = append(args, version, keys[i], ids, scores)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(stmt, vals), args...); err != nil {
			return err
		}
	}
	return nil
}

const (
	insertNeighbours = `INSERT INTO reco.neighbours (model_version, title_id, items, weights) SELECT v, k::uuid, i, w FROM (VALUES %s) AS t(v, k, i, w)`
	insertPopular    = `INSERT INTO reco.popular (model_version, scope, items, scores) VALUES %s`
	upsertTopN       = `INSERT INTO reco.topn (model_version, profile_id, items, scores) SELECT v, k::uuid, i, w FROM (VALUES %s) AS t(v, k, i, w)
		ON CONFLICT (profile_id) DO UPDATE SET model_version = EXCLUDED.model_version, items = EXCLUDED.items, scores = EXCLUDED.scores, scored_at = now()`
)

func saveTopN(ctx context.Context, db *sqlx.DB, version int64, profile string, r ranked) error {
	ids, scores := r.arrays()
	_, err := db.ExecContext(ctx, `INSERT INTO reco.topn (model_version, profile_id, items, scores) VALUES ($1, $2, $3::uuid[], $4::real[])
		ON CONFLICT (profile_id) DO UPDATE SET model_version = EXCLUDED.model_version, items = EXCLUDED.items, scores = EXCLUDED.scores, scored_at = now()`,
		version, profile, ids, scores)
	if err != nil {
		return fmt.Errorf("save top-n: %w", err)
	}
	return nil
}

func topNOf(ctx context.Context, q sqlx.QueryerContext, profile string) (ranked, int64, error) {
	var row struct {
		Version int64           `db:"model_version"`
		Items   pq.StringArray  `db:"items"`
		Scores  pq.Float32Array `db:"scores"`
	}
	err := sqlx.GetContext(ctx, q, &row, `SELECT model_version, items::text[] AS items, scores FROM reco.topn WHERE profile_id = $1`, profile)
	if errors.Is(err, sql.ErrNoRows) {
		return ranked{}, 0, nil
	}
	if err != nil {
		return ranked{}, 0, fmt.Errorf("load top-n: %w", err)
	}
	return ranked{IDs: row.Items, Scores: row.Scores}, row.Version, nil
}

// neighbourRows loads every row of a model's weights.
func neighbourRows(ctx context.Context, q sqlx.QueryerContext, version int64) (map[string]ranked, error) {
	rows, err := q.QueryxContext(ctx, `SELECT title_id::text, items::text[], weights FROM reco.neighbours WHERE model_version = $1`, version)
	if err != nil {
		return nil, fmt.Errorf("load neighbours: %w", err)
	}
	defer rows.Close()
	out := map[string]ranked{}
	for rows.Next() {
		var id string
		var items pq.StringArray
		var w pq.Float32Array
		if err := rows.Scan(&id, &items, &w); err != nil {
			return nil, fmt.Errorf("load neighbours: %w", err)
		}
		out[id] = ranked{IDs: items, Scores: w}
	}
	return out, rows.Err()
}

func popularOf(ctx context.Context, q sqlx.QueryerContext, version int64) (map[string]ranked, error) {
	var rows []struct {
		Scope  string          `db:"scope"`
		Items  pq.StringArray  `db:"items"`
		Scores pq.Float32Array `db:"scores"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT scope, items::text[] AS items, scores FROM reco.popular WHERE model_version = $1`, version); err != nil {
		return nil, fmt.Errorf("load popular: %w", err)
	}
	out := make(map[string]ranked, len(rows))
	for _, r := range rows {
		out[r.Scope] = ranked{IDs: r.Items, Scores: r.Scores}
	}
	return out, nil
}

// pruneModels deletes all but the newest keep models (their weights go
// with them).
func pruneModels(ctx context.Context, q sqlx.ExecerContext, keep int) error {
	_, err := q.ExecContext(ctx, `DELETE FROM reco.models WHERE version NOT IN (SELECT version FROM reco.models ORDER BY version DESC LIMIT $1)`, keep)
	if err != nil {
		return fmt.Errorf("prune models: %w", err)
	}
	return nil
}

// trainLockKey is the advisory lock one retrain at a time holds.
const trainLockKey = 0x7265636f // "reco"

func (m modelRow) info() ModelInfo {
	out := ModelInfo{Version: m.Version, Model: m.Model, Kind: m.Kind, Candidates: []CandidateResult{}, Profiles: m.Profiles, Items: m.Items,
		Interactions: m.Interactions, TrainMS: m.TrainMS, PeakBytes: m.PeakBytes, TrainedAt: m.TrainedAt.UTC()}
	_ = json.Unmarshal(m.Metrics, &out.Candidates)
	return out
}
