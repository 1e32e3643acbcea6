package content

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// ErrNotPlayableKind is returned when a video is attached to a series
// itself: a series plays its episodes' videos.
var ErrNotPlayableKind = apperr.New(apperr.Invalid, "series_video", "A series plays its episodes' videos; attach video to an episode.")

// VideoTarget finds what a video can be attached to: a movie by its id or
// external key (season and episode 0), or an episode of a series by the
// series' id or key and the season and episode numbers. It returns the
// title's id and, for an episode, the episode's id; ErrTitleNotFound,
// ErrEpisodeNotFound, or ErrNotPlayableKind for a series without numbers
// (or a movie with them).
func (s *Service) VideoTarget(ctx context.Context, ref string, season, episode int) (titleID, episodeID string, err error) {
	var t struct {
		ID   string `db:"id"`
		Kind string `db:"kind"`
	}
	q := `SELECT id, kind FROM content.titles WHERE external_key = $1`
	if validUUID(ref) {
		q = `SELECT id, kind FROM content.titles WHERE id = $1::text::uuid OR external_key = $1::text`
	}
	if err := s.db.GetContext(ctx, &t, q, ref); err != nil {
		return "", "", notFound(err, ErrTitleNotFound)
	}
	if (t.Kind == "movie") != (season == 0 && episode == 0) {
		return "", "", ErrNotPlayableKind
	}
	if t.Kind == "movie" {
		return t.ID, "", nil
	}
	err = s.db.GetContext(ctx, &episodeID, `SELECT e.id FROM content.episodes e JOIN content.seasons s ON s.id = e.season_id
		WHERE s.title_id = $1 AND s.number = $2 AND e.number = $3`, t.ID, season, episode)
	if err != nil {
		return "", "", notFound(err, ErrEpisodeNotFound)
	}
	return t.ID, episodeID, nil
}

// SetVideo is how the streaming module makes a movie (episodeID "") or an
// episode playable: attach sets its video_id to videoID; detach clears it
// only while it is still videoID, so removing an old video never unplugs
// its replacement. Attaching returns ErrTitleNotFound (or
// ErrNotPlayableKind for a series) or ErrEpisodeNotFound; detaching
// something already gone succeeds.
func (s *Service) SetVideo(ctx context.Context, titleID, episodeID, videoID string, attach bool) error {
	id, missing := titleID, ErrTitleNotFound
	q := `UPDATE content.titles SET video_id = $2 WHERE id = $1 AND kind = 'movie' RETURNING id`
	if episodeID != "" {
		id, missing = episodeID, ErrEpisodeNotFound
		q = `UPDATE content.episodes e SET video_id = $2 FROM content.seasons s WHERE e.id = $1 AND s.id = e.season_id RETURNING s.title_id`
	}
	if !validUUID(id) {
		return missing
	}
	var arg any = videoID
	if !attach {
		arg = nil
		q = `UPDATE content.titles SET video_id = $2 WHERE id = $1 AND video_id = $3 RETURNING id`
		if episodeID != "" {
			q = `UPDATE content.episodes e SET video_id = $2 FROM content.seasons s WHERE e.id = $1 AND e.video_id = $3 AND s.id = e.season_id RETURNING s.title_id`
		}
	}
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var tid string
		args := []any{id, arg}
		if !attach {
			args = append(args, videoID)
		}
		if err := tx.GetContext(ctx, &tid, q, args...); err != nil {
			if errors.Is(err, sql.ErrNoRows) && !attach {
				return errNothing
			}
			if errors.Is(err, sql.ErrNoRows) && episodeID == "" {
				var kind string
				if tx.GetContext(ctx, &kind, `SELECT kind FROM content.titles WHERE id = $1`, id) == nil && kind == "series" {
					return ErrNotPlayableKind
				}
			}
			return notFound(mapErr(err), missing)
		}
		return touch(ctx, tx, tid)
	})
	if errors.Is(err, errNothing) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("set video of %s: %w", id, err)
	}
	s.bump(ctx)
	return nil
}

var errNothing = errors.New("content: nothing to detach")
