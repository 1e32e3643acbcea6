package logging

import (
	"context"
	"sync"

	"github.com/rs/zerolog"
)

// Scope is what a request's context carries for logging: the request id,
// for RequestID, and the request's logger, for zerolog.Ctx and Ctx. The
// logger is the base logger with the field request_id, derived on first
// use, so a request that never logs through its context pays nothing for
// it (deriving one allocates zerolog's 500-byte field buffer).
//
// A Scope lets a middleware put everything it knows about a request into
// one context value: embed it in a context.Context implementation whose
// Value method asks Scope.Value first. The zero Scope answers no key; call
// Init before the context is used. A Scope must not be copied after Init.
type Scope struct {
	id   string
	base *zerolog.Logger // nil: the request's logger is disabled
	set  bool            // Init was called
	once sync.Once
	l    zerolog.Logger
}

// Init sets the request id and the logger the request's logger derives
// from. base must stay unchanged while the Scope is in use; a nil base
// gives the request a disabled logger.
func (s *Scope) Init(id string, base *zerolog.Logger) {
	s.id, s.base, s.set = id, base, true
}

// ID returns the request id.
func (s *Scope) ID() string { return s.id }

// Logger returns the request's logger: the base logger with request_id.
// It is derived on the first call and the same pointer is returned after,
// so a handler may add fields with UpdateContext. Safe for concurrent use.
func (s *Scope) Logger() *zerolog.Logger {
	s.once.Do(func() {
		if s.base == nil {
			s.l = zerolog.Nop()
			return
		}
		s.l = s.base.With().Str("request_id", s.id).Logger()
	})
	return &s.l
}

// Value returns what RequestID and zerolog.Ctx look up in a context: the
// request id and the request's logger. ok is false for every other key,
// and for every key before Init.
func (s *Scope) Value(key any) (v any, ok bool) {
	if !s.set {
		return nil, false
	}
	if _, isID := key.(requestIDKey); isID {
		return s.id, true
	}
	if zerologKey != nil && key == zerologKey {
		return s.Logger(), true
	}
	return nil, false
}

// zerologKey is the context key zerolog.Ctx looks loggers up by. zerolog
// does not export it, so it is learnt once by handing zerolog.Ctx a
// context that records the key it is asked for. TestScope fails if a
// zerolog upgrade changes how Ctx finds loggers.
var zerologKey = func() any {
	var p keyProbe
	zerolog.Ctx(&p)
	return p.key
}()

// keyProbe is a context that remembers the last key it was asked for and
// answers nil. Only Value may be called on it.
type keyProbe struct {
	context.Context
	key any
}

func (p *keyProbe) Value(key any) any {
	p.key = key
	return nil
}
