package reco

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// Handler serves reco's routes.
type Handler struct{ s *Service }

// NewHandler returns the HTTP handler of s.
func NewHandler(s *Service) *Handler { return &Handler{s: s} }

// ModelList is every recorded model, newest first.
type ModelList struct {
	Items []ModelInfo `json:"items"`
}

// ModelInfo is one retrain's model and every candidate's validation figures.
type ModelInfo struct {
	Version      int64             `json:"version"`
	Model        string            `json:"model"`
	Kind         string            `json:"kind" jsonschema:"enum=item_item,enum=popularity"`
	Candidates   []CandidateResult `json:"candidates"`
	Profiles     int               `json:"profiles"`
	Items        int               `json:"items"`
	Interactions int               `json:"interactions"`
	TrainMS      int64             `json:"train_ms"`
	PeakBytes    int64             `json:"peak_bytes"`
	TrainedAt    time.Time         `json:"trained_at"`
}

// TrainQueued is POST /admin/reco/train's answer.
type TrainQueued struct {
	JobID int64 `json:"job_id"`
	// Duplicate is true when a retrain was already waiting or running.
	Duplicate bool `json:"duplicate"`
}

var (
	titleIDParam = api.Param{Name: "id", In: "path", Required: true, Format: "uuid", Description: "The title's id."}
	listIDParam  = api.Param{Name: "title_id", In: "path", Required: true, Format: "uuid", Description: "The title's id."}
	rowParam     = api.Param{Name: "row", Required: true, Description: "top, because, trending, my-list, new, continue or genre:{slug}."}
	seedParam    = api.Param{Name: "title_id", Format: "uuid", Description: "With row=because: the watched title (default: the latest finished)."}
)

// Routes mounts reco's routes.
func (h *Handler) Routes(r api.Routes) {
	r.Handle(api.Op{Method: "POST", Path: "/events", ID: "eventsRecord", Tag: "recommendations", Access: api.Profile, Status: http.StatusAccepted,
		Summary: "Report a batch of 1 to 100 player events (seek, error, rebuffer) for the analytics log. Each event's id makes a batch sent again count once. " +
			"Accepted events are written within a second.",
		Request: EventBatch{}, Response: Accepted{}, MaxBody: 256 << 10,
		Example: EventBatch{Events: []ClientEvent{{ID: "0b8f6c1e-7a51-4f3e-9a55-2f3b9d1c4e77", Kind: KindRebuffer, At: time.Date(2026, 1, 1, 20, 0, 0, 0, time.UTC),
			TitleID: "7f1d6b5e-2c4a-4e0b-9a8e-3b2f1c0d4e5a", PositionS: ptr(312.5), DurationMS: ptr(1800)}}}}, h.handleEvents)
	r.Handle(api.Op{Method: "PUT", Path: "/titles/{id}/rating", ID: "titleRate", Tag: "recommendations", Access: api.Profile,
		Summary: `Rate a title for the profile: "up", "down", or null to take the rating back. A thumbs-down title never comes back in a row.`,
		Request: Rating{}, Response: RatingState{}, Params: []api.Param{titleIDParam}, Example: Rating{Rating: ptr("up")},
		Errors: []*apperr.Error{ErrTitleNotFound}}, h.handleRating)
	r.Handle(api.Op{Method: "GET", Path: "/my-list", ID: "myListGet", Tag: "recommendations", Access: api.Profile,
		Summary: "The profile's My List, most recently added first.", Response: MyList{}}, h.handleList)
	r.Handle(api.Op{Method: "PUT", Path: "/my-list/{title_id}", ID: "myListAdd", Tag: "recommendations", Access: api.Profile,
		Summary: "Add a title to My List (adding it again changes nothing).", Params: []api.Param{listIDParam},
		Errors: []*apperr.Error{ErrTitleNotFound}}, h.handleListed(true))
	r.Handle(api.Op{Method: "DELETE", Path: "/my-list/{title_id}", ID: "myListRemove", Tag: "recommendations", Access: api.Profile,
		Summary: "Take a title off My List (taking it off again changes nothing).", Params: []api.Param{listIDParam},
		Errors: []*apperr.Error{ErrTitleNotFound}}, h.handleListed(false))
	r.Handle(api.Op{Method: "GET", Path: "/recommendations/picks", ID: "picksGet", Tag: "recommendations", Access: api.Profile,
		Summary: "The titles and genres the profile said it likes when it was made.", Response: Picks{}}, h.handlePicksGet)
	r.Handle(api.Op{Method: "PUT", Path: "/recommendations/picks", ID: "picksSet", Tag: "recommendations", Access: api.Profile,
		Summary: "Say which titles (up to 20) and genres (up to 10) a new profile likes: until it has a history its rows come from them and popularity.",
		Request: Picks{}, Response: Picks{}, Example: Picks{TitleIDs: []string{"7f1d6b5e-2c4a-4e0b-9a8e-3b2f1c0d4e5a"}, Genres: []string{"drama"}}}, h.handlePicksSet)
	r.Handle(api.Op{Method: "GET", Path: "/recommendations/rows", ID: "recommendationRows", Tag: "recommendations", Access: api.Profile,
		Summary: "The profile's home rows, in order: Continue watching, Top picks, Because you watched (one or two), Trending now, My List, " +
			"New releases, then genre rows by the profile's taste; each with its reason. Page a row with GET /recommendations?row=.",
		Response: Rows{}}, h.handleRows)
	r.Handle(api.Op{Method: "GET", Path: "/recommendations", ID: "recommendationRow", Tag: "recommendations", Access: api.Profile,
		Summary:  "One row of recommendations, paged.",
		Response: RowPage{}, Params: []api.Param{rowParam, seedParam, api.LimitParam, api.CursorParam}}, h.handleRow)

	r.Handle(api.Op{Method: "GET", Path: "/admin/reco/models", ID: "adminRecoModels", Tag: "recommendations-admin", Access: api.Admin,
		Summary: "The last retrains: the model chosen for Top picks and every candidate's validation P@10, R@10 and NDCG@10.", Response: ModelList{}}, h.handleModels)
	r.Handle(api.Op{Method: "POST", Path: "/admin/reco/train", ID: "adminRecoTrain", Tag: "recommendations-admin", Access: api.Admin, Status: http.StatusAccepted,
		Summary: "Queue a retrain now (one at a time; a retrain already waiting or running is answered with duplicate true).", Response: TrainQueued{}}, h.handleTrain)
}

