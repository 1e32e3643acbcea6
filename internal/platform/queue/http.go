package queue

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Admin serves the operators' view of the queue: counts by queue, kind and
// state, a filtered job list (failed deliveries among them), and retry and
// cancel.
type Admin struct {
	q  *Queue
	db *sqlx.DB
}

// NewAdmin returns the admin view over q.
func NewAdmin(q *Queue, db *sqlx.DB) *Admin { return &Admin{q: q, db: db} }

// Count is the number of jobs of one kind in one state on one queue.
type Count struct {
	Queue string `json:"queue" db:"queue"`
	Kind  string `json:"kind" db:"kind"`
	State string `json:"state" db:"state" jsonschema:"enum=available,enum=cancelled,enum=completed,enum=discarded,enum=pending,enum=retryable,enum=running,enum=scheduled"`
	Count int64  `json:"count" db:"count"`
}

// Job is a job as shown to operators.
type Job struct {
	ID          int64      `json:"id"`
	Queue       string     `json:"queue"`
	Kind        string     `json:"kind"`
	State       string     `json:"state" jsonschema:"enum=available,enum=cancelled,enum=completed,enum=discarded,enum=pending,enum=retryable,enum=running,enum=scheduled"`
	Attempt     int        `json:"attempt"`
	MaxAttempts int        `json:"max_attempts"`
	CreatedAt   time.Time  `json:"created_at"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	FinalizedAt *time.Time `json:"finalized_at,omitempty"`
	// Errors lists the error of each failed attempt, oldest first.
	Errors    []string `json:"errors"`
	RequestID string   `json:"request_id,omitempty"`
}

// JobsPage is GET /api/v1/admin/jobs's body.
type JobsPage struct {
	Counts     []Count `json:"counts"`
	Items      []Job   `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// Errors of the admin routes.
var (
	ErrJobNotFound = apperr.New(apperr.NotFound, "job_not_found", "No job has this id.")
	ErrBadState    = apperr.Validation(apperr.FieldError{Field: "state", Code: "invalid", Message: "Must be one of available, cancelled, completed, discarded, pending, retryable, running, scheduled."})
	ErrBadCursor   = apperr.Validation(apperr.FieldError{Field: "cursor", Code: "invalid", Message: "Not a cursor from a previous page."})
	ErrJobRunning  = apperr.New(apperr.Conflict, "job_running", "The job is running; cancel it first or wait for it to finish.")
)

// Routes mounts the admin routes.
func (a *Admin) Routes(r api.Routes) {
	r.Handle(api.Op{Method: "GET", Path: "/admin/jobs", ID: "adminJobsList", Tag: "platform", Access: api.Admin,
		Summary:  "Job counts by queue, kind and state, and jobs filtered by state, queue and kind, newest first.",
		Params:   []api.Param{{Name: "state"}, {Name: "queue"}, {Name: "kind"}, api.LimitParam, api.CursorParam},
		Response: JobsPage{}}, a.handleList)
	r.Handle(api.Op{Method: "POST", Path: "/admin/jobs/{id}/retry", ID: "adminJobRetry", Tag: "platform", Access: api.Admin,
		Summary: "Run a job again now (a failed, discarded, cancelled or completed one).", Response: Job{}, Params: []api.Param{{Name: "id", In: "path", Type: "integer", Description: "The job's id."}}, Errors: []*apperr.Error{ErrJobNotFound, ErrJobRunning}}, a.handleRetry)
	r.Handle(api.Op{Method: "POST", Path: "/admin/jobs/{id}/cancel", ID: "adminJobCancel", Tag: "platform", Access: api.Admin,
		Summary: "Cancel a job that has not finished.", Response: Job{}, Params: []api.Param{{Name: "id", In: "path", Type: "integer", Description: "The job's id."}}, Errors: []*apperr.Error{ErrJobNotFound}}, a.handleCancel)
}

// Counts returns job counts grouped by queue, kind and state.
func (a *Admin) Counts(ctx context.Context) ([]Count, error) {
	out := []Count{}
	err := a.db.SelectContext(ctx, &out, `
		SELECT queue, kind, state::text AS state, count(*) AS count
		FROM river.river_job GROUP BY queue, kind, state ORDER BY queue, kind, state`)
	return out, err
}

func (a *Admin) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := api.Limit(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	params := river.NewJobListParams().First(limit).OrderBy(river.JobListOrderByID, river.SortOrderDesc)
	if s := q.Get("state"); s != "" {
		var states []rivertype.JobState
		for _, part := range strings.Split(s, ",") {
			st := rivertype.JobState(strings.TrimSpace(part))
			if !validState(st) {
				api.WriteError(w, r, ErrBadState)
				return
			}
			states = append(states, st)
		}
		params = params.States(states...)
	}
	if s := q.Get("queue"); s != "" {
		params = params.Queues(strings.Split(s, ",")...)
	}
	if s := q.Get("kind"); s != "" {
		params = params.Kinds(strings.Split(s, ",")...)
	}
	if c := q.Get("cursor"); c != "" {
		var cur river.JobListCursor
		if err := cur.UnmarshalText([]byte(c)); err != nil {
			api.WriteError(w, r, ErrBadCursor)
			return
		}
		params = params.After(&cur)
	}
	res, err := a.q.JobList(r.Context(), params)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	counts, err := a.Counts(r.Context())
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	page := JobsPage{Counts: counts, Items: make([]Job, 0, len(res.Jobs))}
	for _, j := range res.Jobs {
		page.Items = append(page.Items, toJob(j))
	}
	if len(res.Jobs) == limit && res.LastCursor != nil {
		b, err := res.LastCursor.MarshalText()
		if err == nil {
			page.NextCursor = string(b)
		}
	}
	api.JSON(w, http.StatusOK, page)
}

func validState(s rivertype.JobState) bool {
	for _, v := range rivertype.JobStates() {
		if v == s {
			return true
		}
	}
	return false
}

func (a *Admin) jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		return 0, ErrJobNotFound
	}
	return id, nil
}

func (a *Admin) handleRetry(w http.ResponseWriter, r *http.Request) {
	id, err := a.jobID(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	j, err := a.q.JobGet(r.Context(), id)
	if err != nil {
		api.WriteError(w, r, jobErr(err))
		return
	}
	if j.State == rivertype.JobStateRunning {
		api.WriteError(w, r, ErrJobRunning)
		return
	}
	j, err = a.q.JobRetry(r.Context(), id)
	if err != nil {
		api.WriteError(w, r, jobErr(err))
		return
	}
	api.JSON(w, http.StatusOK, toJob(j))
}

func (a *Admin) handleCancel(w http.ResponseWriter, r *http.Request) {
	id, err := a.jobID(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	j, err := a.q.JobCancel(r.Context(), id)
	if err != nil {
		api.WriteError(w, r, jobErr(err))
		return
	}
	api.JSON(w, http.StatusOK, toJob(j))
}

func jobErr(err error) error {
	if errors.Is(err, river.ErrNotFound) {
		return ErrJobNotFound
	}
	return err
}

func toJob(j *rivertype.JobRow) Job {
	out := Job{
		ID: j.ID, Queue: j.Queue, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		CreatedAt: j.CreatedAt.UTC(), ScheduledAt: j.ScheduledAt.UTC(), Errors: []string{},
	}
	if j.FinalizedAt != nil {
		t := j.FinalizedAt.UTC()
		out.FinalizedAt = &t
	}
	for _, e := range j.Errors {
		out.Errors = append(out.Errors, e.Error)
	}
	out.RequestID = requestIDOf(j.Metadata)
	return out
}
