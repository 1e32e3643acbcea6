package artgen

import (
	"bytes"
	"strings"
	"testing"
)

// TestDrawArtworkVaries checks that generated artwork is deterministic and
// differs between titles: same card, same pixels; another name, others.
func TestDrawArtworkVaries(t *testing.T) {
	t.Parallel()
	a := Draw(Poster, Card{Name: "Nosferatu", Year: "1922", Genre: "Horror", GenreSlug: "horror"}, 185)
	again := Draw(Poster, Card{Name: "Nosferatu", Year: "1922", Genre: "Horror", GenreSlug: "horror"}, 185)
	other := Draw(Poster, Card{Name: "Frankenstein", Year: "1931", Genre: "Horror", GenreSlug: "horror"}, 185)
	if !bytes.Equal(a.Pix, again.Pix) {
		t.Error("the same card drew different pixels")
	}
	if bytes.Equal(a.Pix, other.Pix) {
		t.Error("two titles drew the same picture")
	}
	// A very long name still fits: no letter is drawn past the right margin.
	long := Draw(Poster, Card{Name: strings.Repeat("Supercalifragilistic ", 8)}, 342)
	b := long.Bounds()
	for y := b.Dy() / 2; y < b.Dy(); y++ {
		for x := b.Dx() - 8; x < b.Dx(); x++ {
			if r, g, bl, _ := long.At(x, y).RGBA(); r>>8 > 0xe0 && g>>8 > 0xe0 && bl>>8 > 0xe0 {
				t.Fatalf("text reaches the right edge at %d,%d", x, y)
			}
		}
	}
}
