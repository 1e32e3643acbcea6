package model

import (
	"slices"
	"testing"
	"time"
)

func TestWatchWeight(t *testing.T) {
	t.Parallel()
	fiveMinutes := WatchWeight(5.0 / 100)
	tests := []struct {
		name     string
		fraction float64
		want     float64
	}{
		{"Nothing", 0, 0.05},
		{"Negative", -1, 0.05},
		{"Half", 0.5, 0.275},
		{"Finished", 0.9, FinishedWeight},
		{"Over", 1.5, FinishedWeight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := WatchWeight(tt.fraction); got != tt.want {
				t.Errorf("WatchWeight(%g) = %g, want %g", tt.fraction, got, tt.want)
			}
		})
	}
	if fiveMinutes >= FinishedWeight/5 {
		t.Errorf("five minutes of a film weigh %g, not much less than a finished film (%g)", fiveMinutes, FinishedWeight)
	}
}

func TestBuilder(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := NewBuilder()
	for _, e := range []Event{
		{User: 100, Item: 7, Weight: WatchWeight(0.05), Time: t0},
		{User: 100, Item: 7, Weight: FinishedWeight, Time: t0.Add(time.Hour)}, // finished later: adds
		{User: 100, Item: 9, Weight: FinishedWeight, Time: t0},
		{User: 100, Item: 9, Weight: ThumbsDown, Time: t0.Add(2 * time.Hour)}, // thumbs-down drops the pair
		{User: 200, Item: 9, Weight: 3, Time: t0},
		{User: 200, Item: 9, Weight: 3, Time: t0.Add(-time.Hour)}, // rewatches add up to the cap; time stays the latest
		{User: 200, Item: 11, Weight: 0},                          // registers the item only
	} {
		b.Add(e)
	}
	x := b.Build()
	if x.NumUsers() != 2 || x.NumItems() != 3 || x.NNZ() != 2 {
		t.Fatalf("shape: %s, want 2 users × 3 items, 2 interactions", x)
	}
	u100, _ := x.Users.Of(100)
	u200, _ := x.Users.Of(200)
	i7, _ := x.Items.Of(7)
	i9, _ := x.Items.Of(9)
	if x.Users.ID(u100) != 100 || x.Items.ID(i9) != 9 {
		t.Error("index does not map back to the ids")
	}
	if r := x.Row(u100); !slices.Equal(r.Items, []int32{int32(i7)}) || r.Weights[0] != float32(WatchWeight(0.05)+FinishedWeight) {
		t.Errorf("user 100 row = %+v, want item 7 with the taste and the finished watch summed", r)
	}
	if got := x.RowTimes(u100)[0]; got != t0.Add(time.Hour).Unix() {
		t.Errorf("user 100 item 7 time = %d, want the latest watch", got)
	}
	if d := x.Disliked(u100); !slices.Equal(d, []int32{int32(i9)}) {
		t.Errorf("user 100 disliked = %v, want item 9", d)
	}
	if r := x.Row(u200); r.Weights[0] != MaxWeight || x.RowTimes(u200)[0] != t0.Unix() {
		t.Errorf("user 200 row = %+v at %v, want weight capped at %g at the latest time", r, x.RowTimes(u200), MaxWeight)
	}
	if c := x.Col(i9); !slices.Equal(c.Items, []int32{int32(u200)}) {
		t.Errorf("item 9 column = %v, want only user 200", c.Items)
	}
	if !x.MaxTime().Equal(t0.Add(time.Hour)) {
		t.Errorf("MaxTime = %v", x.MaxTime())
	}
}
