package content

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// CreditInput puts a person in a title.
type CreditInput struct {
	PersonID  string `json:"person_id"`
	Role      string `json:"role" jsonschema:"enum=actor,enum=director,enum=writer,enum=creator"`
	Character string `json:"character,omitempty"`
}

// TitleInput creates or replaces a title. Genres are slugs; People are
// listed in billing order. A PATCH applies its fields over the current
// TitleInput (an explicit null clears an optional field).
type TitleInput struct {
	ExternalKey    *string       `json:"external_key,omitempty"`
	Kind           string        `json:"kind" jsonschema:"enum=movie,enum=series"`
	Name           string        `json:"name"`
	OriginalName   string        `json:"original_name,omitempty"`
	Synopsis       string        `json:"synopsis,omitempty"`
	ReleaseYear    *int          `json:"release_year,omitempty"`
	RuntimeMinutes *int          `json:"runtime_minutes,omitempty"`
	MaturityRating string        `json:"maturity_rating" jsonschema:"enum=G,enum=PG,enum=PG-13,enum=R,enum=NC-17,enum=TV-Y,enum=TV-Y7,enum=TV-G,enum=TV-PG,enum=TV-14,enum=TV-MA"`
	Languages      []string      `json:"languages,omitempty"`
	Tags           []string      `json:"tags,omitempty"`
	AvailableFrom  *time.Time    `json:"available_from,omitempty"`
	AvailableUntil *time.Time    `json:"available_until,omitempty"`
	Genres         []string      `json:"genres,omitempty"`
	People         []CreditInput `json:"people,omitempty"`
}

func validYear(f *fieldErrs, field string, y *int) {
	if y != nil && (*y < 1870 || *y > 2200) {
		f.add(field, "out_of_range", "Must be a year from 1870 to 2200.")
	}
}

func validRuntime(f *fieldErrs, field string, m *int) {
	if m != nil && (*m < 1 || *m > 10000) {
		f.add(field, "out_of_range", "Must be a whole number of minutes from 1 to 10000.")
	}
}

func (in *TitleInput) validate() error {
	var f fieldErrs
	if in.ExternalKey != nil {
		f.required("external_key", *in.ExternalKey, maxNameLen)
	}
	if in.Kind != KindMovie && in.Kind != KindSeries {
		f.add("kind", "invalid", `Must be "movie" or "series".`)
	}
	in.Name = strings.TrimSpace(in.Name)
	f.required("name", in.Name, maxNameLen)
	f.text("original_name", in.OriginalName, maxNameLen)
	f.text("synopsis", in.Synopsis, maxTextLen)
	validYear(&f, "release_year", in.ReleaseYear)
	validRuntime(&f, "runtime_minutes", in.RuntimeMinutes)
	if _, ok := Ratings[in.MaturityRating]; !ok {
		f.add("maturity_rating", "invalid", "Must be one of G, PG, PG-13, R, NC-17, TV-Y, TV-Y7, TV-G, TV-PG, TV-14, TV-MA.")
	}
	if len(in.Languages) > maxListItems {
		f.add("languages", "too_many", "At most "+strconv.Itoa(maxListItems)+" languages.")
	}
	for i, l := range in.Languages {
		if !langRE.MatchString(l) {
			f.add(fmt.Sprintf("languages[%d]", i), "invalid", `Must be a language code such as "en" or "pt-BR".`)
		}
	}
	if len(in.Tags) > maxListItems {
		f.add("tags", "too_many", "At most "+strconv.Itoa(maxListItems)+" tags.")
	}
	for i, t := range in.Tags {
		f.required(fmt.Sprintf("tags[%d]", i), t, maxTagLen)
	}
	if in.AvailableFrom != nil && in.AvailableUntil != nil && !in.AvailableUntil.After(*in.AvailableFrom) {
		f.add("available_until", "before_available_from", "Must be after available_from.")
	}
	if in.Kind == KindSeries && in.RuntimeMinutes != nil {
		f.add("runtime_minutes", "series_runtime", "A series has runtimes on its episodes.")
	}
	if len(in.Genres) > maxListItems {
		f.add("genres", "too_many", "At most "+strconv.Itoa(maxListItems)+" genres.")
	}
	if len(in.People) > maxPeople {
		f.add("people", "too_many", "At most "+strconv.Itoa(maxPeople)+" people.")
	}
	seen := map[string]bool{}
	for i, c := range in.People {
		field := fmt.Sprintf("people[%d]", i)
		if !validUUID(c.PersonID) {
			f.add(field+".person_id", "invalid", "Must be a person's id.")
		}
		f.credit(field, c.Role, c.Character)
		k := strings.ToLower(c.PersonID) + "/" + c.Role
		if seen[k] {
			f.add(field, "duplicate", "This person already has this role in the title.")
		}
		seen[k] = true
	}
	return f.err()
}

