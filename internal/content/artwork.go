package content

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"sync"

	"github.com/jmoiron/sqlx"
	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/streamflix/streamflix/internal/content/artgen"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// Artwork slots: the images a title has.
const (
	SlotPoster   = "poster"
	SlotBackdrop = "backdrop"
)

// Limits and settings of artwork.
const (
	// MaxArtworkBytes is the largest upload accepted.
	MaxArtworkBytes = 10 << 20
	// maxArtworkPixels bounds an image's decoded size, checked from its
	// header before decoding, so that a small file declaring a huge image
	// (a decompression bomb) is refused without allocating for it.
	maxArtworkPixels = 50_000_000
	// imagingSlots is how many images are decoded and resized at once.
	imagingSlots = 2
	jpegQuality  = 85
	// ArtworkPrefix starts every artwork object's key. Keys are
	// content-addressed: an object's bytes never change, so it can be
	// cached for good.
	ArtworkPrefix = "artwork/"
)

// slot describes one kind of artwork: its column, the widths it is
// rendered at (ascending; never above the source's width) and the shapes
// accepted.
type slot struct {
	name     string
	column   string
	widths   []int
	minWidth int
	// minRatio and maxRatio bound height / width.
	minRatio, maxRatio float64
	shape              string
	// art is the kind of image GenerateArtwork draws for the slot.
	art artgen.Kind
}

var slots = map[string]slot{
	SlotPoster: {name: SlotPoster, column: "poster", widths: []int{185, 342, 500, 780}, minWidth: 342,
		minRatio: 1, maxRatio: 2, shape: "portrait, from 1:1 to 1:2 (2:3 is usual)", art: artgen.Poster},
	SlotBackdrop: {name: SlotBackdrop, column: "backdrop", widths: []int{300, 780, 1280, 1920}, minWidth: 780,
		minRatio: 1.0 / 3, maxRatio: 0.75, shape: "landscape, from 4:3 to 3:1 (16:9 is usual)", art: artgen.Backdrop},
}

// Errors about artwork.
var (
	ErrArtworkSlot     = apperr.New(apperr.NotFound, "artwork_slot_not_found", `Artwork slots are "poster" and "backdrop".`)
	ErrUnsupportedType = &apperr.Error{Kind: apperr.Invalid, Code: "unsupported_image", Status: http.StatusUnsupportedMediaType,
		Message: "Send a JPEG, PNG, WebP or GIF image as the request body, with its Content-Type (image/jpeg, image/png, image/webp or image/gif)."}
	ErrArtworkTooBig = apperr.New(apperr.TooLarge, "body_too_large", "Artwork must be at most 10 MiB.")
	ErrInvalidImage  = apperr.New(apperr.Invalid, "invalid_image", "The image cannot be decoded: it is truncated or corrupt.")
	ErrImageTooLarge = apperr.New(apperr.Invalid, "image_too_large", "The image must be at most 50 megapixels.")
	errNoMedia       = errors.New("content: no media store configured")
)

func errTooSmall(sl slot) error {
	return apperr.New(apperr.Invalid, "image_too_small", fmt.Sprintf("A %s must be at least %d pixels wide.", sl.name, sl.minWidth))
}

func errAspect(sl slot) error {
	return apperr.New(apperr.Invalid, "bad_aspect_ratio", fmt.Sprintf("A %s must be %s.", sl.name, sl.shape))
}

// storedImage is an image as the title's column holds it.
type storedImage struct {
	Key    string `json:"key"`
	Color  string `json:"color"`
	Widths []int  `json:"widths"`
}

func (im storedImage) object(width int) string { return im.Key + "/" + strconv.Itoa(width) + ".jpg" }

// viewImage turns a column's JSON into what clients see, or nil for none.
func viewImage(raw []byte, mediaURL string) *Image {
	if len(raw) == 0 {
		return nil
	}
	var im storedImage
	if err := json.Unmarshal(raw, &im); err != nil || im.Key == "" || len(im.Widths) == 0 {
		return nil
	}
	out := &Image{Color: im.Color, Sizes: make([]ImageSize, len(im.Widths))}
	for i, w := range im.Widths {
		out.Sizes[i] = ImageSize{Width: w, URL: mediaURL + "/" + im.object(w)}
	}
	return out
}

// imageFormat decodes one accepted format.
type imageFormat struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// formats are the accepted formats by media type. Each is decoded by its
// own package: what the bytes are decides, not what the client said.
var formats = map[string]imageFormat{
	"image/jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"image/png":  {png.DecodeConfig, png.Decode},
	"image/gif":  {gif.DecodeConfig, gif.Decode},
	"image/webp": {webp.DecodeConfig, webp.Decode},
}