func ptr[T any](v T) *T { return &v }

func viewer(r *http.Request) Viewer {
	p := api.PrincipalFrom(r.Context())
	if p == nil {
		return Viewer{}
	}
	return Viewer{AccountID: p.UserID, ProfileID: p.ProfileID, MaturityLevel: p.MaturityLevel, Kids: p.Kids}
}

func (h *Handler) handleEvents(w http.ResponseWriter, r *http.Request) {
	var b EventBatch
	if err := api.Decode(r, &b); err != nil {
		api.WriteError(w, r, err)
		return
	}
	out, err := h.s.RecordClient(r.Context(), viewer(r), b)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusAccepted, out)
}

func (h *Handler) handleRating(w http.ResponseWriter, r *http.Request) {
	var in Rating
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	out, err := h.s.SetRating(r.Context(), viewer(r), chi.URLParam(r, "id"), in)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, out)
}

func (h *Handler) handleList(w http.ResponseWriter, r *http.Request) {
	out, err := h.s.List(r.Context(), viewer(r))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, out)
}

func (h *Handler) handleListed(listed bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h.s.SetListed(r.Context(), viewer(r), chi.URLParam(r, "title_id"), listed); err != nil {
			api.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *Handler) handlePicksGet(w http.ResponseWriter, r *http.Request) {
	out, err := h.s.GetPicks(r.Context(), viewer(r))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, out)
}

func (h *Handler) handlePicksSet(w http.ResponseWriter, r *http.Request) {
	var in Picks
	if err := api.Decode(r, &in); err != nil {
		api.WriteError(w, r, err)
		return
	}
	out, err := h.s.SetPicks(r.Context(), viewer(r), in)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, out)
}

func (h *Handler) handleRows(w http.ResponseWriter, r *http.Request) {
	out, err := h.s.Home(r.Context(), viewer(r))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, out)
}

func (h *Handler) handleRow(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > api.MaxLimit {
			api.WriteError(w, r, apperr.Validation(apperr.FieldError{Field: "limit", Code: "out_of_range", Message: "Must be 1 to 100."}))
			return
		}
		limit = n
	}
	out, err := h.s.Recommendations(r.Context(), viewer(r), q.Get("row"), q.Get("title_id"), limit, q.Get("cursor"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, out)
}

func (h *Handler) handleModels(w http.ResponseWriter, r *http.Request) {
	rows, err := h.s.Models(r.Context())
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	out := ModelList{Items: []ModelInfo{}}
	for _, m := range rows {
		out.Items = append(out.Items, m.info())
	}
	api.JSON(w, http.StatusOK, out)
}

func (h *Handler) handleTrain(w http.ResponseWriter, r *http.Request) {
	var out TrainQueued
	err := pg.InTx(r.Context(), h.s.db, func(tx *sqlx.Tx) error {
		res, err := h.s.queue.InsertTx(r.Context(), tx.Tx, TrainArgs{Force: true}, nil)
		if err != nil {
			return err
		}
		out = TrainQueued{JobID: res.Job.ID, Duplicate: res.UniqueSkippedAsDuplicate}
		return nil
	})
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusAccepted, out)
}
