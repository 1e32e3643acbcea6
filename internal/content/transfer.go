package content

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// The catalog file format, read by Import and written by Export. README's
// "Catalog import and export" section describes it for operators.
const (
	CatalogFormat  = "streamflix.catalog"
	CatalogVersion = 1
	// MaxImportBytes is the largest file the import route accepts.
	MaxImportBytes = 64 << 20
	// MaxImportErrors caps the errors an ImportReport lists; the counts
	// still count every row.
	MaxImportErrors = 1000
	// importBatch is how many title rows share one transaction (each in
	// its own savepoint). It stays under Postgres' cache of 64
	// subtransactions per backend, past which every snapshot slows down.
	importBatch = 50
	// exportPage is how many titles Export reads at a time.
	exportPage = 500
	// maxSeasons caps a title's seasons in a file.
	maxSeasons = 200
	// maxEpisodes caps a season's episodes in a file.
	maxEpisodes = 1000
)

// CatalogFile is the whole of an import or export file. Import and Export
// stream it: titles are read and written one at a time, never all held.
// The header (format and version) comes first, genres before titles.
type CatalogFile struct {
	Format  string         `json:"format"`
	Version int            `json:"version"`
	Genres  []GenreInput   `json:"genres"`
	Titles  []CatalogTitle `json:"titles"`
}

// CatalogTitle is one title of a catalog file, keyed by ExternalKey. A
// title without an external key (made through the admin API) is exported
// with its id as its key, and importing that key finds it again.
//
// Status defaults to draft for a new title and to the current status of
// an existing one. VideoID (and an episode's VideoID) is set by the
// streaming module: an export lists them, an import ignores them and
// keeps what the title (or the episode with that number) has.
// Artwork is not part of the file: images live in media storage, are
// uploaded or generated per title, and an import leaves them as they are.
type CatalogTitle struct {
	ExternalKey    string          `json:"external_key"`
	Kind           string          `json:"kind" jsonschema:"enum=movie,enum=series"`
	Name           string          `json:"name"`
	OriginalName   string          `json:"original_name,omitempty"`
	Synopsis       string          `json:"synopsis,omitempty"`
	ReleaseYear    *int            `json:"release_year,omitempty"`
	RuntimeMinutes *int            `json:"runtime_minutes,omitempty"`
	MaturityRating string          `json:"maturity_rating" jsonschema:"enum=G,enum=PG,enum=PG-13,enum=R,enum=NC-17,enum=TV-Y,enum=TV-Y7,enum=TV-G,enum=TV-PG,enum=TV-14,enum=TV-MA"`
	Languages      []string        `json:"languages,omitempty"`
	Tags           []string        `json:"tags,omitempty"`
	Status         string          `json:"status,omitempty" jsonschema:"enum=draft,enum=published"`
	AvailableFrom  *time.Time      `json:"available_from,omitempty"`
	AvailableUntil *time.Time      `json:"available_until,omitempty"`
	VideoID        *string         `json:"video_id,omitempty"`
	Genres         []string        `json:"genres,omitempty"`
	Credits        []CatalogCredit `json:"credits,omitempty"`
	Seasons        []CatalogSeason `json:"seasons,omitempty"`
}

// CatalogCredit is a person's part in a title. The person is found by
// exact name (the oldest person of that name) or created. Position is the
// billing order (default: the credit's place in the list).
type CatalogCredit struct {
	Name      string `json:"name"`
	Role      string `json:"role" jsonschema:"enum=actor,enum=director,enum=writer,enum=creator"`
	Character string `json:"character,omitempty"`
	Position  *int   `json:"position,omitempty"`
}

// CatalogSeason is a season of a series, matched by number on re-import,
// with its episodes, matched by number within it.
type CatalogSeason struct {
	Number   int              `json:"number"`
	Name     string           `json:"name,omitempty"`
	Synopsis string           `json:"synopsis,omitempty"`
	Year     *int             `json:"year,omitempty"`
	Episodes []CatalogEpisode `json:"episodes,omitempty"`
}

