package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// ErrTimeout is shown when a request ran past its time limit.
var ErrTimeout = apperr.New(apperr.Unavailable, "request_timeout", "The request took too long; try again.")

// ErrClientGone is recorded when the client went away before the answer:
// status 499, as nginx logs it; nobody reads the body.
var ErrClientGone = &apperr.Error{Kind: apperr.Unavailable, Code: "client_closed_request", Message: "The client closed the request.", Status: 499}

// ErrHeadersTooLarge answers a request whose line and headers are larger
// than the gateway accepts (431), whatever the route.
var ErrHeadersTooLarge = &apperr.Error{Kind: apperr.TooLarge, Code: "request_headers_too_large",
	Message: "The request's headers are too large.", Status: http.StatusRequestHeaderFieldsTooLarge}

// normalize maps context expiry to ErrTimeout and cancellation to
// ErrClientGone, so that neither is reported as an internal error.
func normalize(err error) error {
	if apperr.From(err) != nil {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ErrTimeout
	case errors.Is(err, context.Canceled):
		return ErrClientGone
	}
	return err
}
