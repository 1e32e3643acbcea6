package model

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ReadMovieLens reads ratings as "user item rating [timestamp]" lines,
// separated by whitespace (u.data of ML-100k) or "::" (ratings.dat of
// ML-1M), and returns one event of weight 1 per line: every rating is an
// implicit positive, whatever its value. Blank lines and lines starting
// with # are skipped. It returns an error naming the line for a line
// with fewer than three fields or a field that is not a number.
func ReadMovieLens(r io.Reader) ([]Event, error) {
	var out []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(strings.ReplaceAll(line, "::", " "))
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: want user item rating [timestamp], got %d fields", n, len(f))
		}
		u, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: user %q is not an integer", n, f[0])
		}
		i, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: item %q is not an integer", n, f[1])
		}
		if _, err := strconv.ParseFloat(f[2], 64); err != nil {
			return nil, fmt.Errorf("line %d: rating %q is not a number", n, f[2])
		}
		e := Event{User: u, Item: i, Weight: 1}
		if len(f) > 3 {
			ts, err := strconv.ParseInt(f[3], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: timestamp %q is not an integer", n, f[3])
			}
			e.Time = time.Unix(ts, 0)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read ratings: %w", err)
	}
	return out, nil
}

// WriteMovieLens writes events as u.data lines: user, item, rating 1 and
// timestamp, tab-separated.
func WriteMovieLens(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	for _, e := range events {
		var ts int64
		if !e.Time.IsZero() {
			ts = e.Time.Unix()
		}
		fmt.Fprintf(bw, "%d\t%d\t1\t%d\n", e.User, e.Item, ts)
	}
	return bw.Flush()
}
