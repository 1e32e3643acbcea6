package reco

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/reco/model"
)

// TrainReport is what a retrain did.
type TrainReport struct {
	// Skipped says why nothing was trained ("" when a model was).
	Skipped string `json:"skipped,omitempty"`
	Model   modelRow
	// Candidates are every model's validation figures, the chosen one
	// marked.
	Candidates []CandidateResult
}

// CandidateResult is one candidate's validation at a retrain.
type CandidateResult struct {
	Model     string  `json:"model"`
	NDCG      float64 `json:"ndcg_at_10"`
	Precision float64 `json:"precision_at_10"`
	Recall    float64 `json:"recall_at_10"`
	Users     int     `json:"users"`
	FitMS     int64   `json:"fit_ms"`
	PeakBytes uint64  `json:"peak_bytes"`
	Error     string  `json:"error,omitempty"`
	Chosen    bool    `json:"chosen"`
}

// history is how far back a retrain looks at watching.
const history = 2 * 365 * 24 * time.Hour

// trendingHalfLife is the decay of "Trending now" and genre popularity.
const trendingHalfLife = 7 * 24 * time.Hour

// Train retrains from every profile's signals, unless force is false and
// the current model is younger than Config.TrainInterval. Only one
// retrain runs at a time across instances (a Postgres advisory lock):
// another one returns ErrTrainingBusy. Requests are served from the
// previous model until the new one commits. Every candidate of
// model.DefaultModels is fitted on a validation split (20% of the
// interactions held out) and the best by NDCG@10 fills "Top picks"; a
// popularity model wins only when at least Config.MinEvalUsers were
// evaluated, since on fewer the comparison is noise. The winner is
// refitted on all the data; each profile's top-N, the winner's item
// weights and the popularity lists are stored under a new model version.
func (s *Service) Train(ctx context.Context, force bool) (TrainReport, error) {
	var rep TrainReport
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return rep, err
	}
	defer conn.Close()
	var got bool
	if err := conn.GetContext(ctx, &got, `SELECT pg_try_advisory_lock($1)`, trainLockKey); err != nil {
		return rep, fmt.Errorf("train lock: %w", err)
	}
	if !got {
		return rep, ErrTrainingBusy
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, trainLockKey)
	}()

	if !force {
		last, err := latestModel(ctx, s.db)
		if err == nil && time.Since(last.TrainedAt) < s.cfg.TrainInterval {
			rep.Skipped = "the current model is younger than RECO_TRAIN_INTERVAL"
			rep.Model = last
			return rep, nil
		}
	}
	start := time.Now()
	cat, err := s.loadCatalog(ctx)
	if err != nil {
		return rep, err
	}
	sg, err := loadSignals(ctx, s, "", time.Now().Add(-history))
	if err != nil {
		return rep, err
	}
	if len(cat.items) == 0 {
		rep.Skipped = "the catalog has no published titles"
		return rep, nil
	}
	ids := newIDMap()
	users, itemIdx := model.NewIndex(), model.NewIndex()
	for _, it := range cat.items {
		itemIdx.Add(ids.of(it.ID))
	}
	b := model.NewBuilderOn(users, itemIdx)
	for _, e := range sg.events(cat, ids) {
		b.Add(e)
	}
	x := b.Build()
	if x.NNZ() == 0 {
		rep.Skipped = "no profile has watched, rated or listed a title yet"
		return rep, nil
	}

	// Choose on a validation split.
	tr, val := model.Split(x, 1, 0.2)
	cands := model.DefaultModels(s.cfg.EASEMaxItems)
	best, bestLearned := -1, -1
	var peak uint64
	for n, m := range cands {
		r := model.Run(m, tr, val, 10)
		c := CandidateResult{Model: r.Model, NDCG: r.NDCG, Precision: r.Precision, Recall: r.Recall, Users: r.Users,
			FitMS: r.FitTime.Milliseconds(), PeakBytes: r.PeakHeap}
		peak = max(peak, r.PeakHeap)
		if r.Err != nil {
			c.Error = r.Err.Error()
		}
		rep.Candidates = append(rep.Candidates, c)
		if r.Err != nil {
			continue
		}
		if best < 0 || r.NDCG > rep.Candidates[best].NDCG {
			best = n
		}
		if _, ok := model.AsItemItem(m); ok && (bestLearned < 0 || r.NDCG > rep.Candidates[bestLearned].NDCG) {
			bestLearned = n
		}
	}
	chosen := best
	if bestLearned >= 0 {
		if _, ok := model.AsItemItem(cands[best]); !ok && rep.Candidates[best].Users < s.cfg.MinEvalUsers {
			chosen = bestLearned
		}
	}
	if chosen < 0 {
		return rep, model.ErrNoModel
	}
	rep.Candidates[chosen].Chosen = true
	top := cands[chosen]
	if err := top.Fit(x); err != nil {
		return rep, fmt.Errorf("refit %s: %w", top.Name(), err)
	}
	genres := map[int64][]string{}
	for _, it := range cat.items {
		for _, g := range it.Genres {
			genres[ids.of(it.ID)] = append(genres[ids.of(it.ID)], g.Slug)
		}
	}
	pop := &model.Popularity{HalfLife: trendingHalfLife, Now: time.Now(), Genres: genres}
	if err := pop.Fit(x); err != nil {
		return rep, err
	}

	// What to store.
	title := func(i int) string { return ids.str(itemIdx.ID(i)) }
	kind := kindPopularity
	ii, isII := model.AsItemItem(top)
	var nbKeys []string
	var nbLists []ranked
	if isII {
		kind = kindItemItem
		for i := range x.NumItems() {
			w := ii.Weights(i)
			if len(w) == 0 {
				continue
			}
			r := ranked{IDs: make([]string, len(w)), Scores: make([]float32, len(w))}
			for k, sc := range w {
				r.IDs[k], r.Scores[k] = title(sc.Item), sc.Score
			}
			nbKeys, nbLists = append(nbKeys, title(i)), append(nbLists, r)
		}
	}
	popKeys, popLists := []string{""}, []ranked{toRanked(popularAll(pop, x.NumItems(), s.cfg.TopN), title)}
	for slug := range cat.genres {
		popKeys = append(popKeys, slug)
		popLists = append(popLists, toRanked(pop.TopInGenre(slug, s.cfg.TopN, nil), title))
	}
	topKeys := make([]string, 0, x.NumUsers())
	topLists := make([]ranked, 0, x.NumUsers())
	for u := range x.NumUsers() {
		dis := x.Disliked(u)
		rec := model.Recommend(top, x.NumItems(), x.Row(u), s.cfg.TopN, func(i int) bool {
			_, found := slices.BinarySearch(dis, int32(i))
			return found
		})
		r := ranked{}
		for _, sc := range rec {
			if isII && sc.Score <= 0 {
				break
			}
			r.IDs, r.Scores = append(r.IDs, title(sc.Item)), append(r.Scores, sc.Score)
		}
		r = fillPopular(r, popLists[0], s.cfg.TopN, func(id string) bool {
			i, _ := itemIdx.Of(ids.of(id))
			_, found := slices.BinarySearch(dis, int32(i))
			return found || x.Row(u).Has(i)
		})
		topKeys, topLists = append(topKeys, ids.str(users.ID(u))), append(topLists, r)
	}
	metrics, _ := json.Marshal(rep.Candidates)
	rep.Model = modelRow{Model: top.Name(), Kind: kind, Metrics: metrics, Profiles: x.NumUsers(), Items: x.NumItems(),
		Interactions: x.NNZ(), TrainMS: time.Since(start).Milliseconds(), PeakBytes: int64(min(peak, math.MaxInt64))}
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		v, err := insertModel(ctx, tx, rep.Model)
		if err != nil {
			return err
		}
		rep.Model.Version = v
		if err := copyRanked(ctx, tx, insertNeighbours, v, nbKeys, nbLists); err != nil {
			return fmt.Errorf("store weights: %w", err)
		}
		if err := copyRanked(ctx, tx, insertPopular, v, popKeys, popLists); err != nil {
			return fmt.Errorf("store popularity: %w", err)
		}
		if err := copyRanked(ctx, tx, upsertTopN, v, topKeys, topLists); err != nil {
			return fmt.Errorf("store top-n: %w", err)
		}
		return pruneModels(ctx, tx, 3)
	})
	if err != nil {
		return rep, err
	}
	keys := make([]string, len(topKeys))
	for i, p := range topKeys {
		keys[i] = stateKey(p)
	}
	s.forget(keys...)
	s.log.Info().Int64("version", rep.Model.Version).Str("model", rep.Model.Model).Int("profiles", rep.Model.Profiles).
		Int("items", rep.Model.Items).Int("interactions", rep.Model.Interactions).Int64("ms", rep.Model.TrainMS).Msg("reco model trained")
	return rep, nil
}

