package content

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// Export writes the whole catalog to w in the catalog format: every genre
// by slug, then every title by external key, one per line, from one
// consistent snapshot. It reads and writes a page of titles at a time.
// Importing its output into an empty catalog and exporting again gives the
// same bytes.
func (s *Service) Export(ctx context.Context, w io.Writer) error {
	tx, err := beginSnapshot(ctx, s.db)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	bw := bufio.NewWriterSize(w, 64<<10)
	line := func(i int, v any) error {
		if i > 0 {
			bw.WriteString(",\n")
		} else {
			bw.WriteString("\n")
		}
		b, err := marshalLine(v)
		if err != nil {
			return err
		}
		_, err = bw.Write(b)
		return err
	}
	fmt.Fprintf(bw, `{"format":"%s","version":%d,`+"\n"+`"genres":[`, CatalogFormat, CatalogVersion)
	genres, err := exportGenres(ctx, tx)
	if err != nil {
		return err
	}
	for i, g := range genres {
		if err := line(i, g); err != nil {
			return err
		}
	}
	bw.WriteString("\n],\n" + `"titles":[`)
	if err := declareExport(ctx, tx); err != nil {
		return err
	}
	n := 0
	for {
		ids, err := fetchExport(ctx, tx, exportPage)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		ts, err := catalogTitles(ctx, tx, ids)
		if err != nil {
			return err
		}
		for i := range ts {
			if err := line(n, &ts[i]); err != nil {
				return err
			}
			n++
		}
	}
	bw.WriteString("\n]}\n")
	return bw.Flush()
}

// marshalLine is v as JSON, with <, > and & left as they are.
func marshalLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