// CatalogEpisode is an episode of a season: what EpisodeInput takes, plus
// the video the streaming module attached to it, which an export lists
// and an import ignores.
type CatalogEpisode struct {
	Number         int     `json:"number"`
	Name           string  `json:"name"`
	Synopsis       string  `json:"synopsis,omitempty"`
	RuntimeMinutes *int    `json:"runtime_minutes,omitempty"`
	VideoID        *string `json:"video_id,omitempty"`
}

// input is e as the admin API would take it, for validation.
func (e CatalogEpisode) input() EpisodeInput {
	return EpisodeInput{Number: e.Number, Name: e.Name, Synopsis: e.Synopsis, RuntimeMinutes: e.RuntimeMinutes}
}

// ImportOptions change what Import does.
type ImportOptions struct {
	// DryRun checks every row against the database as a real import
	// would, then rolls everything back.
	DryRun bool
}

// ImportCounts counts what an import did with the rows of one section.
type ImportCounts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Failed    int `json:"failed"`
}

// ImportError is one thing wrong with one row, which was not imported.
// Index is the row's place (from 0) in its section, "titles" or
// "genres"; Field is the path of the field at fault within the row (empty
// when the row as a whole is wrong).
type ImportError struct {
	Section     string `json:"section"`
	Index       int    `json:"index"`
	ExternalKey string `json:"external_key,omitempty"`
	Field       string `json:"field"`
	Code        string `json:"code"`
	Detail      string `json:"detail"`
}

// ImportReport is what an import did.
type ImportReport struct {
	DryRun bool          `json:"dry_run"`
	Titles ImportCounts  `json:"titles"`
	Genres ImportCounts  `json:"genres"`
	Errors []ImportError `json:"errors"`
	// ErrorsOmitted counts errors past the first MaxImportErrors.
	ErrorsOmitted int `json:"errors_omitted,omitempty"`
	// TitleIDs are the ids of the file's titles that were imported
	// (created, updated or unchanged), in file order; empty for a dry run.
	TitleIDs []string `json:"-"`
}

// Outcomes of one row.
const (
	outCreated = iota
	outUpdated
	outUnchanged
)

func (c *ImportCounts) count(outcome int) {
	switch outcome {
	case outCreated:
		c.Created++
	case outUpdated:
		c.Updated++
	default:
		c.Unchanged++
	}
}

// Import reads a catalog file from r and applies it: genres by slug, then
// each title by external key, created or updated in place so that
// re-importing a file changes nothing. Each title row is applied whole or
// not at all; a row that fails validation is listed in the report's
// errors and the others still import. The file is read as a stream.
//
// It returns a validation error naming format or version when the header
// is missing or unsupported, a 400 malformed_json error when the file is
// not JSON (titles before the fault are applied), and body_too_large when
// r is an http.MaxBytesReader that ran out. The cached catalog is
// invalidated once, at the end.
func (s *Service) Import(ctx context.Context, r io.Reader, opt ImportOptions) (ImportReport, error) {
	imp := &importer{s: s, dry: opt.DryRun, rep: ImportReport{DryRun: opt.DryRun, Errors: []ImportError{}}}
	err := imp.run(ctx, r)
	// Rows before a fault in the file stand; a database failure keeps
	// nothing of the open batch.
	if ferr := imp.finish(ctx, err == nil || apperr.From(err) != nil); err == nil {
		err = ferr
	}
	if t, g := imp.rep.Titles, imp.rep.Genres; !imp.dry && t.Created+t.Updated+g.Created+g.Updated > 0 {
		s.bump(ctx)
	}
	return imp.rep, err
}