// CreateTitle adds a draft title. It returns a validation error naming the
// field at fault (including unknown genres and people), or ErrExternalKey.
func (s *Service) CreateTitle(ctx context.Context, in TitleInput) (AdminTitle, error) {
	if err := in.validate(); err != nil {
		return AdminTitle{}, err
	}
	rec := in.record(newID(), false)
	rec.status = StatusDraft
	if err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error { return writeTitle(ctx, tx, rec) }); err != nil {
		return AdminTitle{}, err
	}
	s.bump(ctx)
	return s.AdminTitle(ctx, rec.id)
}

// record is the title in as writeTitles stores it, its people in billing
// order; its seasons stay as they are.
func (in TitleInput) record(id string, existing bool) titleRecord {
	r := titleRecord{id: id, existing: existing, externalKey: in.ExternalKey, kind: in.Kind, name: in.Name,
		originalName: in.OriginalName, synopsis: in.Synopsis, releaseYear: in.ReleaseYear, runtimeMinutes: in.RuntimeMinutes,
		rating: in.MaturityRating, languages: in.Languages, tags: in.Tags, availableFrom: in.AvailableFrom,
		availableUntil: in.AvailableUntil, genres: in.Genres}
	for i, c := range in.People {
		r.credits = append(r.credits, credit{PersonID: strings.ToLower(c.PersonID), Role: c.Role, Character: c.Character, Position: i})
	}
	return r
}

// writeTitle writes one title with writeTitles: a new title whose key is
// taken is ErrExternalKey.
func writeTitle(ctx context.Context, tx *sqlx.Tx, rec titleRecord) error {
	written, err := writeTitles(ctx, tx, []titleRecord{rec})
	if err != nil {
		return err
	}
	if !written[0] {
		return ErrExternalKey
	}
	return nil
}

// credit checks a credit's role and character; field names the credit.
func (f *fieldErrs) credit(field, role, character string) {
	switch role {
	case RoleActor, RoleDirector, RoleWriter, RoleCreator:
	default:
		f.add(field+".role", "invalid", "Must be actor, director, writer or creator.")
	}
	f.text(field+".character", character, maxNameLen)
}

// AdminTitle returns a title whatever its status, with its people and
// seasons, or ErrTitleNotFound.
func (s *Service) AdminTitle(ctx context.Context, id string) (AdminTitle, error) {
	row, err := findAdminTitle(ctx, s.db, id, false)
	if err != nil {
		return AdminTitle{}, err
	}
	t := row.admin(s.cfg.MediaURL)
	if t.People, err = credits(ctx, s.db, id); err != nil {
		return AdminTitle{}, err
	}
	if t.Seasons, err = seasons(ctx, s.db, id); err != nil {
		return AdminTitle{}, err
	}
	return t, nil
}

// TitleInput returns the title's current values as a TitleInput, the base a
// PATCH applies over. It returns ErrTitleNotFound.
func (s *Service) TitleInput(ctx context.Context, id string) (TitleInput, error) {
	t, err := s.AdminTitle(ctx, id)
	if err != nil {
		return TitleInput{}, err
	}
	in := TitleInput{ExternalKey: t.ExternalKey, Kind: t.Kind, Name: t.Name, OriginalName: t.OriginalName, Synopsis: t.Synopsis,
		ReleaseYear: t.Year, RuntimeMinutes: t.RuntimeMinutes, MaturityRating: t.MaturityRating, Languages: t.Languages, Tags: t.Tags,
		AvailableFrom: t.AvailableFrom, AvailableUntil: t.AvailableUntil}
	for _, g := range t.Genres {
		in.Genres = append(in.Genres, g.Slug)
	}
	for _, c := range t.People {
		in.People = append(in.People, CreditInput{PersonID: c.PersonID, Role: c.Role, Character: c.Character})
	}
	return in, nil
}

