package streaming

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"
	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
	expslog "golang.org/x/exp/slog"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// UploadPath is where the tus endpoint is mounted; the upload of video V
// is UploadPath+V.
const UploadPath = "/api/v1/uploads/"

// uploads is the embedded tus server: a file store in UploadDir, locked
// across instances with Postgres advisory locks.
type uploads struct {
	s     *Service
	store filestore.FileStore
	tus   *handler.UnroutedHandler
}

func newUploads(s *Service) (*uploads, error) {
	u := &uploads{s: s, store: filestore.New(s.cfg.UploadDir)}
	composer := handler.NewStoreComposer()
	u.store.UseIn(composer)
	composer.UseLocker(&pgLocker{db: s.db})
	h, err := handler.NewUnroutedHandler(handler.Config{
		StoreComposer: composer,
		BasePath:      UploadPath,
		MaxSize:       s.cfg.MaxBytes,
		// Location behind nginx: X-Forwarded-Host and -Proto are believed
		// only from trusted proxies (serveTus drops them otherwise).
		RespectForwardedHeaders: true,
		// The gateway's CORS applies; tusd's own default allows every origin.
		Cors:                      &handler.CorsConfig{Disable: true},
		DisableDownload:           true,
		DisableConcatenation:      true,
		PreUploadCreateCallback:   u.preCreate,
		PreFinishResponseCallback: u.preFinish,
		PreUploadTerminateCallback: func(handler.HookEvent) (handler.HTTPResponse, error) {
			return handler.HTTPResponse{}, handler.NewError("ERR_TERMINATION_DISABLED", "Delete the video instead (DELETE /api/v1/admin/videos/{id}).", http.StatusForbidden)
		},
		AcquireLockTimeout: 5 * time.Second,
		Logger:             tusLogger(s.log),
	})
	if err != nil {
		return nil, fmt.Errorf("streaming: tus handler: %w", err)
	}
	u.tus = h
	return u, nil
}

// sourcePath is the file holding the upload's bytes.
func (u *uploads) sourcePath(uploadID string) string {
	return filepath.Join(u.s.cfg.UploadDir, uploadID)
}

