package user

import (
	"context"

	"github.com/streamflix/streamflix/internal/registry"
)

// Module describes user to the registry.
func (h *Handler) Module(version string) registry.Module {
	return registry.Module{
		Name:    "user",
		Version: version,
		Health:  func(ctx context.Context) error { return h.s.db.PingContext(ctx) },
		Routes:  h.Routes,
	}
}