// popularAll is every item by decayed popularity, most popular first,
// leaving out items nobody watched.
func popularAll(p *model.Popularity, n, k int) []model.Scored {
	dst := make([]float32, n)
	p.Score(model.Vector{}, dst)
	return model.Recommend(p, n, model.Vector{}, k, func(i int) bool { return dst[i] <= 0 })
}

// fillPopular tops r up to n with popular titles r lacks and skip
// refuses, scored 0: a profile whose learned neighbours run out (it has
// watched them all) still gets a full row.
func fillPopular(r ranked, pop ranked, n int, skip func(id string) bool) ranked {
	if len(r.IDs) >= n {
		return r
	}
	have := set(r.IDs)
	for _, id := range pop.IDs {
		if len(r.IDs) == n {
			break
		}
		if !have[id] && !skip(id) {
			r.IDs, r.Scores = append(r.IDs, id), append(r.Scores, 0)
		}
	}
	return r
}

func toRanked(sc []model.Scored, title func(int) string) ranked {
	r := ranked{IDs: []string{}, Scores: []float32{}}
	for _, s := range sc {
		if s.Score <= 0 {
			continue
		}
		r.IDs, r.Scores = append(r.IDs, title(s.Item)), append(r.Scores, s.Score)
	}
	return r
}

// Rescore recomputes one profile's top-N from its signals now, with the
// current model's stored weights: a history times the item weights,
// milliseconds. Before the first retrain it does nothing.
func (s *Service) Rescore(ctx context.Context, profileID string) error {
	m, err := s.served(ctx)
	if err != nil || m == nil {
		return err
	}
	cat, err := s.items(ctx)
	if err != nil {
		return err
	}
	sg, err := loadSignals(ctx, s, profileID, time.Time{})
	if err != nil {
		return err
	}
	r := m.score(sg, cat, s.cfg.TopN)
	if err := saveTopN(ctx, s.db, m.row.Version, profileID, r); err != nil {
		return err
	}
	s.forget(stateKey(profileID))
	return nil
}

// Models returns the recorded models, newest first (the last three retrains).
func (s *Service) Models(ctx context.Context) ([]modelRow, error) {
	var rows []modelRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+modelCols+` FROM reco.models ORDER BY version DESC`); err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	return rows, nil
}
