package content

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// The SQL of artwork: a title's slots hold their image as JSON
// (storedImage), NULL when empty.

// lockImage locks the title and returns the JSON of its image in sl (nil:
// none), or ErrTitleNotFound.
func lockImage(ctx context.Context, tx *sqlx.Tx, titleID string, sl slot) ([]byte, error) {
	var raw []byte
	err := tx.GetContext(ctx, &raw, `SELECT `+sl.column+` FROM content.titles WHERE id = $1 FOR UPDATE`, titleID)
	return raw, notFound(err, ErrTitleNotFound)
}

// setImage points the title's slot sl at the image in raw (nil: none).
func setImage(ctx context.Context, tx *sqlx.Tx, titleID string, sl slot, raw []byte) error {
	if _, err := tx.ExecContext(ctx, `UPDATE content.titles SET `+sl.column+` = $2, updated_at = now() WHERE id = $1`, titleID, raw); err != nil {
		return fmt.Errorf("set artwork: %w", err)
	}
	return nil
}
