package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

// TestQueueMetricsFresh: an instance that has run no job already exports
// a queue-depth series, at zero, for every state of every module's queue,
// so that dashboards and alerts have them from the start.
func TestQueueMetricsFresh(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	in := start(t, env(dbURL, nil), nil)
	body := newClient(t, in.URL()).do("GET", "/metrics", nil).want("metrics", 200, "").body
	for _, mod := range in.Registry.Modules() {
		if mod.Queue.Name == "" {
			continue
		}
		for _, state := range []string{"available", "scheduled", "retryable", "running"} {
			line := fmt.Sprintf("streamflix_river_queue_depth{queue=%q,state=%q} 0\n", mod.Queue.Name, state)
			if !strings.Contains(string(body), line) {
				t.Errorf("/metrics lacks %q", strings.TrimSpace(line))
			}
		}
	}
	if !strings.Contains(string(body), `streamflix_river_queue_depth{queue="notify",state="available"} 0`) {
		t.Error("/metrics has no depth series for notify's queue")
	}
}