// readUpload reads at most MaxArtworkBytes of body.
func readUpload(body io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, MaxArtworkBytes+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, ErrArtworkTooBig
	case err != nil:
		return nil, fmt.Errorf("read artwork: %w", err)
	case len(data) > MaxArtworkBytes:
		return nil, ErrArtworkTooBig
	}
	return data, nil
}

// checkUpload finds data's format from its bytes and checks the
// dimensions its header declares, without decoding the pixels. The
// declared content type must name an accepted format too, so that a client
// sending something else learns it from a 415.
func checkUpload(data []byte, contentType string, sl slot) (imageFormat, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if _, ok := formats[mt]; err != nil || !ok {
		return imageFormat{}, ErrUnsupportedType
	}
	f, ok := formats[http.DetectContentType(data)]
	if !ok {
		return imageFormat{}, ErrUnsupportedType
	}
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return imageFormat{}, ErrInvalidImage
	}
	return f, checkSize(cfg.Width, cfg.Height, sl)
}

// checkSize checks an image's dimensions for sl.
func checkSize(w, h int, sl slot) error {
	switch ratio := float64(h) / float64(w); {
	case int64(w)*int64(h) > maxArtworkPixels:
		return ErrImageTooLarge
	case w < sl.minWidth:
		return errTooSmall(sl)
	case ratio < sl.minRatio || ratio > sl.maxRatio:
		return errAspect(sl)
	}
	return nil
}

// acquire waits for an imaging slot; release gives it back.
func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.imaging <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Service) release() { <-s.imaging }

// SetArtwork replaces the title's image in slot ("poster" or "backdrop")
// with the image in body, whose declared type is contentType: it checks
// the image, renders it at the slot's widths as JPEG, stores the
// renditions under a new content-addressed key, points the title at them,
// and removes the renditions of the image it replaced. It returns
// ErrArtworkSlot, ErrTitleNotFound, ErrUnsupportedType (not JPEG, PNG,
// WebP or GIF), ErrArtworkTooBig (over MaxArtworkBytes), ErrInvalidImage,
// ErrImageTooLarge, or an error coded image_too_small or bad_aspect_ratio.
func (s *Service) SetArtwork(ctx context.Context, titleID, slotName string, body io.Reader, contentType string) (AdminTitle, error) {
	sl, ok := slots[slotName]
	if !ok {
		return AdminTitle{}, ErrArtworkSlot
	}
	if _, err := findAdminTitle(ctx, s.db, titleID, false); err != nil {
		return AdminTitle{}, err
	}
	data, err := readUpload(body)
	if err != nil {
		return AdminTitle{}, err
	}
	f, err := checkUpload(data, contentType, sl)
	if err != nil {
		return AdminTitle{}, err
	}
	if err := s.acquire(ctx); err != nil {
		return AdminTitle{}, err
	}
	im, renditions, err := func() (storedImage, []rendition, error) {
		defer s.release()
		src, err := f.decode(bytes.NewReader(data))
		if err != nil {
			return storedImage{}, nil, ErrInvalidImage
		}
		// The key covers the title and slot too: an object then belongs to
		// one title's slot alone, and removing it never breaks another.
		return render(src, sl, artworkKey("upload-v1", titleID, sl.name, string(data)))
	}()
	if err != nil {
		return AdminTitle{}, err
	}
	if _, err := s.storeImage(ctx, titleID, sl, im, renditions, false); err != nil {
		return AdminTitle{}, err
	}
	s.bump(ctx)
	return s.AdminTitle(ctx, titleID)
}

// DeleteArtwork removes the title's image in slot; a slot already empty
// is not an error. It returns ErrArtworkSlot or ErrTitleNotFound.
func (s *Service) DeleteArtwork(ctx context.Context, titleID, slotName string) error {
	sl, ok := slots[slotName]
	if !ok {
		return ErrArtworkSlot
	}
	if !validUUID(titleID) {
		return ErrTitleNotFound
	}
	var old []byte
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) (err error) {
		if old, err = lockImage(ctx, tx, titleID, sl); err != nil || old == nil {
			return err
		}
		return setImage(ctx, tx, titleID, sl, nil)
	})
	if err != nil || old == nil {
		return err
	}
	s.bump(ctx)
	s.removeImage(ctx, old)
	return nil
}

// rendition is one encoded width of an image.
type rendition struct {
	width int
	data  []byte
}

// artworkKey derives an image's key from what determines its bytes; the
// parts are length-prefixed so that no two lists hash alike.
func artworkKey(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return ArtworkPrefix + hex.EncodeToString(h.Sum(nil))[:32]
}