// remove deletes an upload's files; missing ones are no error.
func (u *uploads) remove(uploadID string) error {
	var errs []error
	for _, p := range []string{u.sourcePath(uploadID), u.sourcePath(uploadID) + ".info", u.sourcePath(uploadID) + ".lock"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var (
	errTusVideo   = handler.NewError("ERR_VIDEO_ID", "Upload-Metadata must name the video_id of a video created with POST /api/v1/admin/videos.", http.StatusBadRequest)
	errTusStarted = handler.NewError("ERR_UPLOAD_STARTED", "This video already has an upload; resume it, or create a new video.", http.StatusConflict)
	errTusLength  = handler.NewError("ERR_LENGTH_REQUIRED", "Upload-Length is required: uploads of unknown length are not accepted.", http.StatusBadRequest)
	errTusGone    = handler.NewError("ERR_VIDEO_GONE", "The video was deleted or canceled.", http.StatusGone)
)

// preCreate admits an upload for a video still waiting for one: the upload
// takes the video's id, and the video turns uploading.
func (u *uploads) preCreate(ev handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
	id := ev.Upload.MetaData["video_id"]
	if !validID(id) {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, errTusVideo
	}
	if ev.Upload.SizeIsDeferred {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, errTusLength
	}
	ok, err := setState(ev.Context, u.s.db, id, StateUploading, []State{StateCreated}, 0, "upload_id = $5, source_size = $6", id, ev.Upload.Size)
	if err != nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, err
	}
	if !ok {
		if _, err := findVideoRow(ev.Context, u.s.db, id, false); errors.Is(err, ErrVideoNotFound) {
			return handler.HTTPResponse{}, handler.FileInfoChanges{}, errTusVideo
		}
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, errTusStarted
	}
	meta := handler.MetaData{"video_id": id}
	if n := ev.Upload.MetaData["filename"]; n != "" && len(n) < 256 {
		meta["filename"] = n
	}
	return handler.HTTPResponse{}, handler.FileInfoChanges{ID: id, MetaData: meta}, nil
}

// preFinish runs before the last PATCH is answered: in one transaction
// the video turns queued and its transcode job is inserted, so a finished
// upload is never without its job, whatever crashes after.
func (u *uploads) preFinish(ev handler.HookEvent) (handler.HTTPResponse, error) {
	id := ev.Upload.ID
	ctx := context.WithoutCancel(ev.Context)
	err := pg.InTx(ctx, u.s.db, func(tx *sqlx.Tx) error {
		ok, err := u.s.queueTx(ctx, tx, id, []State{StateUploading}, "source_size = $5", ev.Upload.Size)
		if err != nil {
			return err
		}
		if !ok {
			return errTusGone
		}
		return nil
	})
	if err != nil {
		return handler.HTTPResponse{}, err
	}
	return handler.HTTPResponse{}, nil
}

// serveTus hands a request to tusd: upload id from the route, forwarded
// headers only from trusted proxies.
func (u *uploads) serveTus(w http.ResponseWriter, r *http.Request, id string, fn func(http.ResponseWriter, *http.Request)) {
	r2 := r.Clone(r.Context())
	if !u.trustedPeer(r) {
		for _, h := range []string{"Forwarded", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			r2.Header.Del(h)
		}
	}
	r2.URL.Path = id
	u.tus.Middleware(http.HandlerFunc(fn)).ServeHTTP(w, r2)
}

func (u *uploads) trustedPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	for _, p := range u.s.cfg.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// pgLocker is a tusd Locker on Postgres advisory locks, so that two
// requests for the same upload exclude each other on any instance. A lock
// holds one pooled connection while held (size DB_MAX_OPEN_CONNS for the
// uploads running at once); a process that dies drops it with its session.
//
// A waiting request does not ask the holder to let go (tusd's
// requestUnlock): tusd v2.9.1 races when that callback runs beside the
// holder's PATCH. The waiter gets the lock when the holder's request ends,
// or answers 500 ERR_LOCK_TIMEOUT after AcquireLockTimeout, and tus
// clients retry.
type pgLocker struct {
	db *sqlx.DB
}

func (l *pgLocker) NewLock(id string) (handler.Lock, error) { return &pgLock{l: l, id: id}, nil }

type pgLock struct {
	l    *pgLocker
	id   string
	conn *sql.Conn
}

// lockClass keys upload locks apart from other advisory locks.
const lockClass = 0x7374726d // "strm"

func (k *pgLock) Lock(ctx context.Context, _ func()) error {
	conn, err := k.l.db.Conn(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return handler.ErrLockTimeout
		}
		return fmt.Errorf("upload lock: %w", err)
	}
	for {
		var got bool
		err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockClass, k.id).Scan(&got)
		if err == nil && got {
			k.conn = conn
			return nil
		}
		if err != nil && ctx.Err() == nil {
			conn.Close()
			return fmt.Errorf("upload lock: %w", err)
		}
		select {
		case <-ctx.Done():
			conn.Close()
			return handler.ErrLockTimeout
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (k *pgLock) Unlock() error {
	if k.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := k.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockClass, k.id)
	if err != nil {
		// Closing the session would not release the lock if the pool kept
		// the connection: discard it instead.
		_ = k.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	k.conn.Close()
	k.conn = nil
	if err != nil {
		return fmt.Errorf("upload unlock: %w", err)
	}
	return nil
}

// tusLogger passes tusd's warnings and errors (x/exp/slog) to zerolog;
// its per-request info lines are dropped.
func tusLogger(l zerolog.Logger) *expslog.Logger {
	w := zerologLines{l: l.With().Str("component", "tusd").Logger()}
	return expslog.New(expslog.NewTextHandler(w, &expslog.HandlerOptions{Level: expslog.LevelWarn}))
}

type zerologLines struct{ l zerolog.Logger }

func (z zerologLines) Write(p []byte) (int, error) {
	z.l.Warn().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}
