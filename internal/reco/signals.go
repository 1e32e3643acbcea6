package reco

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// Viewer is who asks: the account, the active profile and its ceiling.
type Viewer struct {
	AccountID     string
	ProfileID     string
	MaturityLevel int
	Kids          bool
}

// Rating is a thumbs up or down, or none.
type Rating struct {
	// Rating is "up", "down" or null (no rating).
	Rating *string `json:"rating" jsonschema:"enum=up,enum=down"`
}

// RatingState is a title's rating by the profile.
type RatingState struct {
	TitleID string  `json:"title_id" jsonschema:"format=uuid"`
	Rating  *string `json:"rating" jsonschema:"enum=up,enum=down"`
}

var errRating = apperr.Validation(apperr.FieldError{Field: "rating", Code: "invalid", Message: `Must be "up", "down" or null.`})

// visible returns ErrTitleNotFound unless the viewer may see the title.
func (s *Service) visible(ctx context.Context, v Viewer, titleID string) (Title, error) {
	if len(titleID) != 36 || uuid.Validate(titleID) != nil {
		return Title{}, ErrTitleNotFound
	}
	ts, err := s.catalog.Cards(ctx, v.MaturityLevel, []string{titleID})
	if err != nil {
		return Title{}, err
	}
	if len(ts) == 0 {
		return Title{}, ErrTitleNotFound
	}
	return ts[0], nil
}

// SetRating gives a title the profile may see a thumbs up or down, or
// takes the rating back (nil), and rescores the profile's rows nearline.
// A thumbs-down title leaves every row at once. It returns
// ErrTitleNotFound or a validation error naming rating.
func (s *Service) SetRating(ctx context.Context, v Viewer, titleID string, r Rating) (RatingState, error) {
	n := 0
	if r.Rating != nil {
		switch *r.Rating {
		case "up":
			n = 1
		case "down":
			n = -1
		default:
			return RatingState{}, errRating
		}
	}
	if _, err := s.visible(ctx, v, titleID); err != nil {
		return RatingState{}, err
	}
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := setRating(ctx, tx, v.ProfileID, titleID, n); err != nil {
			return err
		}
		return s.changedTx(ctx, tx, v.ProfileID)
	})
	return RatingState{TitleID: titleID, Rating: r.Rating}, err
}

// changedTx rescores the profile after its signals change (a job in tx)
// and drops its cached state once tx commits.
func (s *Service) changedTx(ctx context.Context, tx *sqlx.Tx, profileID string) error {
	if err := s.enqueueRescoreTx(ctx, tx, profileID); err != nil {
		return err
	}
	pg.AfterCommit(tx, func() { s.forget(stateKey(profileID)) })
	return nil
}

// MyList is the profile's list, most recently added first.
type MyList struct {
	Items []ListedTitle `json:"items"`
}

// ListedTitle is a title on My List.
type ListedTitle struct {
	Title
	AddedAt time.Time `json:"added_at"`
}

// SetListed adds a title the profile may see to My List (listed) or takes
// it off; both are idempotent. It returns ErrTitleNotFound.
func (s *Service) SetListed(ctx context.Context, v Viewer, titleID string, listed bool) error {
	if listed {
		if _, err := s.visible(ctx, v, titleID); err != nil {
			return err
		}
	} else if len(titleID) != 36 || uuid.Validate(titleID) != nil {
		return ErrTitleNotFound
	}
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		changed, err := setListed(ctx, tx, v.ProfileID, titleID, listed)
		if err != nil || !changed {
			return err
		}
		return s.changedTx(ctx, tx, v.ProfileID)
	})
}

// List returns My List: the titles the profile may still see, most
// recently added first.
func (s *Service) List(ctx context.Context, v Viewer) (MyList, error) {
	rows, err := listOf(ctx, s.db, v.ProfileID)
	if err != nil {
		return MyList{}, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.TitleID
	}
	cards, err := s.cards(ctx, v, ids)
	if err != nil {
		return MyList{}, err
	}
	out := MyList{Items: []ListedTitle{}}
	for _, r := range rows {
		if t, ok := cards[r.TitleID]; ok {
			out.Items = append(out.Items, ListedTitle{Title: t, AddedAt: r.At.UTC()})
		}
	}
	return out, nil
}

// Picks are the titles and genres a new profile says it likes: until it
// has a history, its rows come from them and from popularity.
type Picks struct {
	TitleIDs []string `json:"title_ids" jsonschema:"maxItems=20"`
	// Genres are genre slugs.
	Genres []string `json:"genres" jsonschema:"maxItems=10"`
}

// SetPicks replaces the profile's cold-start picks. It returns a
// validation error naming title_ids[i] or genres[i] for an id the profile
// may not see or a genre that does not exist.
func (s *Service) SetPicks(ctx context.Context, v Viewer, p Picks) (Picks, error) {
	var fe []apperr.FieldError
	if len(p.TitleIDs) > 20 {
		fe = append(fe, apperr.FieldError{Field: "title_ids", Code: "too_many", Message: "At most 20 titles."})
	}
	if len(p.Genres) > 10 {
		fe = append(fe, apperr.FieldError{Field: "genres", Code: "too_many", Message: "At most 10 genres."})
	}
	if len(fe) > 0 {
		return Picks{}, apperr.Validation(fe...)
	}
	p.TitleIDs, p.Genres = dedup(p.TitleIDs), dedup(p.Genres)
	var valid []string
	for _, id := range p.TitleIDs {
		if len(id) == 36 && uuid.Validate(id) == nil {
			valid = append(valid, id)
		}
	}
	cards, err := s.cards(ctx, v, valid)
	if err != nil {
		return Picks{}, err
	}
	for i, id := range p.TitleIDs {
		if _, ok := cards[id]; !ok {
			fe = append(fe, apperr.FieldError{Field: "title_ids[" + itoa(i) + "]", Code: "not_found", Message: "No such title."})
		}
	}
	cat, err := s.items(ctx)
	if err != nil {
		return Picks{}, err
	}
	for i, g := range p.Genres {
		if _, ok := cat.genres[g]; !ok {
			fe = append(fe, apperr.FieldError{Field: "genres[" + itoa(i) + "]", Code: "not_found", Message: "No such genre."})
		}
	}
	if len(fe) > 0 {
		return Picks{}, apperr.Validation(fe...)
	}
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := setPicks(ctx, tx, v.ProfileID, p.TitleIDs, p.Genres); err != nil {
			return err
		}
		return s.changedTx(ctx, tx, v.ProfileID)
	})
	return p, err
}

// GetPicks returns the profile's picks (empty lists when it made none).
func (s *Service) GetPicks(ctx context.Context, v Viewer) (Picks, error) {
	rows, err := picksOf(ctx, s.db, v.ProfileID)
	if err != nil {
		return Picks{}, err
	}
	p := Picks{TitleIDs: []string{}, Genres: []string{}}
	if len(rows) == 1 {
		p.TitleIDs, p.Genres = append(p.TitleIDs, rows[0].TitleIDs...), append(p.Genres, rows[0].Genres...)
	}
	return p, nil
}

func dedup(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
