package streaming

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/streamflix/streamflix/internal/platform/api"
)

// Handler serves streaming's routes.
type Handler struct{ s *Service }

// NewHandler returns the HTTP handler of s.
func NewHandler(s *Service) *Handler { return &Handler{s: s} }

// CreateVideoRequest is POST /admin/videos's body.
type CreateVideoRequest struct {
	TitleID   string `json:"title_id,omitempty"`
	EpisodeID string `json:"episode_id,omitempty"`
	Language  string `json:"language"`
}

// CreatedVideo is POST /admin/videos's answer: the tus creation endpoint
// to send the file to, with video_id in Upload-Metadata.
type CreatedVideo struct {
	ID        string `json:"id"`
	UploadURL string `json:"upload_url"`
	Video     Video  `json:"video"`
}

var (
	idParam    = api.Param{Name: "id", In: "path", Required: true, Description: "The video's id."}
	langParam  = api.Param{Name: "lang", In: "path", Required: true, Description: `A language tag, such as "en" or "pt-BR".`}
	stateParam = api.Param{Name: "state", Description: "Only videos in this state: created, uploading, queued, processing, ready, failed or canceled."}
	titleParam = api.Param{Name: "title_id", Description: "Only videos of this title (its episodes' too)."}
)

// Routes mounts the admin video routes and the tus endpoint.
func (h *Handler) Routes(r api.Routes) {
	r.Handle(api.Op{Method: "POST", Path: "/admin/videos", ID: "adminVideoCreate", Tag: "videos", Access: api.Admin, Status: http.StatusCreated,
		Summary: "Create a video for a movie (title_id) or an episode (episode_id); upload its file with tus to upload_url, naming video_id in Upload-Metadata.",
		Request: CreateVideoRequest{}, Response: CreatedVideo{}}, h.handleCreate)
	r.Handle(api.Op{Method: "GET", Path: "/admin/videos", ID: "adminVideoList", Tag: "videos", Access: api.Admin,
		Summary: "Videos, newest first, with their states and progress.", Response: VideoList{},
		Params: []api.Param{stateParam, titleParam, api.LimitParam}}, h.handleList)
	r.Handle(api.Op{Method: "GET", Path: "/admin/videos/{id}", ID: "adminVideoGet", Tag: "videos", Access: api.Admin,
		Summary: "A video: state, progress, error, attempts, duration, renditions, audio and subtitles.", Response: Video{}, Params: []api.Param{idParam}}, h.handleGet)
	r.Handle(api.Op{Method: "POST", Path: "/admin/videos/{id}/retry", ID: "adminVideoRetry", Tag: "videos", Access: api.Admin,
		Summary: "Transcode a failed or canceled video again. 409 video_state otherwise.", Response: Video{}, Params: []api.Param{idParam}}, h.handleRetry)
	r.Handle(api.Op{Method: "POST", Path: "/admin/videos/{id}/cancel", ID: "adminVideoCancel", Tag: "videos", Access: api.Admin,
		Summary: "Stop a video's upload or transcode (ffmpeg is killed). 409 video_state when it is done.", Response: Video{}, Params: []api.Param{idParam}}, h.handleCancel)
	r.Handle(api.Op{Method: "DELETE", Path: "/admin/videos/{id}", ID: "adminVideoDelete", Tag: "videos", Access: api.Admin,
		Summary: "Delete a video, its files in storage and its upload; the title or episode stops being playable.", Params: []api.Param{idParam}}, h.handleDelete)
	r.Handle(api.Op{Method: "PUT", Path: "/admin/videos/{id}/subtitles/{lang}", ID: "adminVideoSubtitles", Tag: "videos", Access: api.Admin,
		Summary: "Set a video's subtitles in one language: WebVTT, or SRT (converted).", RequestTypes: []string{"text/vtt", "application/x-subrip"},
		MaxBody: 5 << 20, Response: Video{}, Params: []api.Param{idParam, langParam}}, h.handleSubtitles)

	// tus 1.0: creation, HEAD for the offset, PATCH to append. No request
	// timeout (Stream) and the video size as the body limit: tusd enforces
	// VIDEO_MAX_BYTES itself and reads with its own deadlines.
	upID := api.Param{Name: "id", In: "path", Required: true, Description: "The upload's id (the video's id)."}
	tus := func(method, path, id, summary string, params []api.Param, fn http.HandlerFunc) {
		r.Handle(api.Op{Method: method, Path: path, ID: id, Tag: "videos", Access: api.Admin, Summary: summary,
			Stream: true, MaxBody: h.s.cfg.MaxBytes, RequestTypes: []string{"application/offset+octet-stream"},
			ContentType: "text/plain", Status: http.StatusOK, Params: params}, fn)
	}
	tus("POST", "/uploads", "uploadCreate", "tus creation (with Upload-Length and Upload-Metadata video_id): 201 with Location.", nil,
		func(w http.ResponseWriter, r *http.Request) { h.s.uploads.serveTus(w, r, "", h.s.uploads.tus.PostFile) })
	tus("HEAD", "/uploads/{id}", "uploadHead", "tus: the upload's offset.", []api.Param{upID},
		func(w http.ResponseWriter, r *http.Request) {
			h.s.uploads.serveTus(w, r, chi.URLParam(r, "id"), h.s.uploads.tus.HeadFile)
		})
	tus("PATCH", "/uploads/{id}", "uploadPatch", "tus: append bytes at Upload-Offset; the last byte queues the transcode.", []api.Param{upID},
		func(w http.ResponseWriter, r *http.Request) {
			h.s.uploads.serveTus(w, r, chi.URLParam(r, "id"), h.s.uploads.tus.PatchFile)
		})
	tus("OPTIONS", "/uploads", "uploadOptions", "tus: the server's protocol version, extensions and maximum size.", nil,
		func(w http.ResponseWriter, r *http.Request) {
			h.s.uploads.serveTus(w, r, "", func(http.ResponseWriter, *http.Request) {})
		})
}