// importer is one run of Import.
type importer struct {
	s   *Service
	dry bool
	rep ImportReport

	tx   *sqlx.Tx
	inTx int // rows in tx
	// pend and pendIDs are what tx holds: they join rep when it commits.
	pend    ImportCounts
	pendIDs []string
	// seenTitles is set once the titles array has started.
	seenTitles bool

	format     string
	version    int
	hasFormat  bool
	hasVersion bool
	dec        *json.Decoder
}

func (imp *importer) run(ctx context.Context, r io.Reader) error {
	imp.dec = json.NewDecoder(r)
	if err := imp.delim('{', "The file must be a JSON object."); err != nil {
		return err
	}
	for imp.dec.More() {
		tok, err := imp.dec.Token()
		if err != nil {
			return imp.readErr(err)
		}
		key, _ := tok.(string)
		switch key {
		case "format":
			if err := imp.header(key, &imp.format, &imp.hasFormat); err != nil {
				return err
			}
		case "version":
			if err := imp.header(key, &imp.version, &imp.hasVersion); err != nil {
				return err
			}
		case "genres":
			if err := imp.checkHeader(); err != nil {
				return err
			}
			if imp.seenTitles {
				return apperr.Validation(apperr.FieldError{Field: "genres", Code: "out_of_order",
					Message: "Genres must come before titles, which refer to them."})
			}
			if err := imp.genres(ctx); err != nil {
				return err
			}
		case "titles":
			if err := imp.checkHeader(); err != nil {
				return err
			}
			if err := imp.titles(ctx); err != nil {
				return err
			}
		default:
			return apperr.Validation(apperr.FieldError{Field: key, Code: "unknown_field",
				Message: "A catalog file has format, version, genres and titles."})
		}
	}
	if err := imp.delim('}', ""); err != nil {
		return err
	}
	if _, err := imp.dec.Token(); !errors.Is(err, io.EOF) {
		return imp.malformed("The file must hold a single JSON object.")
	}
	return imp.checkHeader()
}

// delim reads the next token and checks it is d.
func (imp *importer) delim(d json.Delim, msg string) error {
	tok, err := imp.dec.Token()
	if err != nil {
		return imp.readErr(err)
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		if msg == "" {
			msg = "The file is not valid JSON."
		}
		return imp.malformed(msg)
	}
	return nil
}

func (imp *importer) header(field string, dst any, seen *bool) error {
	if err := imp.dec.Decode(dst); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return apperr.Validation(apperr.FieldError{Field: field, Code: "wrong_type", Message: "Must be a " + jsonType(typ) + "."})
		}
		return imp.readErr(err)
	}
	*seen = true
	return nil
}

// checkHeader checks the format and version read so far.
func (imp *importer) checkHeader() error {
	var f fieldErrs
	switch {
	case !imp.hasFormat:
		f.add("format", "required", `The file must start with "format": "`+CatalogFormat+`".`)
	case imp.format != CatalogFormat:
		f.add("format", "unsupported", `Must be "`+CatalogFormat+`".`)
	}
	switch {
	case !imp.hasVersion:
		f.add("version", "required", fmt.Sprintf(`The file must start with "version": %d.`, CatalogVersion))
	case imp.version != CatalogVersion:
		f.add("version", "unsupported", fmt.Sprintf("This server reads version %d.", CatalogVersion))
	}
	return f.err()
}

// readErr turns an error from reading the file into what the client sees.
func (imp *importer) readErr(err error) error {
	var mbe *http.MaxBytesError
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return apperr.New(apperr.TooLarge, "body_too_large",
			fmt.Sprintf("The file is larger than %d bytes. %s", mbe.Limit, imp.progress()))
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return imp.malformed("The file is not valid JSON.")
	}
	return fmt.Errorf("read catalog file: %w", err)
}

func (imp *importer) malformed(msg string) error {
	return apperr.BadRequest("malformed_json", fmt.Sprintf("%s (near byte %d.) %s", strings.TrimSuffix(msg, "."), imp.dec.InputOffset(), imp.progress()))
}

