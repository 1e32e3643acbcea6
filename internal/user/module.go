package user

import (
	"context"

	"github.com/streamflix/streamflix/internal/registry"
)

// Module describes user to the registry: its routes and health.
func (s *Service) Module(version string) registry.Module {
	return registry.Module{
		Name:    "user",
		Version: version,
		Health:  func(ctx context.Context) error { return s.db.PingContext(ctx) },
		Routes:  NewHandler(s).Routes,
	}
}