// background is what transparent pixels become: JPEG has no alpha, and the
// apps are dark.
var background = color.RGBA{0x14, 0x14, 0x14, 0xff}

// render resizes src to each of sl's widths it reaches (never enlarging),
// largest first and each from the one before, with Catmull-Rom
// resampling, and encodes them.
func render(src image.Image, sl slot, key string) (storedImage, []rendition, error) {
	b := src.Bounds()
	var widths []int
	for _, w := range sl.widths {
		if w <= b.Dx() {
			widths = append(widths, w)
		}
	}
	if len(widths) == 0 {
		return storedImage{}, nil, errTooSmall(sl)
	}
	sizes := make([]*image.RGBA, len(widths))
	prev, opaque := src, isOpaque(src)
	for i := len(widths) - 1; i >= 0; i-- {
		w := widths[i]
		h := max(1, int(math.Round(float64(w)*float64(b.Dy())/float64(b.Dx()))))
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		op := draw.Src
		if !opaque {
			draw.Draw(dst, dst.Bounds(), image.NewUniform(background), image.Point{}, draw.Src)
			op = draw.Over
		}
		if pb := prev.Bounds(); pb.Dx() == w && pb.Dy() == h {
			draw.Draw(dst, dst.Bounds(), prev, pb.Min, op)
		} else {
			draw.CatmullRom.Scale(dst, dst.Bounds(), prev, pb, op, nil)
		}
		sizes[i] = dst
		prev, opaque = dst, true
	}
	return encode(sizes, key)
}

// encode turns the sizes of an image (opaque, narrowest first) into JPEG
// renditions, and the image to store under key; its colour is the average
// of the narrowest.
func encode(sizes []*image.RGBA, key string) (storedImage, []rendition, error) {
	out := make([]rendition, len(sizes))
	for i, img := range sizes {
		var err error
		if out[i], err = encodeJPEG(img); err != nil {
			return storedImage{}, nil, err
		}
	}
	return imageOf(key, averageColor(sizes[0]), out), out, nil
}

func encodeJPEG(img *image.RGBA) (rendition, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return rendition{}, fmt.Errorf("encode artwork: %w", err)
	}
	return rendition{width: img.Bounds().Dx(), data: buf.Bytes()}, nil
}

func imageOf(key, color string, renditions []rendition) storedImage {
	im := storedImage{Key: key, Color: color, Widths: make([]int, len(renditions))}
	for i, r := range renditions {
		im.Widths[i] = r.width
	}
	return im
}

func isOpaque(im image.Image) bool {
	o, ok := im.(interface{ Opaque() bool })
	return ok && o.Opaque()
}

// averageColor returns the mean of im's pixels as #rrggbb.
func averageColor(im *image.RGBA) string {
	var r, g, b, n uint64
	bd := im.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		row := im.Pix[im.PixOffset(bd.Min.X, y):im.PixOffset(bd.Max.X, y)]
		for i := 0; i+3 < len(row); i += 4 {
			r += uint64(row[i])
			g += uint64(row[i+1])
			b += uint64(row[i+2])
			n++
		}
	}
	if n == 0 {
		return "#000000"
	}
	return fmt.Sprintf("#%02x%02x%02x", r/n, g/n, b/n)
}

// storeImage writes the renditions, then points the title's slot at im
// and removes the image it replaces. The caller invalidates the catalog
// cache, once for all the slots it stores. With onlyIfEmpty, a slot that holds
// an image keeps it and im is discarded; stored reports whether im was
// kept. It returns ErrTitleNotFound.
func (s *Service) storeImage(ctx context.Context, titleID string, sl slot, im storedImage, renditions []rendition, onlyIfEmpty bool) (stored bool, err error) {
	if s.media == nil {
		return false, errNoMedia
	}
	for _, r := range renditions {
		if err := s.media.Put(ctx, im.object(r.width), bytes.NewReader(r.data)); err != nil {
			return false, fmt.Errorf("store artwork: %w", err)
		}
	}
	raw, err := json.Marshal(im)
	if err != nil {
		return false, err
	}
	var old []byte
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) (err error) {
		if old, err = lockImage(ctx, tx, titleID, sl); err != nil || (onlyIfEmpty && old != nil) {
			return err
		}
		stored = true
		return setImage(ctx, tx, titleID, sl, raw)
	})
	if err != nil {
		// Only when the title is known not to point at im may its objects
		// go; after any other failure (a commit that may have happened)
		// they stay, at worst orphaned.
		if errors.Is(err, ErrTitleNotFound) {
			s.removeImage(ctx, raw)
		}
		return false, err
	}
	if !stored {
		if !sameKey(old, im.Key) {
			s.removeImage(ctx, raw)
		}
		return false, nil
	}
	if !sameKey(old, im.Key) {
		s.removeImage(ctx, old)
	}
	return true, nil
}

