package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"
)

// artworkImage is the shape the apps read: a colour and sizes.
type artworkImage struct {
	Color string `json:"color"`
	Sizes []struct {
		Width int    `json:"width"`
		URL   string `json:"url"`
	} `json:"sizes"`
}

type titleArtwork struct {
	Artwork struct {
		Poster   *artworkImage `json:"poster"`
		Backdrop *artworkImage `json:"backdrop"`
	} `json:"artwork"`
}

func pngImage(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{c.R, uint8(int(c.G) + y*40/h), c.B, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngBomb declares a w x h image in a valid PNG header and holds no pixels.
func pngBomb(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := make([]byte, 4+13)
	copy(chunk, "IHDR")
	binary.BigEndian.PutUint32(chunk[4:], w)
	binary.BigEndian.PutUint32(chunk[8:], h)
	chunk[12], chunk[13] = 8, 2
	_ = binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestCatalogArtwork(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, true)
	a, b := newClient(t, id.a.URL()), newClient(t, id.b.URL())
	admin := a.as(testAdminToken)
	adultTok, _, _ := catalogViewer(t, id, "art@example.com")
	tt := publishTitle(t, id, map[string]any{"kind": "movie", "name": "Metropolis", "maturity_rating": "PG"})
	artPath := "/api/v1/admin/titles/" + tt.ID + "/artwork/"

	viewerPage := func() (titleArtwork, string) {
		t.Helper()
		var ta titleArtwork
		resp := b.as(adultTok).do("GET", "/api/v1/titles/"+tt.ID, nil).want("title page", http.StatusOK, "").decode(&ta)
		return ta, string(resp.body)
	}
	// Instance B caches the page without artwork (twice: the first read
	// may only set the catalog version).
	viewerPage()
	if page, body := viewerPage(); page.Artwork.Poster != nil || !strings.Contains(body, `"artwork":{"poster":null,"backdrop":null}`) {
		t.Fatalf("artwork before any upload: %s", body)
	}

	// An operator uploads a poster through A.
	var uploaded titleArtwork
	resp := admin.do("PUT", artPath+"poster", raw("image/png", pngImage(t, 780, 1170, color.RGBA{180, 40, 60, 255}))).
		want("upload", http.StatusOK, "").decode(&uploaded)
	poster := uploaded.Artwork.Poster
	if poster == nil || len(poster.Sizes) != 4 || uploaded.Artwork.Backdrop != nil || !strings.HasPrefix(poster.Color, "#") || len(poster.Color) != 7 {
		t.Fatalf("admin title after upload: %s", resp.body)
	}
	for i, w := range []int{185, 342, 500, 780} {
		if s := poster.Sizes[i]; s.Width != w || !strings.HasPrefix(s.URL, "/media/artwork/") || !strings.HasSuffix(s.URL, ".jpg") {
			t.Fatalf("size %d: %+v", i, s)
		}
	}

	// B sees it at once, and serves each size from the shared media.
	page, _ := viewerPage()
	if page.Artwork.Poster == nil || page.Artwork.Poster.Sizes[3].URL != poster.Sizes[3].URL {
		t.Fatalf("B's title page after the upload on A: %+v", page.Artwork.Poster)
	}
	for _, s := range poster.Sizes {
		resp := b.do("GET", s.URL, nil)
		h := resp.Header
		if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != "image/jpeg" || h.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" {
			t.Fatalf("GET %s: %d %v", s.URL, resp.StatusCode, h)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(resp.body))
		if err != nil || cfg.Width != s.Width || cfg.Height != (s.Width*3+1)/2 {
			t.Fatalf("%s decodes as %dx%d (%v), want %d wide at 2:3", s.URL, cfg.Width, cfg.Height, err, s.Width)
		}
	}
	resp = a.do("GET", poster.Sizes[0].URL, nil, header("Range", "bytes=0-99"))
	if resp.StatusCode != http.StatusPartialContent || len(resp.body) != 100 || !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes 0-99/") {
		t.Fatalf("range request: %d %d bytes %v", resp.StatusCode, len(resp.body), resp.Header)
	}
	a.do("GET", poster.Sizes[0].URL, nil, header("If-None-Match", resp.Header.Get("ETag"))).want("If-None-Match", http.StatusNotModified, "")

	// A new poster replaces the old one, whose images are gone.
	var replaced titleArtwork
	resp = admin.do("PUT", artPath+"poster", raw("image/png", pngImage(t, 400, 600, color.RGBA{20, 40, 160, 255}))).
		want("re-upload", http.StatusOK, "").decode(&replaced)
	if replaced.Artwork.Poster == nil || len(replaced.Artwork.Poster.Sizes) != 2 || replaced.Artwork.Poster.Sizes[0].URL == poster.Sizes[0].URL {
		t.Fatalf("re-upload: %s", resp.body)
	}
	b.do("GET", poster.Sizes[0].URL, nil).want("the replaced poster", http.StatusNotFound, "media_not_found")
	if page, _ := viewerPage(); page.Artwork.Poster == nil || page.Artwork.Poster.Sizes[0].URL != replaced.Artwork.Poster.Sizes[0].URL {
		t.Fatalf("B after the re-upload: %+v", page.Artwork.Poster)
	}

	// Uploads that are refused, each with its code.
	big := bytes.Repeat([]byte{0xff}, 10<<20+1024)
	for _, c := range []struct {
		name, slot, tok string
		body            rawBody
		status          int
		code            string
	}{
		{"TooBig", "backdrop", testAdminToken, raw("image/png", big), http.StatusRequestEntityTooLarge, "body_too_large"},
		{"TooBigChunked", "backdrop", testAdminToken, rawBody{contentType: "image/png", data: big, chunked: true}, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"TextFile", "backdrop", testAdminToken, raw("image/png", []byte("Just a text file.\n")), http.StatusUnsupportedMediaType, "unsupported_image"},
		{"DeclaredText", "backdrop", testAdminToken, raw("text/plain", pngImage(t, 800, 450, color.RGBA{A: 255})), http.StatusUnsupportedMediaType, "unsupported_image"},
		{"TruncatedPNG", "backdrop", testAdminToken, raw("image/png", pngImage(t, 800, 450, color.RGBA{9, 9, 9, 255})[:400]), http.StatusUnprocessableEntity, "invalid_image"},
		{"Bomb", "backdrop", testAdminToken, raw("image/png", pngBomb(20000, 20000)), http.StatusUnprocessableEntity, "image_too_large"},
		{"TooSmall", "backdrop", testAdminToken, raw("image/png", pngImage(t, 320, 180, color.RGBA{A: 255})), http.StatusUnprocessableEntity, "image_too_small"},
		{"Viewer", "backdrop", adultTok, raw("image/png", pngImage(t, 800, 450, color.RGBA{A: 255})), http.StatusForbidden, "admin_required"},
		{"UnknownSlot", "thumbnail", testAdminToken, raw("image/png", pngImage(t, 800, 450, color.RGBA{A: 255})), http.StatusNotFound, "artwork_slot_not_found"},
	} {
		a.as(c.tok).do("PUT", artPath+c.slot, c.body).want(c.name, c.status, c.code)
	}
	admin.do("PUT", "/api/v1/admin/titles/00000000-0000-4000-8000-000000000000/artwork/poster", raw("image/png", pngImage(t, 400, 600, color.RGBA{A: 255}))).
		want("unknown title", http.StatusNotFound, "title_not_found")
	if page, _ := viewerPage(); page.Artwork.Backdrop != nil {
		t.Fatalf("a refused upload left a backdrop: %+v", page.Artwork.Backdrop)
	}

	// Removing the poster: the viewer sees none, its images are gone.
	admin.do("DELETE", artPath+"poster", nil).want("delete", http.StatusNoContent, "")
	if page, _ := viewerPage(); page.Artwork.Poster != nil {
		t.Fatalf("poster after delete: %+v", page.Artwork.Poster)
	}
	a.do("HEAD", replaced.Artwork.Poster.Sizes[1].URL, nil).want("HEAD of a removed image", http.StatusNotFound, "")
	a.do("GET", "/media/../../etc/passwd", nil).want("path outside the media", http.StatusNotFound, "")
}
