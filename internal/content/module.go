package content

import (
	"github.com/streamflix/streamflix/internal/registry"
)

// Module describes content to the registry: its routes and health check.
func (s *Service) Module(version string) registry.Module {
	h := NewHandler(s)
	return registry.Module{
		Name:    "content",
		Version: version,
		Health:  s.Health,
		Routes:  h.Routes,
	}
}
