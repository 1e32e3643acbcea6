package api

import (
	"context"
	"errors"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// ErrTimeout is shown when a request ran past its time limit.
var ErrTimeout = apperr.New(apperr.Unavailable, "request_timeout", "The request took too long; try again.")

// normalize maps context expiry to ErrTimeout so that a slow query is not
// reported as an internal error.
func normalize(err error) error {
	if apperr.From(err) == nil && errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout
	}
	return err
}
