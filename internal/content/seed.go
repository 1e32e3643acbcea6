package content

import (
	"bytes"
	"context"
	_ "embed"
)

// demoCatalog is the demo catalog in the catalog format: public-domain
// classics (in the United States) with synopses written for streamflix.
//
//go:embed demo/catalog.json
var demoCatalog []byte

// DemoCatalog returns the demo catalog file.
func DemoCatalog() []byte { return bytes.Clone(demoCatalog) }

// SeedDemo imports the demo catalog, published. Running it again changes
// nothing. It returns the import's report; rows that fail would be listed
// there, and a test keeps the file free of them.
func (s *Service) SeedDemo(ctx context.Context) (ImportReport, error) {
	return s.Import(ctx, bytes.NewReader(demoCatalog), ImportOptions{})
}