// UpdateTitle replaces the title's fields, genres and people with in. The
// kind of a title cannot change. It returns ErrTitleNotFound, ErrExternalKey
// or a validation error.
func (s *Service) UpdateTitle(ctx context.Context, id string, in TitleInput) (AdminTitle, error) {
	if err := in.validate(); err != nil {
		return AdminTitle{}, err
	}
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		cur, err := findAdminTitle(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if cur.Kind != in.Kind {
			var f fieldErrs
			f.add("kind", "immutable", "The kind of a title cannot change.")
			return f.err()
		}
		rec := in.record(cur.ID, true)
		rec.videoID = strPtr(cur.VideoID) // streaming's to change, through SetVideo
		return writeTitle(ctx, tx, rec)
	})
	if err != nil {
		return AdminTitle{}, err
	}
	s.bump(ctx)
	return s.AdminTitle(ctx, id)
}

// DeleteTitle removes a title with its seasons, episodes and artwork. It
// returns ErrTitleNotFound.
func (s *Service) DeleteTitle(ctx context.Context, id string) error {
	if !validUUID(id) {
		return ErrTitleNotFound
	}
	art, err := deleteTitle(ctx, s.db, id)
	if err != nil {
		return err
	}
	s.bump(ctx)
	s.removeImage(ctx, art.Poster)
	s.removeImage(ctx, art.Backdrop)
	return nil
}

// SetPublished publishes or unpublishes a title. A title keeps the time it
// was first published, which orders browse lists. It returns
// ErrTitleNotFound.
func (s *Service) SetPublished(ctx context.Context, id string, published bool) (AdminTitle, error) {
	if !validUUID(id) {
		return AdminTitle{}, ErrTitleNotFound
	}
	status := StatusDraft
	if published {
		status = StatusPublished
	}
	if err := setStatus(ctx, s.db, id, status); err != nil {
		return AdminTitle{}, err
	}
	s.bump(ctx)
	return s.AdminTitle(ctx, id)
}

// SeasonInput creates or replaces a season.
type SeasonInput struct {
	Number   int    `json:"number"`
	Name     string `json:"name,omitempty"`
	Synopsis string `json:"synopsis,omitempty"`
	Year     *int   `json:"year,omitempty"`
}

func (in SeasonInput) validate() error {
	var f fieldErrs
	if in.Number < 1 || in.Number > 1000 {
		f.add("number", "out_of_range", "Must be a whole number from 1 to 1000.")
	}
	f.text("name", in.Name, maxNameLen)
	f.text("synopsis", in.Synopsis, maxTextLen)
	validYear(&f, "year", in.Year)
	return f.err()
}

// CreateSeason adds a season to a series. It returns ErrTitleNotFound,
// ErrNotSeries, ErrSeasonTaken or a validation error.
func (s *Service) CreateSeason(ctx context.Context, titleID string, in SeasonInput) (Season, error) {
	if err := in.validate(); err != nil {
		return Season{}, err
	}
	id := newID()
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		t, err := findAdminTitle(ctx, tx, titleID, true)
		if err != nil {
			return err
		}
		if t.Kind != KindSeries {
			return ErrNotSeries
		}
		if err := insertSeason(ctx, tx, id, titleID, in); err != nil {
			return err
		}
		return touch(ctx, tx, titleID)
	})
	if err != nil {
		return Season{}, err
	}
	s.bump(ctx)
	return s.Season(ctx, id)
}

// Season returns a season with its episodes, or ErrSeasonNotFound.
func (s *Service) Season(ctx context.Context, id string) (Season, error) {
	if !validUUID(id) {
		return Season{}, ErrSeasonNotFound
	}
	row, err := findSeason(ctx, s.db, id)
	if err != nil {
		return Season{}, err
	}
	all, err := seasons(ctx, s.db, row.TitleID)
	if err != nil {
		return Season{}, err
	}
	for _, se := range all {
		if se.ID == row.ID {
			return se, nil
		}
	}
	return Season{}, ErrSeasonNotFound
}