// progress says what stands of an import stopped by a fault in the file.
func (imp *importer) progress() string {
	if imp.dry {
		return "Nothing was written (dry run)."
	}
	c := imp.rep.Titles
	c.Created, c.Updated, c.Unchanged = c.Created+imp.pend.Created, c.Updated+imp.pend.Updated, c.Unchanged+imp.pend.Unchanged
	if c.Created+c.Updated+c.Unchanged+c.Failed == 0 {
		return "No title was imported."
	}
	return fmt.Sprintf("The titles before that point were applied (%d created, %d updated, %d unchanged, %d failed); importing the corrected file again is safe.",
		c.Created, c.Updated, c.Unchanged, c.Failed)
}

// begin returns the open transaction, opening one if needed.
func (imp *importer) begin(ctx context.Context) (*sqlx.Tx, error) {
	if imp.tx != nil {
		return imp.tx, nil
	}
	tx, err := imp.s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("import: begin: %w", err)
	}
	imp.tx, imp.inTx = tx, 0
	return tx, nil
}

// finish commits (or, for a dry run or when !commit, rolls back) the open
// transaction. The rows it held count once committed; a dry run counts
// what it would have done.
func (imp *importer) finish(ctx context.Context, commit bool) error {
	tx := imp.tx
	if tx == nil {
		return nil
	}
	imp.tx = nil
	pend, ids := imp.pend, imp.pendIDs
	imp.pend, imp.pendIDs = ImportCounts{}, nil
	if imp.dry || !commit {
		if imp.dry {
			imp.rep.Titles.Created += pend.Created
			imp.rep.Titles.Updated += pend.Updated
			imp.rep.Titles.Unchanged += pend.Unchanged
		}
		if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
			return fmt.Errorf("import: rollback: %w", err)
		}
		return nil
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("import: commit: %w", err)
	}
	imp.rep.Titles.Created += pend.Created
	imp.rep.Titles.Updated += pend.Updated
	imp.rep.Titles.Unchanged += pend.Unchanged
	imp.rep.TitleIDs = append(imp.rep.TitleIDs, ids...)
	return nil
}

func (imp *importer) fail(section string, index int, key string, err error) {
	if section == "titles" {
		imp.rep.Titles.Failed++
	} else {
		imp.rep.Genres.Failed++
	}
	e := apperr.From(err)
	if e == nil {
		e = apperr.ErrInternal
	}
	var fields []apperr.FieldError
	switch {
	case len(e.Fields) > 0:
		fields = e.Fields
	case errors.Is(err, ErrExternalKey):
		fields = []apperr.FieldError{{Field: "external_key", Code: e.Code, Message: e.Message}}
	default:
		fields = []apperr.FieldError{{Code: e.Code, Message: e.Message}}
	}
	for _, f := range fields {
		if len(imp.rep.Errors) >= MaxImportErrors {
			imp.rep.ErrorsOmitted++
			continue
		}
		imp.rep.Errors = append(imp.rep.Errors, ImportError{Section: section, Index: index, ExternalKey: key, Field: f.Field, Code: f.Code, Detail: f.Message})
	}
}

// strict decodes one row, refusing unknown fields.
func strict(raw []byte, dst any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typ) && typ.Field == "":
			return apperr.Validation(apperr.FieldError{Code: "wrong_type", Message: "Must be a JSON object."})
		case errors.As(err, &typ):
			return apperr.Validation(apperr.FieldError{Field: typ.Field, Code: "wrong_type", Message: "Must be a " + jsonType(typ) + "."})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return apperr.Validation(apperr.FieldError{Field: field, Code: "unknown_field", Message: "This field is not part of the catalog format."})
		default:
			return apperr.Validation(apperr.FieldError{Code: "invalid", Message: "Cannot read this row: " + err.Error()})
		}
	}
	return nil
}

