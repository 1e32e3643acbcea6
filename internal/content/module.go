package content

import (
	"github.com/streamflix/streamflix/internal/registry"
)

// Module describes content to the registry.
func (h *Handler) Module(version string) registry.Module {
	return registry.Module{
		Name:    "content",
		Version: version,
		Health:  h.s.Health,
		Routes:  h.Routes,
	}
}
