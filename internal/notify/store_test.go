package notify

import (
	"context"
	"sync"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

// TestBeginDeliveries: one statement for a batch of jobs in every state a
// job's run can find its delivery in, answered in the batch's order.
func TestBeginDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	// Earlier runs: job 1 failed temporarily, job 2 sent, job 3 holds the
	// dedup key "held".
	_, err := db.Exec(`INSERT INTO notify.deliveries (job_id, kind, dedup_key, message_id, to_address, subject, status, attempts, error, sent_at) VALUES
		(1, 'password_changed', NULL, 'first-1@x', 'a@example.com', 'Old subject', 'sending', 1, '451 try later', NULL),
		(2, 'password_changed', NULL, 'first-2@x', 'b@example.com', 'Subject', 'sent', 1, NULL, now()),
		(3, 'password_reset', 'held', 'first-3@x', 'c@example.com', 'Subject', 'sending', 0, NULL, NULL)`)
	if err != nil {
		t.Fatal(err)
	}
	row := func(job int64, dedup, status string, attempts int) deliveryRow {
		d := deliveryRow{JobID: job, Kind: "password_reset", DedupKey: nullString(dedup), MessageID: "new@x", Status: status, Attempts: attempts}
		if attempts > 0 {
			d.ToAddress, d.Subject = "new@example.com", "New subject"
		}
		return d
	}
	batch := []deliveryRow{
		row(6, "pair", StatusSending, 1), // loses "pair" to job 5, in the same batch
		row(1, "", StatusSending, 1),     // a retry
		row(2, "", StatusSending, 1),     // already sent
		row(4, "held", StatusSending, 1), // job 3 holds "held"
		row(5, "pair", StatusSending, 1), // new, wins "pair"
		row(7, "", StatusSkipped, 0),     // turned off by the user
		row(8, "", StatusFailed, 0),      // could not be composed
	}
	batch[1].Kind = "password_changed"
	batch[6].Error = nullString("no such user")
	got, err := beginDeliveries(ctx, db, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []claim{claimTaken, claimed, claimedSent, claimTaken, claimed, claimed, claimed}
	for i, b := range got {
		if b.c != want[i] {
			t.Errorf("job %d: claim %d, want %d", batch[i].JobID, b.c, want[i])
		}
	}
	if got[1].messageID != "first-1@x" || got[4].messageID != "new@x" || got[1].id == "" {
		t.Errorf("Message-IDs: retry %q (want the first run's), new %q", got[1].messageID, got[4].messageID)
	}

	type state struct {
		Status   string `db:"status"`
		Attempts int    `db:"attempts"`
		To       string `db:"to_address"`
		Subject  string `db:"subject"`
		Error    string `db:"error"`
	}
	rows := map[int64]state{}
	var list []struct {
		JobID int64 `db:"job_id"`
		state
	}
	if err := db.Select(&list, `SELECT job_id, status, attempts, to_address, subject, coalesce(error, '') AS error FROM notify.deliveries`); err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		rows[r.JobID] = r.state
	}
	wantRows := map[int64]state{
		1: {StatusSending, 2, "new@example.com", "New subject", "451 try later"}, // the last error stays until it is sent
		2: {StatusSent, 1, "b@example.com", "Subject", ""},
		3: {StatusSending, 0, "c@example.com", "Subject", ""},
		5: {StatusSending, 1, "new@example.com", "New subject", ""},
		7: {StatusSkipped, 0, "", "", ""},
		8: {StatusFailed, 0, "", "", "no such user"},
	}
	if len(rows) != len(wantRows) {
		t.Errorf("rows for jobs %v, want %d rows (none for 4 and 6)", rows, len(wantRows))
	}
	for job, w := range wantRows {
		if rows[job] != w {
			t.Errorf("job %d: %+v, want %+v", job, rows[job], w)
		}
	}

	if _, err := markSent(ctx, db, []string{got[1].id, got[4].id}); err != nil {
		t.Fatal(err)
	}
	var sent int
	if err := db.Get(&sent, `SELECT count(*) FROM notify.deliveries WHERE status = 'sent' AND sent_at IS NOT NULL AND error IS NULL`); err != nil || sent != 3 {
		t.Errorf("%d sent deliveries (%v), want 3", sent, err)
	}
}

// TestBatcher: concurrent calls each get their own answer, whether they
// shared a statement or not.
func TestBatcher(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var sizes []int
	b := &batcher[int, int]{run: func(_ context.Context, ins []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(ins))
		mu.Unlock()
		out := make([]int, len(ins))
		for i, v := range ins {
			out[i] = v * v
		}
		return out, nil
	}}
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got, err := b.do(i); err != nil || got != i*i {
				t.Errorf("do(%d) = %d, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range sizes {
		if n > batchMax {
			t.Errorf("a batch of %d, more than %d", n, batchMax)
		}
		total += n
	}
	if total != 500 {
		t.Errorf("%d calls ran, want 500", total)
	}
}
