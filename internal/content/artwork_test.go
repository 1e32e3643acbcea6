package content

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/storage"
)

// testPNG returns a w x h PNG: a gradient from col, with transparent
// pixels in its top-left corner when alpha is set.
func testPNG(t testing.TB, w, h int, col color.NRGBA, alpha bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := col
			c.R = uint8(int(col.R) + (x*32)/w)
			if alpha && x < w/4 && y < h/4 {
				c.A = 0
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func testGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bombPNG is a PNG header declaring a w x h image with no pixel data: a
// few dozen bytes that would need gigabytes once decoded.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	_ = binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func codeOf(err error) string {
	if e := apperr.From(err); e != nil {
		return e.Code
	}
	if err != nil {
		return "internal: " + err.Error()
	}
	return ""
}

func TestCheckUpload(t *testing.T) {
	t.Parallel()
	webp, err := os.ReadFile("testdata/poster.webp") // 400x600, made by ffmpeg's libwebp
	if err != nil {
		t.Fatal(err)
	}
	pngPoster := testPNG(t, 400, 600, color.NRGBA{40, 60, 90, 255}, false)
	tests := []struct {
		name     string
		slot     string
		data     []byte
		declared string
		code     string
	}{
		{"PNG", SlotPoster, pngPoster, "image/png", ""},
		{"JPEG", SlotBackdrop, testJPEG(t, 1280, 720), "image/jpeg", ""},
		{"GIF", SlotPoster, testGIF(t, 342, 513), "image/gif", ""},
		{"WebP", SlotPoster, webp, "image/webp", ""},
		{"BytesDecideNotHeader", SlotPoster, pngPoster, "image/jpeg; charset=binary", ""},
		{"DeclaredText", SlotPoster, pngPoster, "text/plain", "unsupported_image"},
		{"DeclaredNothing", SlotPoster, pngPoster, "", "unsupported_image"},
		{"TextFile", SlotPoster, []byte("just some words, not a picture\n"), "image/png", "unsupported_image"},
		{"HTML", SlotPoster, []byte("<!doctype html><script>alert(1)</script>"), "image/png", "unsupported_image"},
		{"SVG", SlotPoster, []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="400" height="600"/>`), "image/png", "unsupported_image"},
		{"BMP", SlotPoster, append([]byte("BM"), make([]byte, 100)...), "image/png", "unsupported_image"},
		{"Empty", SlotPoster, nil, "image/png", "unsupported_image"},
		{"TruncatedHeader", SlotPoster, pngPoster[:20], "image/png", "invalid_image"},
		{"Bomb", SlotPoster, bombPNG(20000, 20000), "image/png", "image_too_large"},
		{"BombOneRow", SlotPoster, bombPNG(1<<30, 1), "image/png", "image_too_large"},
		{"PosterTooNarrow", SlotPoster, testPNG(t, 300, 450, color.NRGBA{A: 255}, false), "image/png", "image_too_small"},
		{"BackdropTooNarrow", SlotBackdrop, testJPEG(t, 640, 360), "image/jpeg", "image_too_small"},
		{"PosterLandscape", SlotPoster, testJPEG(t, 1280, 720), "image/jpeg", "bad_aspect_ratio"},
		{"BackdropSquare", SlotBackdrop, testJPEG(t, 800, 800), "image/jpeg", "bad_aspect_ratio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := checkUpload(tt.data, tt.declared, slots[tt.slot])
			if got := codeOf(err); got != tt.code {
				t.Fatalf("checkUpload = %q, want %q", got, tt.code)
			}
		})
	}
}

func TestReadUploadLimit(t *testing.T) {
	t.Parallel()
	if _, err := readUpload(bytes.NewReader(make([]byte, MaxArtworkBytes))); err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
	_, err := readUpload(io.MultiReader(bytes.NewReader(make([]byte, MaxArtworkBytes)), strings.NewReader("x")))
	if !errors.Is(err, ErrArtworkTooBig) {
		t.Fatalf("one byte over: %v", err)
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	// 600 wide: the poster widths up to 500, never enlarged to 780.
	src, err := png.Decode(bytes.NewReader(testPNG(t, 600, 900, color.NRGBA{0x30, 0x60, 0x90, 255}, true)))
	if err != nil {
		t.Fatal(err)
	}
	im, out, err := render(src, slots[SlotPoster], "artwork/x")
	if err != nil {
		t.Fatal(err)
	}
	want := []int{185, 342, 500}
	if len(out) != len(want) || len(im.Widths) != len(want) {
		t.Fatalf("widths %v", im.Widths)
	}
	for i, r := range out {
		if r.width != want[i] || im.Widths[i] != want[i] {
			t.Fatalf("rendition %d is %d wide, want %d", i, r.width, want[i])
		}
		cfg, format, err := image.DecodeConfig(bytes.NewReader(r.data))
		if err != nil || format != "jpeg" || cfg.Width != want[i] || cfg.Height != (want[i]*3+1)/2 {
			t.Fatalf("rendition %d: %s %dx%d %v", i, format, cfg.Width, cfg.Height, err)
		}
	}
	// Transparent pixels turn into the dark background, not black noise or white.
	dec, _ := jpeg.Decode(bytes.NewReader(out[2].data))
	if r, g, b, _ := dec.At(10, 10).RGBA(); r>>8 > 0x30 || g>>8 > 0x30 || b>>8 > 0x30 {
		t.Errorf("transparent corner rendered as %d,%d,%d", r>>8, g>>8, b>>8)
	}
	// The colour is the image's average: 15/16 the fill (its red rising
	// by 32 across), 1/16 the background where it was transparent.
	var r, g, bl int
	if _, err := fmt.Sscanf(im.Color, "#%02x%02x%02x", &r, &g, &bl); err != nil {
		t.Fatalf("colour %q: %v", im.Color, err)
	}
	near := func(got int, fill float64) bool {
		want := (fill*15 + 0x14) / 16
		return math.Abs(float64(got)-want) < 6
	}
	if !near(r, 0x30+16) || !near(g, 0x60) || !near(bl, 0x90) {
		t.Errorf("colour %s, want the average of fill and background", im.Color)
	}
}

// artworkObjects lists the store's artwork keys.
func (b *testBundle) artworkObjects() []string {
	b.t.Helper()
	var keys []string
	if err := b.media.List(b.ctx, ArtworkPrefix, func(i storage.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		b.t.Fatal(err)
	}
	return keys
}

func TestSetArtwork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tt := b.title(TitleInput{Name: "Metropolis"})
	first := testPNG(t, 780, 1170, color.NRGBA{200, 40, 40, 255}, false)

	at, err := b.s.SetArtwork(b.ctx, tt.ID, SlotPoster, bytes.NewReader(first), "image/png")
	if err != nil {
		t.Fatal(err)
	}
	p := at.Artwork.Poster
	if p == nil || at.Artwork.Backdrop != nil || len(p.Sizes) != 4 || p.Sizes[0].Width != 185 || p.Sizes[3].Width != 780 {
		t.Fatalf("artwork after upload: %+v", at.Artwork)
	}
	for _, sz := range p.Sizes {
		if !strings.HasPrefix(sz.URL, "https://cdn.example.com/media/artwork/") || !strings.HasSuffix(sz.URL, "/"+strconv.Itoa(sz.Width)+".jpg") {
			t.Fatalf("URL %s", sz.URL)
		}
	}
	if p.Color[0] != '#' || p.Color < "#b0" {
		t.Errorf("colour of a red image: %s", p.Color)
	}
	objs := b.artworkObjects()
	if len(objs) != 4 {
		t.Fatalf("objects: %v", objs)
	}
	// Viewers see the same image.
	page, err := b.s.Title(b.ctx, adult, tt.ID)
	if err != nil || page.Artwork.Poster == nil || page.Artwork.Poster.Sizes[1].URL != p.Sizes[1].URL {
		t.Fatalf("viewer's page: %+v %v", page.Artwork, err)
	}

	// The same image again changes nothing; another replaces it and its
	// objects go.
	again, err := b.s.SetArtwork(b.ctx, tt.ID, SlotPoster, bytes.NewReader(first), "image/png")
	if err != nil || again.Artwork.Poster.Sizes[0].URL != p.Sizes[0].URL || len(b.artworkObjects()) != 4 {
		t.Fatalf("same image again: %+v %v %v", again.Artwork.Poster, err, b.artworkObjects())
	}
	second, err := b.s.SetArtwork(b.ctx, tt.ID, SlotPoster, bytes.NewReader(testJPEG(t, 400, 600)), "image/jpeg")
	if err != nil {
		t.Fatal(err)
	}
	// 400 wide: 185 and 342, not enlarged to 500.
	if np := second.Artwork.Poster; len(np.Sizes) != 2 || np.Sizes[1].Width != 342 || np.Sizes[0].URL == p.Sizes[0].URL {
		t.Fatalf("replacement: %+v", np)
	}
	if objs := b.artworkObjects(); len(objs) != 2 {
		t.Fatalf("objects after replacing: %v (the old image's must be gone)", objs)
	}

	// A refused upload leaves everything as it was.
	if _, err := b.s.SetArtwork(b.ctx, tt.ID, SlotPoster, bytes.NewReader(first[:len(first)/2]), "image/png"); codeOf(err) != "invalid_image" {
		t.Fatalf("truncated PNG: %v", err)
	}
	if objs := b.artworkObjects(); len(objs) != 2 {
		t.Fatalf("objects after a refused upload: %v", objs)
	}

	if _, err := b.s.SetArtwork(b.ctx, tt.ID, "thumbnail", bytes.NewReader(first), "image/png"); !errors.Is(err, ErrArtworkSlot) {
		t.Errorf("unknown slot: %v", err)
	}
	if _, err := b.s.SetArtwork(b.ctx, "00000000-0000-4000-8000-000000000000", SlotPoster, bytes.NewReader(first), "image/png"); !errors.Is(err, ErrTitleNotFound) {
		t.Errorf("unknown title: %v", err)
	}

	// Removing the poster removes its objects; removing it again is fine.
	if err := b.s.DeleteArtwork(b.ctx, tt.ID, SlotPoster); err != nil {
		t.Fatal(err)
	}
	if err := b.s.DeleteArtwork(b.ctx, tt.ID, SlotPoster); err != nil {
		t.Fatalf("deleting an empty slot: %v", err)
	}
	if at, _ := b.s.AdminTitle(b.ctx, tt.ID); at.Artwork.Poster != nil || len(b.artworkObjects()) != 0 {
		t.Fatalf("after delete: %+v %v", at.Artwork, b.artworkObjects())
	}
	if err := b.s.DeleteArtwork(b.ctx, "nope", SlotPoster); !errors.Is(err, ErrTitleNotFound) {
		t.Errorf("delete on an unknown title: %v", err)
	}

	// Deleting a title deletes its images.
	if _, err := b.s.SetArtwork(b.ctx, tt.ID, SlotBackdrop, bytes.NewReader(testJPEG(t, 800, 450)), "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	if err := b.s.DeleteTitle(b.ctx, tt.ID); err != nil {
		t.Fatal(err)
	}
	if objs := b.artworkObjects(); len(objs) != 0 {
		t.Fatalf("objects of a deleted title: %v", objs)
	}
}

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