func (h *Handler) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req CreateVideoRequest
	if err := api.Decode(r, &req); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if req.TitleID != "" && req.EpisodeID != "" {
		api.WriteError(w, r, invalid("episode_id", "conflict", "Give title_id (a movie) or episode_id, not both."))
		return
	}
	v, err := h.s.CreateVideo(r.Context(), Target{TitleID: req.TitleID, EpisodeID: req.EpisodeID}, req.Language)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusCreated, CreatedVideo{ID: v.ID, UploadURL: strings.TrimSuffix(UploadPath, "/"), Video: v})
}

func (h *Handler) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	list, err := h.s.FindVideos(r.Context(), VideoFilter{State: State(q.Get("state")), TitleID: q.Get("title_id"), Limit: limit})
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, list)
}

func (h *Handler) handleGet(w http.ResponseWriter, r *http.Request) {
	h.answer(w, r, func() (Video, error) { return h.s.FindVideo(r.Context(), chi.URLParam(r, "id")) })
}

func (h *Handler) handleRetry(w http.ResponseWriter, r *http.Request) {
	h.answer(w, r, func() (Video, error) { return h.s.RetryVideo(r.Context(), chi.URLParam(r, "id")) })
}

func (h *Handler) handleCancel(w http.ResponseWriter, r *http.Request) {
	h.answer(w, r, func() (Video, error) { return h.s.CancelVideo(r.Context(), chi.URLParam(r, "id")) })
}

func (h *Handler) handleSubtitles(w http.ResponseWriter, r *http.Request) {
	h.answer(w, r, func() (Video, error) {
		return h.s.PutSubtitles(r.Context(), chi.URLParam(r, "id"), chi.URLParam(r, "lang"), r.Body)
	})
}

func (h *Handler) handleDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.s.DeleteVideo(r.Context(), chi.URLParam(r, "id")); err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) answer(w http.ResponseWriter, r *http.Request, fn func() (Video, error)) {
	v, err := fn()
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.JSON(w, http.StatusOK, v)
}