// UpdateSeason replaces a season's fields. It returns ErrSeasonNotFound,
// ErrSeasonTaken or a validation error.
func (s *Service) UpdateSeason(ctx context.Context, id string, in SeasonInput) (Season, error) {
	if err := in.validate(); err != nil {
		return Season{}, err
	}
	if !validUUID(id) {
		return Season{}, ErrSeasonNotFound
	}
	if err := s.changeTitle(ctx, ErrSeasonNotFound, updateSeasonSQL, id, in.Number, in.Name, in.Synopsis, in.Year); err != nil {
		return Season{}, err
	}
	return s.Season(ctx, id)
}

// DeleteSeason removes a season and its episodes. It returns
// ErrSeasonNotFound.
func (s *Service) DeleteSeason(ctx context.Context, id string) error {
	if !validUUID(id) {
		return ErrSeasonNotFound
	}
	return s.changeTitle(ctx, ErrSeasonNotFound, deleteSeasonSQL, id)
}

// EpisodeInput creates or replaces an episode.
type EpisodeInput struct {
	Number         int    `json:"number"`
	Name           string `json:"name"`
	Synopsis       string `json:"synopsis,omitempty"`
	RuntimeMinutes *int   `json:"runtime_minutes,omitempty"`
}

func (in *EpisodeInput) validate() error {
	var f fieldErrs
	if in.Number < 1 || in.Number > 10000 {
		f.add("number", "out_of_range", "Must be a whole number from 1 to 10000.")
	}
	in.Name = strings.TrimSpace(in.Name)
	f.required("name", in.Name, maxNameLen)
	f.text("synopsis", in.Synopsis, maxTextLen)
	validRuntime(&f, "runtime_minutes", in.RuntimeMinutes)
	return f.err()
}

// CreateEpisode adds an episode to a season. It returns ErrSeasonNotFound,
// ErrEpisodeTaken or a validation error.
func (s *Service) CreateEpisode(ctx context.Context, seasonID string, in EpisodeInput) (Episode, error) {
	if err := in.validate(); err != nil {
		return Episode{}, err
	}
	if !validUUID(seasonID) {
		return Episode{}, ErrSeasonNotFound
	}
	id := newID()
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		titleID, err := lockSeason(ctx, tx, seasonID)
		if err != nil {
			return err
		}
		if err := insertEpisode(ctx, tx, id, seasonID, in); err != nil {
			return err
		}
		return touch(ctx, tx, titleID)
	})
	if err != nil {
		return Episode{}, err
	}
	s.bump(ctx)
	return s.Episode(ctx, id)
}

// Episode returns an episode, or ErrEpisodeNotFound.
func (s *Service) Episode(ctx context.Context, id string) (Episode, error) {
	if !validUUID(id) {
		return Episode{}, ErrEpisodeNotFound
	}
	row, err := findEpisode(ctx, s.db, id)
	if err != nil {
		return Episode{}, err
	}
	return row.episode(), nil
}

// UpdateEpisode replaces an episode's fields. It returns
// ErrEpisodeNotFound, ErrEpisodeTaken or a validation error.
func (s *Service) UpdateEpisode(ctx context.Context, id string, in EpisodeInput) (Episode, error) {
	if err := in.validate(); err != nil {
		return Episode{}, err
	}
	if !validUUID(id) {
		return Episode{}, ErrEpisodeNotFound
	}
	if err := s.changeTitle(ctx, ErrEpisodeNotFound, updateEpisodeSQL, id, in.Number, in.Name, in.Synopsis, in.RuntimeMinutes); err != nil {
		return Episode{}, err
	}
	return s.Episode(ctx, id)
}

// DeleteEpisode removes an episode. It returns ErrEpisodeNotFound.
func (s *Service) DeleteEpisode(ctx context.Context, id string) error {
	if !validUUID(id) {
		return ErrEpisodeNotFound
	}
	return s.changeTitle(ctx, ErrEpisodeNotFound, deleteEpisodeSQL, id)
}

// changeTitle runs a write to a season or episode that returns the id of
// the title it belongs to, refreshes that title's derived columns, and
// invalidates cached reads. A write that matched nothing returns missing.
func (s *Service) changeTitle(ctx context.Context, missing error, query string, args ...any) error {
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		titleID, err := titleOfPart(ctx, tx, missing, query, args...)
		if err != nil {
			return err
		}
		return touch(ctx, tx, titleID)
	})
	if err != nil {
		return err
	}
	s.bump(ctx)
	return nil
}

