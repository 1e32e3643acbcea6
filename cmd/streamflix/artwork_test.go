package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
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

// send makes a request with a raw body of contentType and returns the
// response and its body. A body of unknownLength goes chunked.
func send(t *testing.T, method, url, tok, contentType string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// chunked hides a reader's length, so the request is sent chunked.
type chunked struct{ io.Reader }

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

func problemCode(t *testing.T, what string, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	var p struct {
		Status int    `json:"status"`
		Code   string `json:"code"`
	}
	_ = json.Unmarshal(body, &p)
	if resp.StatusCode != status || p.Code != code || p.Status != status || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%s: %d %s %s, want %d %s as problem+json", what, resp.StatusCode, resp.Header.Get("Content-Type"), body, status, code)
	}
}

func TestCatalogArtwork(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, true)
	a, b := id.a.URL(), id.b.URL()
	adultTok, _, _ := catalogViewer(t, id, "art@example.com")
	tt := publishTitle(t, id, map[string]any{"kind": "movie", "name": "Metropolis", "maturity_rating": "PG"})
	titlePath := "/api/v1/titles/" + tt.ID
	artPath := "/api/v1/admin/titles/" + tt.ID + "/artwork/"

	viewerPage := func(base string) (titleArtwork, string) {
		t.Helper()
		resp, body := send(t, "GET", base+titlePath, adultTok, "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("title page: %d %s", resp.StatusCode, body)
		}
		var ta titleArtwork
		if err := json.Unmarshal(body, &ta); err != nil {
			t.Fatal(err)
		}
		return ta, string(body)
	}
	// Instance B caches the page without artwork (twice: the first read
	// may only set the catalog version).
	viewerPage(b)
	if page, raw := viewerPage(b); page.Artwork.Poster != nil || !strings.Contains(raw, `"artwork":{"poster":null,"backdrop":null}`) {
		t.Fatalf("artwork before any upload: %s", raw)
	}

	// An operator uploads a poster through A.
	resp, body := send(t, "PUT", a+artPath+"poster", testAdminToken, "image/png", bytes.NewReader(pngImage(t, 780, 1170, color.RGBA{180, 40, 60, 255})))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var admin titleArtwork
	if err := json.Unmarshal(body, &admin); err != nil {
		t.Fatal(err)
	}
	poster := admin.Artwork.Poster
	if poster == nil || len(poster.Sizes) != 4 || admin.Artwork.Backdrop != nil || !strings.HasPrefix(poster.Color, "#") || len(poster.Color) != 7 {
		t.Fatalf("admin title after upload: %s", body)
	}
	for i, w := range []int{185, 342, 500, 780} {
		if s := poster.Sizes[i]; s.Width != w || !strings.HasPrefix(s.URL, "/media/artwork/") || !strings.HasSuffix(s.URL, ".jpg") {
			t.Fatalf("size %d: %+v", i, s)
		}
	}

	// B sees it at once, and serves each size from the shared media.
	page, _ := viewerPage(b)
	if page.Artwork.Poster == nil || page.Artwork.Poster.Sizes[3].URL != poster.Sizes[3].URL {
		t.Fatalf("B's title page after the upload on A: %+v", page.Artwork.Poster)
	}
	for _, s := range poster.Sizes {
		resp, img := send(t, "GET", b+s.URL, "", "", nil)
		h := resp.Header
		if resp.StatusCode != http.StatusOK || h.Get("Content-Type") != "image/jpeg" || h.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" {
			t.Fatalf("GET %s: %d %v", s.URL, resp.StatusCode, h)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(img))
		if err != nil || cfg.Width != s.Width || cfg.Height != (s.Width*3+1)/2 {
			t.Fatalf("%s decodes as %dx%d (%v), want %d wide at 2:3", s.URL, cfg.Width, cfg.Height, err, s.Width)
		}
	}
	resp, part := send(t, "GET", a+poster.Sizes[0].URL, "", "", nil, "Range", "bytes=0-99")
	if resp.StatusCode != http.StatusPartialContent || len(part) != 100 || !strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes 0-99/") {
		t.Fatalf("range request: %d %d bytes %v", resp.StatusCode, len(part), resp.Header)
	}
	resp, _ = send(t, "GET", a+poster.Sizes[0].URL, "", "", nil, "If-None-Match", resp.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", resp.StatusCode)
	}

	// A new poster replaces the old one, whose images are gone.
	resp, body = send(t, "PUT", a+artPath+"poster", testAdminToken, "image/png", bytes.NewReader(pngImage(t, 400, 600, color.RGBA{20, 40, 160, 255})))
	var replaced titleArtwork
	_ = json.Unmarshal(body, &replaced)
	if resp.StatusCode != http.StatusOK || replaced.Artwork.Poster == nil || len(replaced.Artwork.Poster.Sizes) != 2 || replaced.Artwork.Poster.Sizes[0].URL == poster.Sizes[0].URL {
		t.Fatalf("re-upload: %d %s", resp.StatusCode, body)
	}
	resp, body = send(t, "GET", b+poster.Sizes[0].URL, "", "", nil)
	problemCode(t, "the replaced poster", resp, body, http.StatusNotFound, "media_not_found")
	if page, _ := viewerPage(b); page.Artwork.Poster == nil || page.Artwork.Poster.Sizes[0].URL != replaced.Artwork.Poster.Sizes[0].URL {
		t.Fatalf("B after the re-upload: %+v", page.Artwork.Poster)
	}

	// Uploads that are refused, each with its code.
	big := bytes.Repeat([]byte{0xff}, 10<<20+1024)
	for _, c := range []struct {
		name, slot, tok, contentType string
		body                         io.Reader
		status                       int
		code                         string
	}{
		{"TooBig", "backdrop", testAdminToken, "image/png", bytes.NewReader(big), http.StatusRequestEntityTooLarge, "body_too_large"},
		{"TooBigChunked", "backdrop", testAdminToken, "image/png", chunked{bytes.NewReader(big)}, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"TextFile", "backdrop", testAdminToken, "image/png", strings.NewReader("Just a text file.\n"), http.StatusUnsupportedMediaType, "unsupported_image"},
		{"DeclaredText", "backdrop", testAdminToken, "text/plain", bytes.NewReader(pngImage(t, 800, 450, color.RGBA{A: 255})), http.StatusUnsupportedMediaType, "unsupported_image"},
		{"TruncatedPNG", "backdrop", testAdminToken, "image/png", bytes.NewReader(pngImage(t, 800, 450, color.RGBA{9, 9, 9, 255})[:400]), http.StatusUnprocessableEntity, "invalid_image"},
		{"Bomb", "backdrop", testAdminToken, "image/png", bytes.NewReader(pngBomb(20000, 20000)), http.StatusUnprocessableEntity, "image_too_large"},
		{"TooSmall", "backdrop", testAdminToken, "image/png", bytes.NewReader(pngImage(t, 320, 180, color.RGBA{A: 255})), http.StatusUnprocessableEntity, "image_too_small"},
		{"Viewer", "backdrop", adultTok, "image/png", bytes.NewReader(pngImage(t, 800, 450, color.RGBA{A: 255})), http.StatusForbidden, "admin_required"},
		{"UnknownSlot", "thumbnail", testAdminToken, "image/png", bytes.NewReader(pngImage(t, 800, 450, color.RGBA{A: 255})), http.StatusNotFound, "artwork_slot_not_found"},
	} {
		resp, body := send(t, "PUT", a+artPath+c.slot, c.tok, c.contentType, c.body)
		problemCode(t, c.name, resp, body, c.status, c.code)
	}
	resp, body = send(t, "PUT", a+"/api/v1/admin/titles/00000000-0000-4000-8000-000000000000/artwork/poster", testAdminToken, "image/png",
		bytes.NewReader(pngImage(t, 400, 600, color.RGBA{A: 255})))
	problemCode(t, "unknown title", resp, body, http.StatusNotFound, "title_not_found")
	if page, _ := viewerPage(b); page.Artwork.Backdrop != nil {
		t.Fatalf("a refused upload left a backdrop: %+v", page.Artwork.Backdrop)
	}

	// Removing the poster: the viewer sees none, its images are gone.
	resp, body = send(t, "DELETE", a+artPath+"poster", testAdminToken, "", nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	if page, _ := viewerPage(b); page.Artwork.Poster != nil {
		t.Fatalf("poster after delete: %+v", page.Artwork.Poster)
	}
	resp, body = send(t, "HEAD", a+replaced.Artwork.Poster.Sizes[1].URL, "", "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD of a removed image: %d %s", resp.StatusCode, body)
	}
	resp, body = send(t, "GET", a+"/media/../../etc/passwd", "", "", nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("path outside the media: %d %s", resp.StatusCode, body)
	}
}
