package reco

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/streamflix/streamflix/internal/reco/model"
)

// profileState is what serving a profile's rows needs from reco's own
// tables, cached (Deps.Cache) until the profile's signals change or
// Config.CacheTTL passes.
type profileState struct {
	Version  int64    `json:"v"`
	Name     string   `json:"n"`
	Top      []string `json:"t"`
	Finished []string `json:"f"` // most recent first
	Disliked []string `json:"d"`
	MyList   []string `json:"l"`
	Taste    []string `json:"g"` // genre slugs, most liked first
}

func stateKey(profileID string) string { return "reco:state:" + profileID }

// forget drops cached states; a failure is logged (the TTL bounds it).
func (s *Service) forget(keys ...string) {
	if s.cache == nil || len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for lo := 0; lo < len(keys); lo += 1000 {
		if err := s.cache.Delete(ctx, keys[lo:min(lo+1000, len(keys))]...); err != nil {
			s.log.Warn().Err(err).Msg("invalidate cached reco state")
			return
		}
	}
}

// state returns the profile's serving state, from the cache when it is
// current for the served model.
func (s *Service) state(ctx context.Context, v Viewer) (profileState, error) {
	m, err := s.served(ctx)
	if err != nil {
		return profileState{}, err
	}
	var version int64
	if m != nil {
		version = m.row.Version
	}
	key := stateKey(v.ProfileID)
	if s.cache != nil {
		if b, ok, _ := s.cache.Get(ctx, key); ok {
			var st profileState
			if json.Unmarshal(b, &st) == nil && st.Version == version {
				return st, nil
			}
		}
	}
	st, err := s.buildState(ctx, v, m)
	if err != nil {
		return st, err
	}
	if s.cache != nil {
		if b, err := json.Marshal(st); err == nil {
			_ = s.cache.Set(ctx, key, b, s.cfg.CacheTTL)
		}
	}
	return st, nil
}

func (s *Service) buildState(ctx context.Context, v Viewer, m *servedModel) (profileState, error) {
	st := profileState{Top: []string{}, Finished: []string{}, Disliked: []string{}, MyList: []string{}, Taste: []string{}}
	name, err := s.profiles.ProfileName(ctx, v.AccountID, v.ProfileID)
	if err != nil {
		return st, err
	}
	st.Name = name
	cat, err := s.items(ctx)
	if err != nil {
		return st, err
	}
	sg, err := loadSignals(ctx, s, v.ProfileID, time.Time{})
	if err != nil {
		return st, err
	}
	taste := map[string]float64{}
	like := func(id string, w float64) {
		if it, ok := cat.byID[id]; ok {
			for _, g := range it.Genres {
				taste[g.Slug] += w
			}
		}
	}
	for _, w := range sg.watches { // most recent first
		it, ok := cat.byID[w.TitleID]
		if !ok {
			continue
		}
		if finished(w, it) {
			st.Finished = append(st.Finished, w.TitleID)
		}
		like(w.TitleID, watchWeight(w, it))
	}
	for _, r := range sg.ratings {
		if r.Rating < 0 {
			st.Disliked = append(st.Disliked, r.TitleID)
			like(r.TitleID, -model.ThumbsUpWeight)
		} else {
			like(r.TitleID, model.ThumbsUpWeight)
		}
	}
	for _, l := range sg.list {
		st.MyList = append(st.MyList, l.TitleID)
		like(l.TitleID, model.MyListWeight)
	}
	for _, p := range sg.picks {
		for _, id := range p.TitleIDs {
			like(id, model.MyListWeight)
		}
		for _, g := range p.Genres {
			taste[g] += 2
		}
	}
	for g, w := range taste {
		if w > 0 {
			st.Taste = append(st.Taste, g)
		}
	}
	slices.SortFunc(st.Taste, func(a, b string) int {
		if taste[a] != taste[b] {
			if taste[a] > taste[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	if m == nil {
		return st, nil
	}
	st.Version = m.row.Version
	top, version, err := topNOf(ctx, s.db, v.ProfileID)
	if err != nil {
		return st, err
	}
	if version == m.row.Version {
		st.Top = top.IDs
	} else if len(sg.watches)+len(sg.ratings)+len(sg.list)+len(sg.picks) > 0 {
		// Signals but no top-N of this model yet (a new profile whose
		// rescore has not run, or a retrain that did not know it): score now.
		st.Top = m.score(sg, cat, s.cfg.TopN).IDs
	}
	return st, nil
}
