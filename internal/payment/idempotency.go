package payment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// abandonAfter is how long a request holding an Idempotency-Key may run
// before a retry with the same key takes over: longer than any request
// may take (REQUEST_TIMEOUT is 30s by default).
const abandonAfter = 2 * time.Minute

// IdempotencyHeader names the header every money-moving request carries.
const IdempotencyHeader = "Idempotency-Key"

// Errors of idempotent requests.
var (
	ErrIdempotencyKeyMissing = apperr.BadRequest("idempotency_key_required", "Send an Idempotency-Key header (a unique string per operation, up to 255 characters).")
	ErrIdempotencyKeyReused  = apperr.New(apperr.Invalid, "idempotency_key_reused", "This Idempotency-Key was used with a different request.")
	ErrIdempotencyInProgress = apperr.New(apperr.Conflict, "idempotency_in_progress", "A request with this Idempotency-Key is still running.")
)

// idempotent runs fn at most once per (account, Idempotency-Key): a replay
// with the same method, path and body gets the first answer again (with
// Idempotent-Replayed: true); the same key with anything else is
// ErrIdempotencyKeyReused (422). Answers to internal errors are not kept,
// so the client may retry them with the same key.
func (s *Service) idempotent(w http.ResponseWriter, r *http.Request, scope string, fn func(body []byte) (int, any, error)) {
	key := r.Header.Get(IdempotencyHeader)
	if key == "" || len(key) > 255 {
		api.WriteError(w, r, ErrIdempotencyKeyMissing)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		api.WriteError(w, r, api.ErrBodyTooLarge)
		return
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", r.Method, r.URL.Path)
	h.Write(body)
	hash := h.Sum(nil)
	ctx := r.Context()
	// A first request that never finished (its process died) is taken
	// over after abandonAfter; the provider's own idempotency keys, derived
	// from this one, keep the retry from charging twice.
	res, err := s.db.ExecContext(ctx, `INSERT INTO payment.idempotency_keys (account_id, key, request_hash) VALUES ($1, $2, $3)
		ON CONFLICT (account_id, key) DO UPDATE SET created_at = now()
		WHERE idempotency_keys.status IS NULL AND idempotency_keys.request_hash = EXCLUDED.request_hash
		AND idempotency_keys.created_at < now() - $4 * interval '1 second'`, scope, key, hash, int(abandonAfter/time.Second))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var row struct {
			Hash     []byte        `db:"request_hash"`
			Status   sql.NullInt64 `db:"status"`
			Response []byte        `db:"response"`
		}
		if err := s.db.GetContext(ctx, &row, `SELECT request_hash, status, response FROM payment.idempotency_keys WHERE account_id = $1 AND key = $2`, scope, key); err != nil {
			api.WriteError(w, r, err)
			return
		}
		switch {
		case !bytes.Equal(row.Hash, hash):
			api.WriteError(w, r, ErrIdempotencyKeyReused)
		case !row.Status.Valid:
			api.WriteError(w, r, ErrIdempotencyInProgress)
		default:
			w.Header().Set("Idempotent-Replayed", "true")
			ct := "application/json"
			if row.Status.Int64 >= 400 {
				ct = "application/problem+json"
			}
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(int(row.Status.Int64))
			_, _ = w.Write(row.Response)
		}
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	status, out, err := fn(body)
	// The answer is stored with a context of its own: a client that hung
	// up must still find it on replay.
	store := context.WithoutCancel(ctx)
	if err != nil {
		if e := apperr.From(err); e == nil || e.Kind == apperr.Internal {
			_, _ = s.db.ExecContext(store, `DELETE FROM payment.idempotency_keys WHERE account_id = $1 AND key = $2`, scope, key)
			api.WriteError(w, r, err)
			return
		}
		rec := &recorder{header: http.Header{}}
		api.WriteError(rec, r, err)
		s.saveAnswer(store, scope, key, rec.status, rec.buf.Bytes())
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.buf.Bytes())
		return
	}
	b, _ := json.Marshal(out)
	b = append(b, '\n')
	s.saveAnswer(store, scope, key, status, b)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Service) saveAnswer(ctx context.Context, scope, key string, status int, body []byte) {
	if _, err := s.db.ExecContext(ctx, `UPDATE payment.idempotency_keys SET status = $3, response = $4 WHERE account_id = $1 AND key = $2`, scope, key, status, body); err != nil {
		s.log.Error().Err(err).Msg("store idempotent answer")
	}
}

// recorder captures a rendered error to store it.
type recorder struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }
