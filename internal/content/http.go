package content

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Handler serves the content module's routes.
type Handler struct{ s *Service }

// NewHandler returns the HTTP handler over s.
func NewHandler(s *Service) *Handler { return &Handler{s: s} }

// Response bodies.
type (
	// GenreList is every genre.
	GenreList struct {
		Items []Genre `json:"items"`
	}
)

var (
	genreParam = api.Param{Name: "genre", Description: "Genre slug."}
	kindParam  = api.Param{Name: "kind", Description: `"movie" or "series".`}
	yearParam  = api.Param{Name: "year", Type: "integer", Description: "Release year."}
	langParam  = api.Param{Name: "language", Description: `Language code, such as "en".`}
	qParam     = api.Param{Name: "q", Required: true, Description: "What to search for (at most 200 characters)."}
)

// Routes mounts the routes.
func (h *Handler) Routes(r api.Routes) {
	// Viewers: a profile must be selected; its maturity ceiling filters everything.
	r.Handle(api.Op{Method: "GET", Path: "/catalog/home", ID: "catalogHome", Tag: "catalog", Access: api.Profile,
		Summary:  "Home rows: new releases, then one row per genre; page a row with GET /titles?genre=&cursor=. Cached; answers 304 to If-None-Match.",
		Response: Home{}, Answers: []api.Answer{api.NotModified}}, h.handleHome)
	r.Handle(api.Op{Method: "GET", Path: "/titles", ID: "titlesList", Tag: "catalog", Access: api.Profile,
		Summary: "Titles the profile may watch, newest first.", Response: Page{},
		Params: []api.Param{genreParam, kindParam, yearParam, langParam, api.LimitParam, api.CursorParam}}, h.handleTitles)
	r.Handle(api.Op{Method: "GET", Path: "/titles/{id}", ID: "titleGet", Tag: "catalog", Access: api.Profile,
		Summary:  "A title page: details, people, seasons and episodes, related titles. 404 when the profile may not see it. Cached; answers 304 to If-None-Match.",
		Response: TitleDetails{}, Errors: []*apperr.Error{ErrTitleNotFound}, Answers: []api.Answer{api.NotModified}}, h.handleTitle)
	r.Handle(api.Op{Method: "GET", Path: "/titles/{id}/seasons", ID: "titleSeasons", Tag: "catalog", Access: api.Profile,
		Summary: "A series' seasons with their episodes.", Response: SeasonList{}, Errors: []*apperr.Error{ErrTitleNotFound}}, h.handleSeasons)
	r.Handle(api.Op{Method: "GET", Path: "/search", ID: "search", Tag: "catalog", Access: api.Profile,
		Summary: "Full-text search over names, people, tags and synopsis, tolerant of typos.", Response: Page{},
		Params: []api.Param{qParam, genreParam, kindParam, yearParam, langParam, api.LimitParam, api.CursorParam}}, h.handleSearch)
	r.Handle(api.Op{Method: "GET", Path: "/search/suggest", ID: "searchSuggest", Tag: "catalog", Access: api.Profile,
		Summary: "Up to 10 titles whose name starts with q.", Response: SuggestList{}, Params: []api.Param{qParam}}, h.handleSuggest)
	r.Handle(api.Op{Method: "GET", Path: "/genres", ID: "genresList", Tag: "catalog", Access: api.Public,
		Summary: "Every genre.", Response: GenreList{}}, h.handleGenres)

	// Operators.
	r.Handle(api.Op{Method: "POST", Path: "/admin/titles", ID: "adminTitleCreate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Add a title as a draft.", Request: TitleInput{}, Response: AdminTitle{}, Status: http.StatusCreated, Errors: []*apperr.Error{ErrExternalKey}}, h.handleTitleCreate)
	r.Handle(api.Op{Method: "GET", Path: "/admin/titles/{id}", ID: "adminTitleGet", Tag: "catalog-admin", Access: api.Admin,
		Summary: "A title whatever its status.", Response: AdminTitle{}, Errors: []*apperr.Error{ErrTitleNotFound}}, h.handleAdminTitle)
	r.Handle(api.Op{Method: "PATCH", Path: "/admin/titles/{id}", ID: "adminTitleUpdate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Change a title: fields sent replace the current ones (null clears; genres and people replace the lists).",
		Request: TitleInput{}, Patch: true, Response: AdminTitle{}, Errors: []*apperr.Error{ErrTitleNotFound, ErrExternalKey}}, h.handleTitleUpdate)
	r.Handle(api.Op{Method: "DELETE", Path: "/admin/titles/{id}", ID: "adminTitleDelete", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Delete a title with its seasons and episodes.", Errors: []*apperr.Error{ErrTitleNotFound}}, h.handleTitleDelete)
	r.Handle(api.Op{Method: "POST", Path: "/admin/titles/{id}/publish", ID: "adminTitlePublish", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Publish a title (viewers see it inside its availability window).", Response: AdminTitle{}, Errors: []*apperr.Error{ErrTitleNotFound}}, h.publish(true))
	r.Handle(api.Op{Method: "POST", Path: "/admin/titles/{id}/unpublish", ID: "adminTitleUnpublish", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Return a title to draft.", Response: AdminTitle{}, Errors: []*apperr.Error{ErrTitleNotFound}}, h.publish(false))
	r.Handle(api.Op{Method: "PUT", Path: "/admin/titles/{id}/artwork/{slot}", ID: "adminArtworkPut", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Upload a title's poster or backdrop (slot): the raw image as the body, JPEG, PNG, WebP or GIF, at most 10 MiB and 50 megapixels; " +
			"a poster at least 342 px wide and portrait, a backdrop at least 780 px wide and landscape. The image is re-encoded as JPEG at standard widths " +
			"and replaces the slot's image. 415 unsupported_image, 413 body_too_large, 422 invalid_image, image_too_large, image_too_small or bad_aspect_ratio.",
		RequestTypes: []string{"image/jpeg", "image/png", "image/webp", "image/gif"}, Response: AdminTitle{}, MaxBody: MaxArtworkBytes, Params: []api.Param{{Name: "slot", In: "path", Enum: []string{"poster", "backdrop"}, Description: "Which image: poster or backdrop."}}, Errors: []*apperr.Error{ErrTitleNotFound, ErrArtworkSlot, ErrUnsupportedType, ErrArtworkTooBig, ErrInvalidImage, ErrImageTooLarge}}, h.handleArtworkPut)
	r.Handle(api.Op{Method: "DELETE", Path: "/admin/titles/{id}/artwork/{slot}", ID: "adminArtworkDelete", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Remove a title's poster or backdrop (slot).", Params: []api.Param{{Name: "slot", In: "path", Enum: []string{"poster", "backdrop"}, Description: "Which image: poster or backdrop."}}, Errors: []*apperr.Error{ErrTitleNotFound, ErrArtworkSlot}}, h.handleArtworkDelete)
	r.Handle(api.Op{Method: "POST", Path: "/admin/titles/{id}/seasons", ID: "adminSeasonCreate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Add a season to a series.", Request: SeasonInput{}, Response: Season{}, Status: http.StatusCreated, Errors: []*apperr.Error{ErrTitleNotFound, ErrNotSeries, ErrSeasonTaken}}, h.handleSeasonCreate)
	r.Handle(api.Op{Method: "GET", Path: "/admin/seasons/{id}", ID: "adminSeasonGet", Tag: "catalog-admin", Access: api.Admin,
		Summary: "A season with its episodes.", Response: Season{}, Errors: []*apperr.Error{ErrSeasonNotFound}}, h.handleSeasonGet)
	r.Handle(api.Op{Method: "PATCH", Path: "/admin/seasons/{id}", ID: "adminSeasonUpdate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Change a season.", Request: SeasonInput{}, Patch: true, Response: Season{}, Errors: []*apperr.Error{ErrSeasonNotFound, ErrSeasonTaken}}, h.handleSeasonUpdate)
	r.Handle(api.Op{Method: "DELETE", Path: "/admin/seasons/{id}", ID: "adminSeasonDelete", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Delete a season and its episodes.", Errors: []*apperr.Error{ErrSeasonNotFound}}, h.handleSeasonDelete)
	r.Handle(api.Op{Method: "POST", Path: "/admin/seasons/{id}/episodes", ID: "adminEpisodeCreate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Add an episode to a season.", Request: EpisodeInput{}, Response: Episode{}, Status: http.StatusCreated, Errors: []*apperr.Error{ErrSeasonNotFound, ErrEpisodeTaken}}, h.handleEpisodeCreate)
	r.Handle(api.Op{Method: "GET", Path: "/admin/episodes/{id}", ID: "adminEpisodeGet", Tag: "catalog-admin", Access: api.Admin,
		Summary: "An episode.", Response: Episode{}, Errors: []*apperr.Error{ErrEpisodeNotFound}}, h.handleEpisodeGet)
	r.Handle(api.Op{Method: "PATCH", Path: "/admin/episodes/{id}", ID: "adminEpisodeUpdate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Change an episode.", Request: EpisodeInput{}, Patch: true, Response: Episode{}, Errors: []*apperr.Error{ErrEpisodeNotFound, ErrEpisodeTaken}}, h.handleEpisodeUpdate)
	r.Handle(api.Op{Method: "DELETE", Path: "/admin/episodes/{id}", ID: "adminEpisodeDelete", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Delete an episode.", Errors: []*apperr.Error{ErrEpisodeNotFound}}, h.handleEpisodeDelete)
	r.Handle(api.Op{Method: "POST", Path: "/admin/catalog/import", ID: "adminCatalogImport", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Import a catalog file (format streamflix.catalog, version 1; at most 64 MiB, read as a stream): genres by slug, then titles by " +
			"external_key, created or updated in place, each whole or not at all. Answers 200 with counts and the errors of rows left out. " +
			"The file has the shape of GET /admin/catalog/export's body (CatalogFile); it is given here as raw JSON because rows that break " +
			"that schema are not refused with the file but reported one by one.",
		RequestTypes: []string{"application/json"}, Response: ImportReport{}, MaxBody: MaxImportBytes, Stream: true,
		Params: []api.Param{{Name: "dry_run", Type: "boolean", Description: "true: check every row against the catalog, write nothing."}}}, h.handleImport)
	r.Handle(api.Op{Method: "GET", Path: "/admin/catalog/export", ID: "adminCatalogExport", Tag: "catalog-admin", Access: api.Admin,
		Summary:  "The whole catalog as a catalog file (the import format), streamed from one consistent snapshot.",
		Response: CatalogFile{}, Stream: true}, h.handleExport)
	r.Handle(api.Op{Method: "POST", Path: "/admin/genres", ID: "adminGenreCreate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Add a genre.", Request: GenreInput{}, Response: Genre{}, Status: http.StatusCreated, Errors: []*apperr.Error{ErrGenreTaken}}, h.handleGenreCreate)
	r.Handle(api.Op{Method: "PATCH", Path: "/admin/genres/{id}", ID: "adminGenreUpdate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Change a genre.", Request: GenreInput{}, Response: Genre{}, Errors: []*apperr.Error{ErrGenreNotFound, ErrGenreTaken}}, h.handleGenreUpdate)
	r.Handle(api.Op{Method: "DELETE", Path: "/admin/genres/{id}", ID: "adminGenreDelete", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Delete a genre.", Errors: []*apperr.Error{ErrGenreNotFound}}, h.handleGenreDelete)
	r.Handle(api.Op{Method: "POST", Path: "/admin/people", ID: "adminPersonCreate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Add a person.", Request: PersonInput{}, Response: Person{}, Status: http.StatusCreated}, h.handlePersonCreate)
	r.Handle(api.Op{Method: "PATCH", Path: "/admin/people/{id}", ID: "adminPersonUpdate", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Rename a person.", Request: PersonInput{}, Response: Person{}, Errors: []*apperr.Error{ErrPersonNotFound}}, h.handlePersonUpdate)
	r.Handle(api.Op{Method: "DELETE", Path: "/admin/people/{id}", ID: "adminPersonDelete", Tag: "catalog-admin", Access: api.Admin,
		Summary: "Delete a person.", Errors: []*apperr.Error{ErrPersonNotFound}}, h.handlePersonDelete)
}

func viewer(r *http.Request) Viewer {
	return Viewer{MaturityLevel: api.PrincipalFrom(r.Context()).MaturityLevel}
}

// filter reads the list filters from the query string.
func filter(r *http.Request) (Filter, error) {
	qs := r.URL.Query()
	f := Filter{Genre: qs.Get("genre"), Kind: qs.Get("kind"), Language: qs.Get("language"), Cursor: qs.Get("cursor")}
	var err error
	if f.Limit, err = api.Limit(r); err != nil {
		return f, err
	}
	if y := qs.Get("year"); y != "" {
		n, err := strconv.Atoi(strings.TrimSpace(y))
		if err != nil || n == 0 {
			return f, apperr.Validation(apperr.FieldError{Field: "year", Code: "invalid", Message: "Must be a year such as 1942."})
		}
		f.Year = n
	}
	return f, nil
}

// writeCached writes a cacheable JSON body with its ETag, or 304 when the
// client already holds it.
func writeCached(w http.ResponseWriter, r *http.Request, c Cached) {
	etag := c.ETag
	h := w.Header()
	h.Set("ETag", etag)
	// private: the body depends on the profile's ceiling; Vary keeps a
	// browser from reusing one profile's page for another's token.
	h.Set("Cache-Control", "private, max-age=60")
	h.Set("Vary", "Authorization")
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == etag || t == "*" {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(c.Body)
	_, _ = w.Write([]byte("\n"))
}

func (h *Handler) handleHome(w http.ResponseWriter, r *http.Request) {
	b, err := h.s.HomeJSON(r.Context(), viewer(r))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	writeCached(w, r, b)
}

func (h *Handler) handleTitles(w http.ResponseWriter, r *http.Request) {
	f, err := filter(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	p, err := h.s.Titles(r.Context(), viewer(r), f)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, p)
}

func (h *Handler) handleTitle(w http.ResponseWriter, r *http.Request) {
	b, err := h.s.TitleJSON(r.Context(), viewer(r), chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	writeCached(w, r, b)
}

func (h *Handler) handleSeasons(w http.ResponseWriter, r *http.Request) {
	l, err := h.s.Seasons(r.Context(), viewer(r), chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, l)
}

func (h *Handler) handleSearch(w http.ResponseWriter, r *http.Request) {
	f, err := filter(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	p, err := h.s.Search(r.Context(), viewer(r), r.URL.Query().Get("q"), f)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, p)
}

func (h *Handler) handleSuggest(w http.ResponseWriter, r *http.Request) {
	l, err := h.s.Suggest(r.Context(), viewer(r), r.URL.Query().Get("q"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, l)
}

func (h *Handler) handleGenres(w http.ResponseWriter, r *http.Request) {
	gs, err := h.s.Genres(r.Context())
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, GenreList{Items: gs})
}

// write decodes in, calls fn and writes its result with status.
func write[I, O any](w http.ResponseWriter, r *http.Request, in *I, status int, fn func(*I) (O, error)) {
	if err := api.Decode(r, in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	out, err := fn(in)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, status, out)
}

func noContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handleTitleCreate(w http.ResponseWriter, r *http.Request) {
	write(w, r, &TitleInput{}, http.StatusCreated, func(in *TitleInput) (AdminTitle, error) { return h.s.CreateTitle(r.Context(), *in) })
}

func (h *Handler) handleAdminTitle(w http.ResponseWriter, r *http.Request) {
	t, err := h.s.AdminTitle(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, t)
}

func (h *Handler) handleTitleUpdate(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	cur, err := h.s.TitleInput(r.Context(), id)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	// The body is decoded over the current values: fields it leaves out stay.
	write(w, r, &cur, http.StatusOK, func(in *TitleInput) (AdminTitle, error) { return h.s.UpdateTitle(r.Context(), id, *in) })
}

func (h *Handler) handleTitleDelete(w http.ResponseWriter, r *http.Request) {
	noContent(w, r, h.s.DeleteTitle(r.Context(), chi.URLParam(r, "id")))
}

func (h *Handler) publish(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := h.s.SetPublished(r.Context(), chi.URLParam(r, "id"), on)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		api.JSON(w, http.StatusOK, t)
	}
}

func (h *Handler) handleArtworkPut(w http.ResponseWriter, r *http.Request) {
	t, err := h.s.SetArtwork(r.Context(), chi.URLParam(r, "id"), chi.URLParam(r, "slot"), r.Body, r.Header.Get("Content-Type"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, t)
}

func (h *Handler) handleArtworkDelete(w http.ResponseWriter, r *http.Request) {
	noContent(w, r, h.s.DeleteArtwork(r.Context(), chi.URLParam(r, "id"), chi.URLParam(r, "slot")))
}

func (h *Handler) handleSeasonCreate(w http.ResponseWriter, r *http.Request) {
	write(w, r, &SeasonInput{}, http.StatusCreated, func(in *SeasonInput) (Season, error) {
		return h.s.CreateSeason(r.Context(), chi.URLParam(r, "id"), *in)
	})
}

func (h *Handler) handleSeasonGet(w http.ResponseWriter, r *http.Request) {
	s, err := h.s.Season(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, s)
}

func (h *Handler) handleSeasonUpdate(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	cur, err := h.s.Season(r.Context(), id)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	in := SeasonInput{Number: cur.Number, Name: cur.Name, Synopsis: cur.Synopsis, Year: cur.Year}
	write(w, r, &in, http.StatusOK, func(in *SeasonInput) (Season, error) { return h.s.UpdateSeason(r.Context(), id, *in) })
}

func (h *Handler) handleSeasonDelete(w http.ResponseWriter, r *http.Request) {
	noContent(w, r, h.s.DeleteSeason(r.Context(), chi.URLParam(r, "id")))
}

func (h *Handler) handleEpisodeCreate(w http.ResponseWriter, r *http.Request) {
	write(w, r, &EpisodeInput{}, http.StatusCreated, func(in *EpisodeInput) (Episode, error) {
		return h.s.CreateEpisode(r.Context(), chi.URLParam(r, "id"), *in)
	})
}

func (h *Handler) handleEpisodeGet(w http.ResponseWriter, r *http.Request) {
	e, err := h.s.Episode(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, e)
}

func (h *Handler) handleEpisodeUpdate(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	cur, err := h.s.Episode(r.Context(), id)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	in := EpisodeInput{Number: cur.Number, Name: cur.Name, Synopsis: cur.Synopsis, RuntimeMinutes: cur.RuntimeMinutes}
	write(w, r, &in, http.StatusOK, func(in *EpisodeInput) (Episode, error) { return h.s.UpdateEpisode(r.Context(), id, *in) })
}

func (h *Handler) handleEpisodeDelete(w http.ResponseWriter, r *http.Request) {
	noContent(w, r, h.s.DeleteEpisode(r.Context(), chi.URLParam(r, "id")))
}

func (h *Handler) handleImport(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			api.WriteError(w, r, api.ErrUnsupportedType)
			return
		}
	}
	var opt ImportOptions
	if v := r.URL.Query().Get("dry_run"); v != "" {
		dry, err := strconv.ParseBool(v)
		if err != nil {
			api.WriteError(w, r, apperr.Validation(apperr.FieldError{Field: "dry_run", Code: "invalid", Message: "Must be true or false."}))
			return
		}
		opt.DryRun = dry
	}
	rep, err := h.s.Import(r.Context(), r.Body, opt)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, rep)
}

// writeCounter counts the bytes that reached the client.
type writeCounter struct {
	w io.Writer
	n int64
}

func (c *writeCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (h *Handler) handleExport(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Disposition", `attachment; filename="streamflix-catalog.json"`)
	hd.Set("Cache-Control", "no-store")
	wc := &writeCounter{w: w}
	err := h.s.Export(r.Context(), wc)
	switch {
	case err == nil:
	case wc.n == 0:
		hd.Del("Content-Disposition")
		api.WriteError(w, r, err)
	default:
		// The status is sent: cut the connection so that the client sees
		// a truncated file rather than a complete-looking one.
		zerolog.Ctx(r.Context()).Error().Err(err).Int64("bytes_sent", wc.n).Msg("catalog export failed mid-stream")
		panic(http.ErrAbortHandler)
	}
}

func (h *Handler) handleGenreCreate(w http.ResponseWriter, r *http.Request) {
	write(w, r, &GenreInput{}, http.StatusCreated, func(in *GenreInput) (Genre, error) { return h.s.CreateGenre(r.Context(), *in) })
}

func (h *Handler) handleGenreUpdate(w http.ResponseWriter, r *http.Request) {
	write(w, r, &GenreInput{}, http.StatusOK, func(in *GenreInput) (Genre, error) {
		return h.s.UpdateGenre(r.Context(), chi.URLParam(r, "id"), *in)
	})
}

func (h *Handler) handleGenreDelete(w http.ResponseWriter, r *http.Request) {
	noContent(w, r, h.s.DeleteGenre(r.Context(), chi.URLParam(r, "id")))
}

func (h *Handler) handlePersonCreate(w http.ResponseWriter, r *http.Request) {
	write(w, r, &PersonInput{}, http.StatusCreated, func(in *PersonInput) (Person, error) { return h.s.CreatePerson(r.Context(), *in) })
}

func (h *Handler) handlePersonUpdate(w http.ResponseWriter, r *http.Request) {
	write(w, r, &PersonInput{}, http.StatusOK, func(in *PersonInput) (Person, error) {
		return h.s.UpdatePerson(r.Context(), chi.URLParam(r, "id"), *in)
	})
}

func (h *Handler) handlePersonDelete(w http.ResponseWriter, r *http.Request) {
	noContent(w, r, h.s.DeletePerson(r.Context(), chi.URLParam(r, "id")))
}