func sameKey(raw []byte, key string) bool {
	var im storedImage
	return raw != nil && json.Unmarshal(raw, &im) == nil && im.Key == key
}

// removeImage deletes the renditions of the image in raw (a column's
// JSON). A failure is logged and leaves orphaned objects, never a broken
// title: nothing points at them any more.
func (s *Service) removeImage(ctx context.Context, raw []byte) {
	var im storedImage
	if raw == nil || s.media == nil || json.Unmarshal(raw, &im) != nil || im.Key == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, w := range im.Widths {
		if err := s.media.Delete(ctx, im.object(w)); err != nil {
			s.log.Warn().Err(err).Str("key", im.object(w)).Msg("content: remove replaced artwork")
		}
	}
}

// GenerateArtwork draws (with package artgen) a poster (2:3, up to 780x1170) and a backdrop
// (16:9, up to 1920x1080) for the title from its name, release year and
// first genre, and stores them as uploads are stored (JPEG at the slots'
// widths, content-addressed keys, a placeholder colour), in the slots that
// hold no image: an uploaded image is never replaced, so it is safe to call
// for every title. Each width is drawn at that width rather than scaled
// down from the largest: the drawing is shapes and type, sharper so and
// cheaper. The images depend only on the title's id and those three facts:
// calling it again makes the same images under the same keys. drawn
// reports whether a slot was filled. It returns ErrTitleNotFound.
func (s *Service) GenerateArtwork(ctx context.Context, titleID string) (drawn bool, err error) {
	row, err := findAdminTitle(ctx, s.db, titleID, false)
	if err != nil {
		return false, err
	}
	t := row.title(s.cfg.MediaURL)
	card := artgen.Card{Name: t.Name}
	if t.Year != nil {
		card.Year = strconv.Itoa(*t.Year)
	}
	if len(t.Genres) > 0 {
		card.Genre, card.GenreSlug = t.Genres[0].Name, t.Genres[0].Slug
	}
	var todo []slot
	if t.Artwork.Poster == nil {
		todo = append(todo, slots[SlotPoster])
	}
	if t.Artwork.Backdrop == nil {
		todo = append(todo, slots[SlotBackdrop])
	}
	if len(todo) == 0 {
		return false, nil
	}
	renditions, colors, err := s.drawCard(ctx, todo, card)
	if err != nil {
		return false, err
	}
	// One cache invalidation for the title, however many slots it took.
	defer func() {
		if drawn {
			s.bump(ctx)
		}
	}()
	for i, sl := range todo {
		im := imageOf(artworkKey("generated-v1", titleID, sl.name, card.Name, card.Year, card.GenreSlug), colors[i], renditions[i])
		stored, err := s.storeImage(ctx, titleID, sl, im, renditions[i], true)
		if err != nil {
			return drawn, err
		}
		drawn = drawn || stored
	}
	return drawn, nil
}

// drawCard draws and encodes card's artwork for each slot in todo, at
// each of its widths, and returns the renditions and colour of each slot.
func (s *Service) drawCard(ctx context.Context, todo []slot, card artgen.Card) ([][]rendition, []string, error) {
	// Every width of every slot is drawn and encoded on its own, as many at
	// once as imagingSlots allows, so that both cores stay busy.
	type job struct{ slot, size int }
	renditions := make([][]rendition, len(todo))
	colors := make([]string, len(todo))
	var jobs []job
	for i, sl := range todo {
		renditions[i] = make([]rendition, len(sl.widths))
		for j := range sl.widths {
			jobs = append(jobs, job{i, j})
		}
	}
	// Widest first, so that the last to finish are small.
	width := func(jb job) int { return todo[jb.slot].widths[jb.size] }
	sort.SliceStable(jobs, func(a, b int) bool { return width(jobs[a]) > width(jobs[b]) })
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for k, jb := range jobs {
		if err := s.acquire(ctx); err != nil {
			errs[k] = err
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.release()
			sl := todo[jb.slot]
			img := artgen.Draw(sl.art, card, sl.widths[jb.size])
			if jb.size == 0 {
				colors[jb.slot] = averageColor(img)
			}
			renditions[jb.slot][jb.size], errs[k] = encodeJPEG(img)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	return renditions, colors, nil
}
