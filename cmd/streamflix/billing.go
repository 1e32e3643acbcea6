package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/payment"
)

// billingCmd is `streamflix billing advance DURATION`: move the sandbox's
// test clock and run the renewals and retries that fall due.
func billingCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "advance" {
		fmt.Fprint(stderr, "streamflix billing: want advance DURATION (such as 31d or 36h)\n")
		return 2
	}
	d, err := payment.ParseAdvance(args[1])
	if err != nil {
		fmt.Fprintf(stderr, "streamflix billing advance: %q is not a duration such as 31d or 36h\n", args[1])
		return 2
	}
	cfg, _, code := loadConfig("streamflix billing", append(args[2:], "--http-addr=127.0.0.1:0", "--workers=false"), getenv, stdout, stderr)
	if cfg == nil {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	m := NewMain(cfg, zerolog.Nop(), Version())
	if err := m.Open(ctx); err != nil {
		fmt.Fprintf(stderr, "streamflix billing advance: %v\n", err)
		m.Close()
		return 1
	}
	defer m.Close()
	// Insert-only queue: events are delivered by the serving instances' workers.
	now, err := m.Payment.AdvanceClock(ctx, d)
	if errors.Is(err, payment.ErrNotSandbox) {
		fmt.Fprint(stderr, "streamflix billing advance: the test clock exists only with PAYMENT_PROVIDER=sandbox\n")
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "streamflix billing advance: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "sandbox clock now %s\n", now.Format(time.RFC3339))
	return 0
}