// jsonType names the JSON type a Go value of typ's type is read from.
func jsonType(typ *json.UnmarshalTypeError) string {
	switch typ.Type.Kind().String() {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "list"
	case "map", "struct", "ptr":
		if typ.Type.String() == "time.Time" || typ.Type.String() == "*time.Time" {
			return "string (RFC 3339 time)"
		}
		return "object"
	default:
		return "number"
	}
}

// genres reads and applies the genres array. They are few, so it is read
// whole; each genre is created or renamed by slug.
func (imp *importer) genres(ctx context.Context) error {
	var raws []json.RawMessage
	if err := imp.dec.Decode(&raws); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return apperr.Validation(apperr.FieldError{Field: "genres", Code: "wrong_type", Message: "Must be a list."})
		}
		return imp.readErr(err)
	}
	tx, err := imp.begin(ctx)
	if err != nil {
		return err
	}
	for i, raw := range raws {
		var g GenreInput
		err := strict(raw, &g)
		if err == nil {
			err = g.validate()
		}
		if err != nil {
			imp.fail("genres", i, "", err)
			continue
		}
		outcome, err := applyGenre(ctx, tx, g)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		imp.rep.Genres.count(outcome)
	}
	// Genres stand on their own; a dry run keeps them for the titles to see.
	if imp.dry {
		return nil
	}
	return imp.finish(ctx, true)
}

// titles reads the titles array one row at a time.
func (imp *importer) titles(ctx context.Context) error {
	imp.seenTitles = true
	tok, err := imp.dec.Token()
	if err != nil {
		return imp.readErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return apperr.Validation(apperr.FieldError{Field: "titles", Code: "wrong_type", Message: "Must be a list."})
	}
	for i := 0; imp.dec.More(); i++ {
		var raw json.RawMessage
		if err := imp.dec.Decode(&raw); err != nil {
			return imp.readErr(err)
		}
		if err := imp.title(ctx, i, raw); err != nil {
			return err
		}
	}
	return imp.delim(']', "")
}

// title imports one row in its own savepoint. Only failures of the
// database itself are returned; a bad row is reported and skipped.
func (imp *importer) title(ctx context.Context, index int, raw []byte) error {
	var ct CatalogTitle
	err := strict(raw, &ct)
	if err == nil {
		err = ct.validate()
	}
	if err != nil {
		imp.fail("titles", index, ct.ExternalKey, err)
		return nil
	}
	tx, err := imp.begin(ctx)
	if err != nil {
		return err
	}
	if err := savepoint(ctx, tx); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	id, outcome, err := imp.s.applyTitle(ctx, tx, &ct)
	if err != nil && apperr.From(err) == nil {
		return err
	}
	if xerr := endSavepoint(ctx, tx, err != nil || imp.dry); xerr != nil {
		return fmt.Errorf("import: %w", xerr)
	}
	if err != nil {
		imp.fail("titles", index, ct.ExternalKey, err)
		return nil
	}
	imp.pend.count(outcome)
	if imp.dry {
		return nil
	}
	imp.pendIDs = append(imp.pendIDs, id)
	if imp.inTx++; imp.inTx >= importBatch {
		return imp.finish(ctx, true)
	}
	return nil
}

