package content

import (
	"bytes"
	"errors"
	"image/jpeg"
	"strings"
	"testing"
)

func TestGenerateArtwork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.genre("western", "Western")
	y := 1939
	tt := b.title(TitleInput{Name: "Stagecoach", ReleaseYear: &y, Genres: []string{"western"}})
	if _, err := b.s.GenerateArtwork(b.ctx, tt.ID); err != nil {
		t.Fatal(err)
	}
	at, err := b.s.AdminTitle(b.ctx, tt.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, bd := at.Artwork.Poster, at.Artwork.Backdrop
	if p == nil || bd == nil || len(p.Sizes) != 4 || len(bd.Sizes) != 4 || bd.Sizes[3].Width != 1920 {
		t.Fatalf("generated artwork: %+v", at.Artwork)
	}
	// The largest of each decodes at the slot's shape.
	for _, c := range []struct {
		url  string
		w, h int
	}{{p.Sizes[3].URL, 780, 1170}, {bd.Sizes[3].URL, 1920, 1080}, {p.Sizes[0].URL, 185, 278}} {
		key := strings.TrimPrefix(c.url, "https://cdn.example.com/media/")
		obj, err := b.media.Open(b.ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpeg.DecodeConfig(obj)
		obj.Close()
		if err != nil || cfg.Width != c.w || cfg.Height != c.h {
			t.Fatalf("%s: %dx%d %v, want %dx%d", key, cfg.Width, cfg.Height, err, c.w, c.h)
		}
	}
	if len(b.artworkObjects()) != 8 {
		t.Fatalf("objects: %v", b.artworkObjects())
	}

	// Again: the same images under the same keys; nothing new is stored.
	if drawn, err := b.s.GenerateArtwork(b.ctx, tt.ID); err != nil || drawn {
		t.Fatalf("second run: drawn %v, %v", drawn, err)
	}
	again, _ := b.s.AdminTitle(b.ctx, tt.ID)
	if again.Artwork.Poster.Sizes[0].URL != p.Sizes[0].URL || len(b.artworkObjects()) != 8 {
		t.Fatalf("second run changed the artwork: %+v", again.Artwork)
	}
	// Removed and generated again: the same keys, since the drawing only
	// depends on the title.
	if err := b.s.DeleteArtwork(b.ctx, tt.ID, SlotPoster); err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.GenerateArtwork(b.ctx, tt.ID); err != nil {
		t.Fatal(err)
	}
	if again, _ = b.s.AdminTitle(b.ctx, tt.ID); again.Artwork.Poster == nil || again.Artwork.Poster.Sizes[0].URL != p.Sizes[0].URL {
		t.Fatalf("regenerated poster: %+v", again.Artwork.Poster)
	}

	// An uploaded poster is kept; only the empty backdrop is generated.
	other := b.title(TitleInput{Name: "Nosferatu"})
	up, err := b.s.SetArtwork(b.ctx, other.ID, SlotPoster, bytes.NewReader(testJPEG(t, 400, 600)), "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.GenerateArtwork(b.ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := b.s.AdminTitle(b.ctx, other.ID)
	if got.Artwork.Poster.Sizes[0].URL != up.Artwork.Poster.Sizes[0].URL || got.Artwork.Backdrop == nil {
		t.Fatalf("generate over an upload: %+v", got.Artwork)
	}
	if _, err := b.s.GenerateArtwork(b.ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrTitleNotFound) {
		t.Fatalf("unknown title: %v", err)
	}
}

// TestDrawArtworkVaries checks that generated artwork is deterministic and
// differs between titles: same card, same pixels; another name, others.
func TestDrawArtworkVaries(t *testing.T) {
	t.Parallel()
	a := drawArtwork(SlotPoster, artCard{name: "Nosferatu", year: "1922", genre: "Horror", genreSlug: "horror"}, 185)
	again := drawArtwork(SlotPoster, artCard{name: "Nosferatu", year: "1922", genre: "Horror", genreSlug: "horror"}, 185)
	other := drawArtwork(SlotPoster, artCard{name: "Frankenstein", year: "1931", genre: "Horror", genreSlug: "horror"}, 185)
	if !bytes.Equal(a.Pix, again.Pix) {
		t.Error("the same card drew different pixels")
	}
	if bytes.Equal(a.Pix, other.Pix) {
		t.Error("two titles drew the same picture")
	}
	// A very long name still fits: no letter is drawn past the right margin.
	long := drawArtwork(SlotPoster, artCard{name: strings.Repeat("Supercalifragilistic ", 8)}, 342)
	b := long.Bounds()
	for y := b.Dy() / 2; y < b.Dy(); y++ {
		for x := b.Dx() - 8; x < b.Dx(); x++ {
			if r, g, bl, _ := long.At(x, y).RGBA(); r>>8 > 0xe0 && g>>8 > 0xe0 && bl>>8 > 0xe0 {
				t.Fatalf("text reaches the right edge at %d,%d", x, y)
			}
		}
	}
}