// GenreInput creates or replaces a genre.
type GenreInput struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func (in *GenreInput) validate() error {
	var f fieldErrs
	in.Name = strings.TrimSpace(in.Name)
	if len(in.Slug) > 60 || !slugRE.MatchString(in.Slug) {
		f.add("slug", "invalid", `Must be lower-case letters, digits and single hyphens, such as "film-noir" (at most 60).`)
	}
	f.required("name", in.Name, 80)
	return f.err()
}

// Genres returns every genre, by name.
func (s *Service) Genres(ctx context.Context) ([]Genre, error) {
	return listGenres(ctx, s.db)
}

// CreateGenre adds a genre. It returns ErrGenreTaken or a validation error.
func (s *Service) CreateGenre(ctx context.Context, in GenreInput) (Genre, error) {
	if err := in.validate(); err != nil {
		return Genre{}, err
	}
	g := Genre{ID: newID(), Slug: in.Slug, Name: in.Name}
	if err := insertGenre(ctx, s.db, g); err != nil {
		return Genre{}, err
	}
	s.bump(ctx)
	return g, nil
}

// UpdateGenre replaces a genre's slug and name. It returns
// ErrGenreNotFound, ErrGenreTaken or a validation error.
func (s *Service) UpdateGenre(ctx context.Context, id string, in GenreInput) (Genre, error) {
	if err := in.validate(); err != nil {
		return Genre{}, err
	}
	if !validUUID(id) {
		return Genre{}, ErrGenreNotFound
	}
	g := Genre{ID: id, Slug: in.Slug, Name: in.Name}
	if err := updateGenre(ctx, s.db, g); err != nil {
		return Genre{}, err
	}
	s.bump(ctx)
	return g, nil
}

// DeleteGenre removes a genre from the catalog and its titles. It returns
// ErrGenreNotFound.
func (s *Service) DeleteGenre(ctx context.Context, id string) error {
	return s.deleteByID(ctx, deleteGenreSQL, id, ErrGenreNotFound)
}

// PersonInput creates or renames a person.
type PersonInput struct {
	Name string `json:"name"`
}

func (in *PersonInput) validate() error {
	var f fieldErrs
	in.Name = strings.TrimSpace(in.Name)
	f.required("name", in.Name, maxNameLen)
	return f.err()
}

// CreatePerson adds a person. It returns a validation error.
func (s *Service) CreatePerson(ctx context.Context, in PersonInput) (Person, error) {
	if err := in.validate(); err != nil {
		return Person{}, err
	}
	p := Person{ID: newID(), Name: in.Name}
	if err := insertPerson(ctx, s.db, p); err != nil {
		return Person{}, err
	}
	return p, nil
}

// UpdatePerson renames a person and refreshes the search text of their
// titles. It returns ErrPersonNotFound or a validation error.
func (s *Service) UpdatePerson(ctx context.Context, id string, in PersonInput) (Person, error) {
	if err := in.validate(); err != nil {
		return Person{}, err
	}
	if !validUUID(id) {
		return Person{}, ErrPersonNotFound
	}
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := renamePerson(ctx, tx, Person{ID: id, Name: in.Name}); err != nil {
			return err
		}
		return refreshPeopleOf(ctx, tx, id)
	})
	if err != nil {
		return Person{}, err
	}
	s.bump(ctx)
	return Person{ID: id, Name: in.Name}, nil
}

// DeletePerson removes a person from the catalog and its titles. It
// returns ErrPersonNotFound.
func (s *Service) DeletePerson(ctx context.Context, id string) error {
	if !validUUID(id) {
		return ErrPersonNotFound
	}
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		ids, err := titlesOf(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := deletePerson(ctx, tx, id); err != nil {
			return err
		}
		return refreshDerived(ctx, tx, ids...)
	})
	if err != nil {
		return err
	}
	s.bump(ctx)
	return nil
}

func (s *Service) deleteByID(ctx context.Context, stmt, id string, notFoundErr error) error {
	if !validUUID(id) {
		return notFoundErr
	}
	if err := execOne(ctx, s.db, notFoundErr, stmt, id); err != nil {
		return err
	}
	s.bump(ctx)
	return nil
}

// notFound turns sql.ErrNoRows into nf.
func notFound(err, nf error) error {
	if isNoRows(err) {
		return nf
	}
	return err
}