// validate checks a row with the admin API's rules (TitleInput,
// SeasonInput and EpisodeInput), plus what only a file has: status,
// credits by name and duplicate numbers. Field names are paths within the
// row, such as seasons[0].episodes[2].number.
func (ct *CatalogTitle) validate() error {
	var f fieldErrs
	key := ct.ExternalKey
	in := TitleInput{ExternalKey: &key, Kind: ct.Kind, Name: ct.Name, OriginalName: ct.OriginalName, Synopsis: ct.Synopsis,
		ReleaseYear: ct.ReleaseYear, RuntimeMinutes: ct.RuntimeMinutes, MaturityRating: ct.MaturityRating, Languages: ct.Languages,
		Tags: ct.Tags, AvailableFrom: ct.AvailableFrom, AvailableUntil: ct.AvailableUntil, Genres: ct.Genres}
	f.nest("", in.validate())
	ct.Name = in.Name
	switch ct.Status {
	case "", StatusDraft, StatusPublished:
	default:
		f.add("status", "invalid", `Must be "draft" or "published".`)
	}
	for i, g := range ct.Genres {
		if !cleanText(g) {
			f.add(fmt.Sprintf("genres[%d]", i), "invalid", "Must be a genre slug.")
		}
	}
	if len(ct.Credits) > maxPeople {
		f.add("credits", "too_many", fmt.Sprintf("At most %d credits.", maxPeople))
	}
	seen := map[string]bool{}
	for i := range ct.Credits {
		c := &ct.Credits[i]
		field := fmt.Sprintf("credits[%d]", i)
		c.Name = strings.TrimSpace(c.Name)
		f.required(field+".name", c.Name, maxNameLen)
		f.credit(field, c.Role, c.Character)
		if c.Position != nil && (*c.Position < 0 || *c.Position > 10000) {
			f.add(field+".position", "out_of_range", "Must be a whole number from 0 to 10000.")
		}
		if k := c.Name + "\x00" + c.Role; seen[k] {
			f.add(field, "duplicate", "This person already has this role in the title.")
		} else {
			seen[k] = true
		}
	}
	if ct.Kind == KindMovie && len(ct.Seasons) > 0 {
		f.add("seasons", "not_series", ErrNotSeries.Message)
	}
	if len(ct.Seasons) > maxSeasons {
		f.add("seasons", "too_many", fmt.Sprintf("At most %d seasons.", maxSeasons))
	}
	seasonSeen := map[int]bool{}
	for i := range ct.Seasons {
		s := &ct.Seasons[i]
		field := fmt.Sprintf("seasons[%d]", i)
		f.nest(field+".", SeasonInput{Number: s.Number, Name: s.Name, Synopsis: s.Synopsis, Year: s.Year}.validate())
		if seasonSeen[s.Number] {
			f.add(field+".number", "duplicate", "Another season of this title has this number.")
		}
		seasonSeen[s.Number] = true
		if len(s.Episodes) > maxEpisodes {
			f.add(field+".episodes", "too_many", fmt.Sprintf("At most %d episodes.", maxEpisodes))
		}
		epSeen := map[int]bool{}
		for j := range s.Episodes {
			e := &s.Episodes[j]
			efield := fmt.Sprintf("%s.episodes[%d]", field, j)
			in := e.input()
			f.nest(efield+".", in.validate())
			e.Name = in.Name
			if epSeen[e.Number] {
				f.add(efield+".number", "duplicate", "Another episode of this season has this number.")
			}
			epSeen[e.Number] = true
		}
	}
	return f.err()
}

// nest adds err's field errors with their fields prefixed.
func (f *fieldErrs) nest(prefix string, err error) {
	e := apperr.From(err)
	if e == nil {
		return
	}
	for _, fe := range e.Fields {
		fe.Field = prefix + fe.Field
		*f = append(*f, fe)
	}
}

// keepVideos gives a row from a file the videos of cur (the title as it
// stands, nil for a new one), the movie's and each episode's by season
// and episode number: videos are the streaming module's to attach, so
// those a file names are ignored.
func (ct *CatalogTitle) keepVideos(cur *CatalogTitle) {
	ct.VideoID = nil
	videos := map[[2]int]*string{}
	if cur != nil {
		ct.VideoID = cur.VideoID
		for _, s := range cur.Seasons {
			for _, e := range s.Episodes {
				videos[[2]int{s.Number, e.Number}] = e.VideoID
			}
		}
	}
	for i := range ct.Seasons {
		s := &ct.Seasons[i]
		for j := range s.Episodes {
			e := &s.Episodes[j]
			e.VideoID = videos[[2]int{s.Number, e.Number}]
		}
	}
}

// normalize puts a row in the one form export writes, so that two rows
// describing the same title compare equal: what the row leaves out is
// taken from cur (the title as it stands, nil for a new one) where the
// format says so, lists are sorted where their order means nothing, and
// times are cut to what Postgres keeps.
func (ct *CatalogTitle) normalize(cur *CatalogTitle) {
	if ct.Status == "" {
		ct.Status = StatusDraft
		if cur != nil {
			ct.Status = cur.Status
		}
	}
	ct.Languages = nilIfEmpty(ct.Languages)
	ct.Tags = nilIfEmpty(ct.Tags)
	ct.AvailableFrom = dbTime(ct.AvailableFrom)
	ct.AvailableUntil = dbTime(ct.AvailableUntil)

	if len(ct.Genres) > 0 {
		gs := append([]string(nil), ct.Genres...)
		sort.Strings(gs)
		out := gs[:0]
		for i, g := range gs {
			if i == 0 || g != gs[i-1] {
				out = append(out, g)
			}
		}
		ct.Genres = out
	} else {
		ct.Genres = nil
	}

	for i := range ct.Credits {
		if ct.Credits[i].Position == nil {
			p := i
			ct.Credits[i].Position = &p
		}
	}
	sort.SliceStable(ct.Credits, func(i, j int) bool {
		a, b := ct.Credits[i], ct.Credits[j]
		if *a.Position != *b.Position {
			return *a.Position < *b.Position
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Role < b.Role
	})
	if len(ct.Credits) == 0 {
		ct.Credits = nil
	}

	sort.SliceStable(ct.Seasons, func(i, j int) bool { return ct.Seasons[i].Number < ct.Seasons[j].Number })
	for i := range ct.Seasons {
		s := &ct.Seasons[i]
		sort.SliceStable(s.Episodes, func(a, b int) bool { return s.Episodes[a].Number < s.Episodes[b].Number })
		if len(s.Episodes) == 0 {
			s.Episodes = nil
		}
	}
	if len(ct.Seasons) == 0 {
		ct.Seasons = nil
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// dbTime is t as Postgres stores it: UTC, to the microsecond.
func dbTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Round(time.Microsecond)
	return &u
}

// sameTitle reports whether a and b (both normalized) describe the same title.
func sameTitle(a, b *CatalogTitle) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// applyTitle creates or updates the title ct describes (already
// validated) in tx. It returns a validation error for what only the
// database can tell (an unknown genre, a kind that differs from the
// stored title's), or ErrExternalKey when another import created the
// key at the same moment.
func (s *Service) applyTitle(ctx context.Context, tx *sqlx.Tx, ct *CatalogTitle) (string, int, error) {
	id, keyed, err := findByExternalKey(ctx, tx, ct.ExternalKey)
	if err != nil {
		return "", 0, err
	}
	// A title found by id (made by hand, exported under its id) keeps
	// having no external key.
	key := &ct.ExternalKey
	if id != "" && !keyed {
		key = nil
	}
	var cur *CatalogTitle
	if id != "" {
		cs, err := catalogTitles(ctx, tx, []string{id})
		if err != nil {
			return "", 0, err
		}
		cur = &cs[0]
		if cur.Kind != ct.Kind {
			var f fieldErrs
			f.add("kind", "immutable", "The kind of a title cannot change.")
			return "", 0, f.err()
		}
	}
	ct.keepVideos(cur)
	ct.normalize(cur)
	if cur != nil && sameTitle(ct, cur) {
		return id, outUnchanged, nil
	}
	outcome := outUpdated
	if cur == nil {
		outcome, id = outCreated, newID()
	}
	people, err := personIDs(ctx, tx, ct.creditNames())
	if err != nil {
		return "", 0, err
	}
	rec := ct.record(id, key, people)
	rec.existing = cur != nil
	return id, outcome, writeTitle(ctx, tx, rec)
}

// creditNames are the names of ct's credits' people.
func (ct *CatalogTitle) creditNames() []string {
	names := make([]string, 0, len(ct.Credits))
	for _, c := range ct.Credits {
		names = append(names, c.Name)
	}
	return names
}

// record is ct (validated and normalized) as writeTitles stores it, under
// id and external key key, with people holding the id of each credit's
// person by name. Its seasons replace the title's.
func (ct *CatalogTitle) record(id string, key *string, people map[string]string) titleRecord {
	r := titleRecord{id: id, externalKey: key, kind: ct.Kind, name: ct.Name, originalName: ct.OriginalName,
		synopsis: ct.Synopsis, releaseYear: ct.ReleaseYear, runtimeMinutes: ct.RuntimeMinutes, rating: ct.MaturityRating,
		languages: ct.Languages, tags: ct.Tags, status: ct.Status, availableFrom: ct.AvailableFrom,
		availableUntil: ct.AvailableUntil, videoID: ct.VideoID, genres: ct.Genres, withSeasons: true, seasons: ct.Seasons}
	for _, c := range ct.Credits {
		r.credits = append(r.credits, credit{PersonID: people[c.Name], Role: c.Role, Character: c.Character, Position: *c.Position})
	}
	return r
}

// NewTitle is a title for AddTitles: a row of the catalog format and,
// for a published title, when it was first published.
type NewTitle struct {
	CatalogTitle
	// PublishedAt backdates a published title's first publication, which
	// orders browse lists (zero: the time of the write).
	PublishedAt time.Time
}

// AddTitles creates, in one transaction, the titles of ts whose external
// key no title has yet, and leaves the others as they are: the bulk load
// behind load tests (Import applies a file row by row, each in its own
// savepoint). It is safe to call from several goroutines at once. Each
// row is checked as Import checks it; the credits' people are found by
// name or created, as Import does, in a short transaction of their own.
// It returns how many titles it created, or a validation error naming the
// first row at fault (titles[i] and its field) and nothing is written.
// The cached catalog is invalidated when a title was created.
func (s *Service) AddTitles(ctx context.Context, ts []NewTitle) (int, error) {
	rows := make([]NewTitle, len(ts))
	keys := make([]string, len(ts))
	for i, t := range ts {
		if err := t.validate(); err != nil {
			var f fieldErrs
			f.nest(fmt.Sprintf("titles[%d].", i), err)
			return 0, f.err()
		}
		t.keepVideos(nil)
		t.normalize(nil)
		rows[i], keys[i] = t, t.ExternalKey
	}
	taken, err := takenKeys(ctx, s.db, keys)
	if err != nil {
		return 0, err
	}
	var names []string
	todo := rows[:0]
	for _, t := range rows {
		if !taken[t.ExternalKey] {
			todo = append(todo, t)
			names = append(names, t.creditNames()...)
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	var people map[string]string
	if err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) (err error) {
		// One writer of new people and search words at a time: two batches
		// naming the same new person create it once, and the titles'
		// transactions then find their words in the lexicon instead of
		// taking the words' index locks in different orders (a deadlock).
		if err := lockPeople(ctx, tx); err != nil {
			return err
		}
		if people, err = personIDs(ctx, tx, names); err != nil {
			return err
		}
		return addSearchWords(ctx, tx, todo)
	}); err != nil {
		return 0, err
	}
	recs := make([]titleRecord, len(todo))
	for i, t := range todo {
		key := t.ExternalKey
		recs[i] = t.record(newID(), &key, people)
		if !t.PublishedAt.IsZero() {
			at := t.PublishedAt
			recs[i].publishedAt = &at
		}
	}
	created := 0
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		written, err := writeTitles(ctx, tx, recs)
		for _, w := range written {
			if w {
				created++
			}
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	if created > 0 {
		s.bump(ctx)
	}
	return created, nil
}
