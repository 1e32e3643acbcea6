// Package artgen draws title artwork: a poster or a backdrop made of a
// motif chosen by genre, a palette derived from the title's name, and the
// name set in type. It is pure drawing, with no storage and no catalog:
// the same card always gives the same pixels.
package artgen

import (
	"crypto/sha256"
	"encoding/binary"
	"image"
	"image/color"
	"math"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Card is what artwork is drawn from: a title's name, its release year
// and its first genre (name and slug), each possibly empty.
type Card struct {
	Name, Year, Genre, GenreSlug string
}

// Kind is the shape of an image.
type Kind int

// Kinds of image.
const (
	Poster   Kind = iota // 2:3, up to 780x1170
	Backdrop             // 16:9, up to 1920x1080
)

// Sizes of generated artwork: the largest width of each slot.
const (
	posterW, posterH     = 780, 1170
	backdropW, backdropH = 1920, 1080
)

// motif is the picture at the heart of generated artwork, chosen by genre.
type motif int

const (
	motifSun     motif = iota // a striped setting sun over ridges: westerns, adventure
	motifMoon                 // a crescent moon over a jagged horizon: horror, fantasy
	motifPlanet               // a ringed planet among stars: science fiction
	motifBlinds               // slanted light through blinds: noir, crime, mystery
	motifCircles              // overlapping discs: comedy, romance, animation, music
	motifArch                 // an arch and a low sun: drama and anything else
	motifGrid                 // a survey grid with a marked point: documentary, history
	numMotifs
)

// motifFor picks a motif from a genre's slug, or from the hash when the
// genre says nothing.
func motifFor(slug string, h uint64) motif {
	for _, m := range []struct {
		words []string
		m     motif
	}{
		{[]string{"western", "adventure", "action", "war"}, motifSun},
		{[]string{"horror", "fantasy", "gothic", "supernatural"}, motifMoon},
		{[]string{"sci", "science", "space", "future"}, motifPlanet},
		{[]string{"noir", "crime", "mystery", "thriller", "detective", "suspense"}, motifBlinds},
		{[]string{"comedy", "romance", "animation", "cartoon", "music", "family", "kids", "slapstick"}, motifCircles},
		{[]string{"documentary", "history", "news", "nature"}, motifGrid},
		{[]string{"drama", "serial", "silent"}, motifArch},
	} {
		for _, w := range m.words {
			if strings.Contains(slug, w) {
				return m.m
			}
		}
	}
	return motif(h % uint64(numMotifs))
}

// palette is the colours of one title's artwork.
type palette struct {
	top, bottom color.NRGBA // background gradient
	accent      color.NRGBA // the motif's main colour
	soft        color.NRGBA // a lighter companion
	deep        color.NRGBA // a darker companion
	text        color.NRGBA
	meta        color.NRGBA
	hue         float64 // the accent's
}

// hsl returns the colour of hue h (degrees), saturation s and lightness l
// (0 to 1).
func hsl(h, s, l float64) color.NRGBA {
	h = math.Mod(math.Mod(h, 360)+360, 360) / 360
	q := l * (1 + s)
	if l >= 0.5 {
		q = l + s - l*s
	}
	p := 2*l - q
	ch := func(t float64) uint8 {
		t = math.Mod(t+1, 1)
		var v float64
		switch {
		case t < 1.0/6:
			v = p + (q-p)*6*t
		case t < 0.5:
			v = q
		case t < 2.0/3:
			v = p + (q-p)*(2.0/3-t)*6
		default:
			v = p
		}
		return uint8(math.Round(math.Max(0, math.Min(1, v)) * 255))
	}
	return color.NRGBA{ch(h + 1.0/3), ch(h), ch(h - 1.0/3), 255}
}

func withAlpha(c color.NRGBA, a float64) color.NRGBA {
	c.A = uint8(math.Round(a * 255))
	return c
}

// paletteFor derives the colours from the name's hash, tempered by the
// motif's mood: noir is nearly monochrome, horror runs cold or blood-red.
func paletteFor(h uint64, m motif) palette {
	hue := float64(h%360) + float64((h>>9)%7)
	sat := 0.40 + float64((h>>16)%20)/100
	// Mostly neighbouring hues; now and then a split complement.
	shift := []float64{35, -40, 150, -35, 45, 200}[(h>>24)%6]
	switch m {
	case motifBlinds:
		sat = 0.12
	case motifMoon:
		if (h>>32)%2 == 0 {
			hue = 350 + float64((h>>40)%20) // blood red
		} else {
			hue = 200 + float64((h>>40)%60) // cold blue to violet
		}
		shift = 20
	case motifSun:
		shift = 150 + float64((h>>40)%60) // a sun against its complement
	}
	p := palette{
		top:    hsl(hue, sat*0.8, 0.20),
		bottom: hsl(hue+10, sat*0.6, 0.06),
		accent: hsl(hue+shift, math.Min(0.68, sat+0.15), 0.60),
		soft:   hsl(hue+shift+15, math.Min(0.6, sat+0.1), 0.82),
		deep:   hsl(hue-10, sat, 0.12),
		text:   color.NRGBA{0xf6, 0xf3, 0xee, 0xff},
		meta:   hsl(hue+shift, math.Min(0.6, sat+0.1), 0.80),
		hue:    hue + shift,
	}
	if m == motifSun {
		p.accent = hsl(8+float64((h>>40)%38), 0.72, 0.60) // suns are warm whatever the sky
		p.soft = hsl(30+float64((h>>40)%20), 0.7, 0.8)
	}
	if m == motifBlinds {
		p.accent = hsl(float64((h>>40)%45)-5, 0.75, 0.55) // the one colour noir allows: a red or amber lamp
		p.soft = color.NRGBA{0xe8, 0xe4, 0xda, 0xff}
	}
	return p
}

// Draw draws the image of kind for card at width pixels, the height
// following the kind's shape (2:3 or 16:9). The drawing is vector shapes
// and type, so each width is drawn as sharp as it can be, rather than
// scaled down from the largest. It depends only on its arguments: the
// same card gives the same pixels, and the name alone picks the palette.
func Draw(kind Kind, card Card, width int) *image.RGBA {
	sum := sha256.Sum256([]byte(card.Name))
	h := binary.BigEndian.Uint64(sum[:8])
	m := motifFor(card.GenreSlug, h)
	pal := paletteFor(h, m)
	refW, refH := posterW, posterH
	if kind == Backdrop {
		refW, refH = backdropW, backdropH
	}
	w, hgt := width, max(1, int(math.Round(float64(width)*float64(refH)/float64(refW))))
	fw, fh := float64(w), float64(hgt)
	unit := math.Min(fw, fh) / posterW
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, w, hgt)), r: vector.NewRasterizer(w, hgt), rnd: sum[8:], unit: unit}
	c.gradient(pal.top, pal.bottom)

	// The name goes at the bottom left; the motif takes the room left above
	// it on a poster, and the right part of a backdrop.
	var cap caption
	var area rect
	if kind == Backdrop {
		cap = layCaption(card, rect{x: fw * 0.06, y: fh * 0.40, w: fw * 0.40, h: fh * 0.50}, unit, fw*150/backdropW, 3)
		area = rect{x: fw * 0.40, y: 0, w: fw * 0.60, h: fh}
	} else {
		cap = layCaption(card, rect{x: fw * 0.08, y: fh * 0.50, w: fw * 0.84, h: fh * 0.43}, unit, fw*120/posterW, 4)
		area = rect{x: 0, y: 0, w: fw, h: math.Max(fh*0.5, cap.top-fh*0.03)}
	}
	c.motif(m, area, pal, h)

	// Darken behind the name and at the edges, add grain, then set the name
	// over it, crisp.
	rows, cols := make([]float64, hgt), make([]float64, w)
	if kind == Backdrop {
		for x := range cols {
			cols[x] = 0.92 * smooth(1-float64(x)/(fw*0.62))
		}
		for y := range rows {
			rows[y] = 0.7 * smooth((float64(y)/fh-0.35)/0.65)
		}
	} else {
		from := math.Min(area.h*0.75, cap.top-fh*0.12) / fh
		for y := range rows {
			rows[y] = 0.96 * smooth((float64(y)/fh-from)/(1-from))
		}
	}
	c.finish(pal.bottom, rows, cols, 0.35, 5)
	c.caption(cap, pal)
	return c.img
}

type rect struct{ x, y, w, h float64 }

// canvas is an image being drawn, with an anti-aliasing rasterizer and a
// deterministic source of randomness.
type canvas struct {
	img *image.RGBA
	r   *vector.Rasterizer
	rnd []byte
	i   int
	// unit is one pixel of the poster at its largest size, scaled to this
	// canvas: hairlines and small marks keep their proportions at every
	// size.
	unit float64
	// top and bottom are the background gradient's ends.
	top, bottom color.NRGBA
	// path is the shape being drawn, kept until fill so that it is
	// rasterized over its own bounds, not the whole image.
	path                   []pathOp
	minX, minY, maxX, maxY float64
}

type pathOp struct {
	op  byte // 'M', 'L', 'C' or 'Z'
	pts [3][2]float64
}

func (c *canvas) add(op byte, pts ...[2]float64) {
	var o pathOp
	o.op = op
	copy(o.pts[:], pts)
	if len(c.path) == 0 {
		c.minX, c.minY, c.maxX, c.maxY = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	}
	for _, p := range pts {
		c.minX, c.minY = math.Min(c.minX, p[0]), math.Min(c.minY, p[1])
		c.maxX, c.maxY = math.Max(c.maxX, p[0]), math.Max(c.maxY, p[1])
	}
	c.path = append(c.path, o)
}

func (c *canvas) moveTo(x, y float64) { c.add('M', [2]float64{x, y}) }
func (c *canvas) lineTo(x, y float64) { c.add('L', [2]float64{x, y}) }
func (c *canvas) closePath()          { c.add('Z') }
func (c *canvas) cubeTo(x1, y1, x2, y2, x, y float64) {
	c.add('C', [2]float64{x1, y1}, [2]float64{x2, y2}, [2]float64{x, y})
}

// rand returns a deterministic number in [0, 1).
func (c *canvas) rand() float64 {
	h := sha256.Sum256(append(c.rnd, byte(c.i), byte(c.i>>8)))
	c.i++
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}

func (c *canvas) size() (float64, float64) {
	b := c.img.Bounds()
	return float64(b.Dx()), float64(b.Dy())
}

// fill paints the path with col over the path's bounds, then clears it.
func (c *canvas) fill(col color.NRGBA) {
	defer func() { c.path = c.path[:0] }()
	if len(c.path) == 0 {
		return
	}
	box := image.Rect(int(math.Floor(c.minX)), int(math.Floor(c.minY)), int(math.Ceil(c.maxX))+1, int(math.Ceil(c.maxY))+1).Intersect(c.img.Bounds())
	if box.Empty() {
		return
	}
	ox, oy := float32(box.Min.X), float32(box.Min.Y)
	c.r.Reset(box.Dx(), box.Dy())
	for _, o := range c.path {
		p := func(i int) (float32, float32) { return float32(o.pts[i][0]) - ox, float32(o.pts[i][1]) - oy }
		switch o.op {
		case 'M':
			c.r.MoveTo(p(0))
		case 'L':
			c.r.LineTo(p(0))
		case 'C':
			x1, y1 := p(0)
			x2, y2 := p(1)
			x, y := p(2)
			c.r.CubeTo(x1, y1, x2, y2, x, y)
		case 'Z':
			c.r.ClosePath()
		}
	}
	c.r.Draw(c.img, box, image.NewUniform(col), image.Point{})
}

// circle adds a circle to the path, clockwise or not: a circle inside
// another, drawn the other way, cuts a hole.
func (c *canvas) circle(cx, cy, rad float64, reverse bool) {
	const k = 0.5522847498
	pts := [4][2]float64{{1, 0}, {0, 1}, {-1, 0}, {0, -1}}
	if reverse {
		pts = [4][2]float64{{1, 0}, {0, -1}, {-1, 0}, {0, 1}}
	}
	c.moveTo(cx+rad*pts[0][0], cy+rad*pts[0][1])
	for i := 0; i < 4; i++ {
		a, b := pts[i], pts[(i+1)%4]
		c.cubeTo(cx+rad*(a[0]+k*b[0]), cy+rad*(a[1]+k*b[1]),
			cx+rad*(b[0]+k*a[0]), cy+rad*(b[1]+k*a[1]),
			cx+rad*b[0], cy+rad*b[1])
	}
	c.closePath()
}

// poly adds a closed polygon to the path.
func (c *canvas) poly(pts ...[2]float64) {
	c.moveTo(pts[0][0], pts[0][1])
	for _, p := range pts[1:] {
		c.lineTo(p[0], p[1])
	}
	c.closePath()
}

// ellipseRing adds the outline of an ellipse, width thick, rotated by rot
// radians, to the path.
func (c *canvas) ellipseRing(cx, cy, rx, ry, rot, width float64) {
	const n = 160
	for pass, d := range []float64{width / 2, -width / 2} {
		for i := 0; i <= n; i++ {
			t := 2 * math.Pi * float64(i) / n
			if pass == 1 {
				t = -t
			}
			x, y := (rx+d)*math.Cos(t), (ry+d)*math.Sin(t)
			px := cx + x*math.Cos(rot) - y*math.Sin(rot)
			py := cy + x*math.Sin(rot) + y*math.Cos(rot)
			if i == 0 {
				c.moveTo(px, py)
			} else {
				c.lineTo(px, py)
			}
		}
		c.closePath()
	}
}

// gradient paints a vertical gradient from top to bottom.
func (c *canvas) gradient(top, bottom color.NRGBA) {
	c.top, c.bottom = top, bottom
	b := c.img.Bounds()
	for y := 0; y < b.Dy(); y++ {
		col := c.sky(float64(y))
		row := c.img.Pix[y*c.img.Stride : y*c.img.Stride+b.Dx()*4]
		for x := 0; x < len(row); x += 4 {
			row[x], row[x+1], row[x+2], row[x+3] = col.R, col.G, col.B, 255
		}
	}
}

func lerp(a, b color.NRGBA, t float64) color.NRGBA {
	m := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + (float64(y)-float64(x))*t)) }
	return color.NRGBA{m(a.R, b.R), m(a.G, b.G), m(a.B, b.B), m(a.A, b.A)}
}

func smooth(t float64) float64 {
	t = math.Max(0, math.Min(1, t))
	return t * t * (3 - 2*t)
}

// finish darkens the image towards col, by rows[y] and cols[x] (0 to 1)
// combined, darkens the corners by up to vignette, and adds a little
// deterministic noise of up to grain levels, which reads as film grain and
// keeps gradients from banding. One pass over the pixels.
func (c *canvas) finish(col color.NRGBA, rows, cols []float64, vignette float64, grain int) {
	b := c.img.Bounds()
	w, h := b.Dx(), b.Dy()
	// Per row and column: how much of the pixel stays (1 - darkening), and
	// a separable vignette.
	keepY, keepX := make([]float32, h), make([]float32, w)
	vigY, vigX := make([]float32, h), make([]float32, w)
	for y := range keepY {
		d := float64(y)/float64(h) - 0.5
		keepY[y], vigY[y] = float32(1-rows[y]), float32(1-vignette*smooth(d*d*4-0.15))
	}
	for x := range keepX {
		d := float64(x)/float64(w) - 0.5
		keepX[x], vigX[x] = float32(1-cols[x]), float32(1-vignette*smooth(d*d*4-0.15))
	}
	seed := binary.BigEndian.Uint64(c.rnd[:8]) | 1
	cr, cg, cb := float32(col.R), float32(col.G), float32(col.B)
	span := uint64(2*grain + 1)
	for y := 0; y < h; y++ {
		row := c.img.Pix[y*c.img.Stride : y*c.img.Stride+w*4]
		for x := 0; x < w; x++ {
			keep := keepY[y] * keepX[x]
			v := vigY[y] * vigX[x]
			seed ^= seed << 13
			seed ^= seed >> 7
			seed ^= seed << 17
			n := float32(int(seed%span) - grain)
			p := row[x*4 : x*4+3 : x*4+3]
			p[0] = clamp8((cr+(float32(p[0])-cr)*keep)*v + n)
			p[1] = clamp8((cg+(float32(p[1])-cg)*keep)*v + n)
			p[2] = clamp8((cb+(float32(p[2])-cb)*keep)*v + n)
		}
	}
}

func clamp8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

// motif draws m into area.
func (c *canvas) motif(m motif, a rect, p palette, h uint64) {
	s := math.Min(a.w, a.h)
	cx, cy := a.x+a.w/2, a.y+a.h/2
	switch m {
	case motifSun:
		horizon := a.y + a.h*0.70
		rad := s * (0.30 + 0.06*c.rand())
		sx := cx + (c.rand()-0.5)*a.w*0.25
		// A glow, the sun, then bands of sky across its lower half,
		// thickening towards the horizon.
		c.glow(sx, horizon, rad, p.accent)
		c.circle(sx, horizon, rad, false)
		c.fill(p.accent)
		for i := 0; i < 6; i++ {
			y := horizon - rad*0.55 + float64(i)*rad*0.13
			thick := rad * 0.016 * float64(i+1)
			// The band spans the chord of the disc at its height.
			half := func(y float64) float64 { d := (horizon - y) / rad; return rad * math.Sqrt(math.Max(0, 1-d*d)) }
			c.poly([2]float64{sx - half(y), y}, [2]float64{sx + half(y), y}, [2]float64{sx + half(y+thick), y + thick}, [2]float64{sx - half(y+thick), y + thick})
			c.fill(c.sky(y))
		}
		// Ridges, far to near, darker as they come closer.
		w, _ := c.size()
		for layer := 0; layer < 3; layer++ {
			base := horizon + float64(layer)*a.h*0.06
			pts := [][2]float64{{0, a.y + a.h*1.4}}
			steps := 7 + layer*2
			for i := 0; i <= steps; i++ {
				x := w * float64(i) / float64(steps)
				peak := a.h * (0.05 + 0.10*c.rand()) / float64(layer+1)
				if i%2 == 0 {
					peak *= 0.35
				}
				pts = append(pts, [2]float64{x, base - peak})
			}
			pts = append(pts, [2]float64{w, a.y + a.h*1.4})
			c.poly(pts...)
			c.fill(lerp(p.deep, p.bottom, float64(layer)/3))
		}
	case motifMoon:
		rad := s * (0.22 + 0.05*c.rand())
		mx, my := cx+(c.rand()-0.3)*a.w*0.3, a.y+a.h*0.34
		// A glow, then the crescent the night leaves of the moon.
		c.glow(mx, my, rad, p.soft)
		off := rad * (0.35 + 0.2*c.rand())
		c.crescent(mx, my, rad, mx-off, my-off*0.45, rad*0.97)
		c.fill(p.soft)
		// A jagged horizon of spires and dead trees.
		w, _ := c.size()
		base := a.y + a.h*0.92
		pts := [][2]float64{{0, a.y + a.h*1.3}, {0, base}}
		x := 0.0
		for x < w {
			step := s * (0.03 + 0.05*c.rand())
			tall := s * (0.04 + 0.22*c.rand()*c.rand())
			pts = append(pts, [2]float64{x + step*0.45, base - tall}, [2]float64{x + step, base - s*0.02*c.rand()})
			x += step
		}
		pts = append(pts, [2]float64{w, base}, [2]float64{w, a.y + a.h*1.3})
		c.poly(pts...)
		c.fill(p.bottom)
		c.poly(pts...)
		c.fill(withAlpha(p.accent, 0.15))
	case motifPlanet:
		w, hh := c.size()
		for i := 0; i < 140; i++ {
			x, y := c.rand()*w, c.rand()*hh*0.8
			r := c.unit * (0.6 + 1.6*c.rand()*c.rand())
			c.circle(x, y, r, false)
			c.fill(withAlpha(p.text, 0.25+0.6*c.rand()))
		}
		rad := s * (0.26 + 0.05*c.rand())
		px, py := cx+(c.rand()-0.5)*a.w*0.2, cy-a.h*0.04
		rot := -0.35 + 0.2*c.rand()
		// The back of the ring, the planet, then the front of the ring over it.
		c.ellipseRing(px, py, rad*1.75, rad*0.42, rot, rad*0.06)
		c.fill(withAlpha(p.soft, 0.55))
		c.glow(px, py, rad, p.accent)
		c.circle(px, py, rad, false)
		c.fill(p.accent)
		c.circle(px+rad*0.35, py+rad*0.3, rad*0.85, false)
		c.fill(withAlpha(p.deep, 0.45))
		c.circle(px-rad*0.25, py-rad*0.3, rad*0.45, false)
		c.fill(withAlpha(p.soft, 0.15))
		// Only the part of the ring in front of the planet.
		c.ellipseRingHalf(px, py, rad*1.75, rad*0.42, rot, rad*0.06)
		c.fill(p.soft)
		c.circle(px+rad*2.1, py-rad*1.2, rad*0.12, false)
		c.fill(p.soft)
	case motifBlinds:
		w, _ := c.size()
		// Slanted slats of light falling from one side, a pool of it, and
		// a lamp on the other side; which side, the slant and the slats
		// vary by title.
		flip := c.rand() < 0.5
		fx := func(x float64) float64 {
			if flip {
				return w - x
			}
			return x
		}
		c.glow(fx(cx+a.w*0.1), a.y+a.h*0.42, s*0.3, p.soft)
		slope := 0.25 + 0.25*c.rand()
		slats := 6 + int(c.rand()*5)
		gap := a.h * 0.5 / float64(slats)
		for i := 0; i < slats; i++ {
			y := a.y + a.h*0.30 + float64(i)*gap
			th := gap * (0.3 + 0.25*c.rand())
			c.poly([2]float64{fx(w * 0.08), y}, [2]float64{fx(w), y - w*0.92*slope}, [2]float64{fx(w), y - w*0.92*slope + th}, [2]float64{fx(w * 0.08), y + th})
			c.fill(withAlpha(p.soft, 0.11+0.03*float64(i%3)))
		}
		lx, ly := fx(a.x+a.w*(0.18+0.22*c.rand())), a.y+a.h*(0.62+0.14*c.rand())
		c.glow(lx, ly, s*0.12, p.accent)
		c.circle(lx, ly, s*(0.045+0.03*c.rand()), false)
		c.fill(p.accent)
	case motifCircles:
		// A cluster of overlapping discs spiralling out from a point, the
		// largest first, with confetti around them.
		cols := []color.NRGBA{p.accent, p.soft, hsl(p.hue+60, 0.5, 0.58), hsl(p.hue-45, 0.45, 0.7)}
		n := 4 + int(c.rand()*3)
		ox := a.x + a.w*(0.35+0.3*c.rand())
		oy := a.y + math.Max(s*0.34, a.h*(0.40+0.1*c.rand()))
		turn := c.rand() * 2 * math.Pi
		for i := 0; i < n; i++ {
			r := s * (0.24 - 0.025*float64(i)) * (0.85 + 0.3*c.rand())
			d := s * 0.2 * math.Sqrt(float64(i))
			ang := turn + float64(i)*2.39996 // the golden angle
			c.circle(ox+d*math.Cos(ang), oy+d*math.Sin(ang), r, false)
			c.fill(withAlpha(cols[i%len(cols)], 0.72))
		}
		for i := 0; i < 28; i++ {
			ang, d := c.rand()*2*math.Pi, s*(0.35+0.25*c.rand())
			c.circle(ox+d*math.Cos(ang), oy+d*math.Sin(ang)*0.9, s*(0.006+0.012*c.rand()), false)
			c.fill(withAlpha(cols[i%len(cols)], 0.9))
		}
	case motifArch:
		aw := s * (0.46 + 0.08*c.rand())
		ax := cx - aw/2 + (c.rand()-0.5)*a.w*0.15
		top := a.y + a.h*0.14
		bottom := a.y + a.h*0.98
		// A low sun seen through a doorway: glow, arch, sun, floor.
		c.glow(ax+aw/2, top+aw*0.8, aw*0.6, p.accent)
		c.archPath(ax, top, aw, bottom)
		c.fill(lerp(p.accent, p.top, 0.35))
		c.circle(ax+aw/2, bottom-aw*0.55, aw*0.28, false)
		c.fill(p.soft)
		c.poly([2]float64{ax, bottom - aw*0.35}, [2]float64{ax + aw, bottom - aw*0.35}, [2]float64{ax + aw, bottom}, [2]float64{ax, bottom})
		c.fill(lerp(p.deep, p.accent, 0.25))
		// A thin outline around the arch.
		c.archPath(ax-s*0.03, top-s*0.03, aw+s*0.06, bottom)
		c.archPathReverse(ax-s*0.02, top-s*0.02, aw+s*0.04, bottom)
		c.fill(withAlpha(p.soft, 0.5))
	case motifGrid:
		w, hh := c.size()
		step := math.Min(w, hh) / 12
		line := 1.5 * c.unit
		for x := step / 2; x < w; x += step {
			c.poly([2]float64{x, 0}, [2]float64{x + line, 0}, [2]float64{x + line, hh}, [2]float64{x, hh})
			c.fill(withAlpha(p.soft, 0.10))
		}
		for y := step / 2; y < hh; y += step {
			c.poly([2]float64{0, y}, [2]float64{w, y}, [2]float64{w, y + line}, [2]float64{0, y + line})
			c.fill(withAlpha(p.soft, 0.10))
		}
		// A contour-like set of rings around a marked point.
		mx := a.x + a.w*(0.3+0.4*c.rand())
		my := a.y + a.h*(0.3+0.3*c.rand())
		for i := 5; i >= 1; i-- {
			r := s * 0.07 * float64(i)
			c.circle(mx, my, r, false)
			c.circle(mx, my, r-line*1.4, true)
			c.fill(withAlpha(p.accent, 0.25+0.1*float64(5-i)))
		}
		c.circle(mx, my, s*0.025, false)
		c.fill(p.accent)
	}
}

// glow draws a soft halo of col around a disc of radius rad, fading out
// by 1.8 rad: one pass over the pixels it touches.
func (c *canvas) glow(cx, cy, rad float64, col color.NRGBA) {
	const maxA = 0.2
	outer := rad * 1.8
	box := image.Rect(int(cx-outer), int(cy-outer), int(cx+outer)+1, int(cy+outer)+1).Intersect(c.img.Bounds())
	cr, cg, cb := float32(col.R), float32(col.G), float32(col.B)
	for y := box.Min.Y; y < box.Max.Y; y++ {
		dy := float64(y) + 0.5 - cy
		row := c.img.Pix[y*c.img.Stride:]
		for x := box.Min.X; x < box.Max.X; x++ {
			dx := float64(x) + 0.5 - cx
			d := math.Sqrt(dx*dx + dy*dy)
			if d >= outer {
				continue
			}
			t := 1 - math.Max(0, d-rad*0.5)/(outer-rad*0.5)
			a := float32(maxA * t * t)
			p := row[x*4 : x*4+3 : x*4+3]
			p[0] = uint8(float32(p[0]) + (cr-float32(p[0]))*a)
			p[1] = uint8(float32(p[1]) + (cg-float32(p[1]))*a)
			p[2] = uint8(float32(p[2]) + (cb-float32(p[2]))*a)
		}
	}
}

// crescent adds the part of the disc (mx, my, R) outside the disc (sx, sy,
// r) to the path, when the circles cross.
func (c *canvas) crescent(mx, my, R, sx, sy, r float64) {
	dx, dy := sx-mx, sy-my
	d := math.Hypot(dx, dy)
	if d == 0 || d >= R+r || d <= math.Abs(R-r) {
		c.circle(mx, my, R, false)
		return
	}
	// Where the circles cross, as angles on each.
	a := (d*d + R*R - r*r) / (2 * d)
	h := math.Sqrt(math.Max(0, R*R-a*a))
	ux, uy := dx/d, dy/d
	p1x, p1y := mx+a*ux-h*uy, my+a*uy+h*ux
	p2x, p2y := mx+a*ux+h*uy, my+a*uy-h*ux
	away := math.Atan2(-dy, -dx) // the moon's side away from the shadow
	toward := math.Atan2(-dy, -dx)
	c.arcThrough(mx, my, R, math.Atan2(p1y-my, p1x-mx), math.Atan2(p2y-my, p2x-mx), away, true)
	c.arcThrough(sx, sy, r, math.Atan2(p2y-sy, p2x-sx), math.Atan2(p1y-sy, p1x-sx), toward, false)
	c.closePath()
}

// arcThrough adds an arc of the circle (cx, cy, rad) from angle a0 to a1,
// the way round that passes angle mid, starting a new subpath if start.
func (c *canvas) arcThrough(cx, cy, rad, a0, a1, mid float64, start bool) {
	norm := func(a float64) float64 { return math.Mod(math.Mod(a, 2*math.Pi)+2*math.Pi, 2*math.Pi) }
	sweep := norm(a1 - a0)
	if norm(mid-a0) > sweep {
		sweep -= 2 * math.Pi
	}
	const n = 64
	for i := 0; i <= n; i++ {
		t := a0 + sweep*float64(i)/n
		x, y := cx+rad*math.Cos(t), cy+rad*math.Sin(t)
		if i == 0 && start {
			c.moveTo(x, y)
		} else {
			c.lineTo(x, y)
		}
	}
}

// sky returns the background gradient's colour at height y.
func (c *canvas) sky(y float64) color.NRGBA {
	b := c.img.Bounds()
	return lerp(c.top, c.bottom, smooth(y/float64(b.Dy()-1)))
}

// archPath adds a doorway shape: a rectangle with a half-disc on top.
func (c *canvas) archPath(x, top, w, bottom float64) {
	r := w / 2
	const n = 48
	c.moveTo(x, bottom)
	c.lineTo(x, top+r)
	for i := 0; i <= n; i++ {
		t := math.Pi + math.Pi*float64(i)/n
		c.lineTo(x+r+r*math.Cos(t), top+r+r*math.Sin(t))
	}
	c.lineTo(x+w, bottom)
	c.closePath()
}

// archPathReverse is archPath drawn the other way, to cut holes.
func (c *canvas) archPathReverse(x, top, w, bottom float64) {
	r := w / 2
	const n = 48
	c.moveTo(x+w, bottom)
	c.lineTo(x+w, top+r)
	for i := 0; i <= n; i++ {
		t := -math.Pi * float64(i) / n
		c.lineTo(x+r+r*math.Cos(t), top+r+r*math.Sin(t))
	}
	c.lineTo(x, bottom)
	c.closePath()
}

// ellipseRingHalf adds the lower half of ellipseRing: the part of a
// planet's ring that passes in front of it.
func (c *canvas) ellipseRingHalf(cx, cy, rx, ry, rot, width float64) {
	const n = 80
	pt := func(t, d float64) (float64, float64) {
		x, y := (rx+d)*math.Cos(t), (ry+d)*math.Sin(t)
		return cx + x*math.Cos(rot) - y*math.Sin(rot), cy + x*math.Sin(rot) + y*math.Cos(rot)
	}
	c.moveTo(pt(0, width/2))
	for i := 1; i <= n; i++ {
		c.lineTo(pt(math.Pi*float64(i)/n, width/2))
	}
	for i := n; i >= 0; i-- {
		c.lineTo(pt(math.Pi*float64(i)/n, -width/2))
	}
	c.closePath()
}

// The faces of generated artwork: Go Bold for names, Go Medium for the
// line above them.
var (
	fontsOnce       sync.Once
	boldFont, medFt *opentype.Font
	fontsErr        error
)

func fonts() (*opentype.Font, *opentype.Font, error) {
	fontsOnce.Do(func() {
		if boldFont, fontsErr = opentype.Parse(gobold.TTF); fontsErr != nil {
			return
		}
		medFt, fontsErr = opentype.Parse(gomedium.TTF)
	})
	return boldFont, medFt, fontsErr
}

func face(f *opentype.Font, size float64) font.Face {
	fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		panic("artgen: font face: " + err.Error()) // only for a size that is not positive
	}
	return fc
}

// caption is the text of generated artwork, laid out: the year and
// genre, a rule, and the name in capitals, as large as fits.
type caption struct {
	unit  float64 // see canvas.unit
	box   rect
	name  []string
	meta  string
	size  float64
	lineH float64
	// top is where the caption's first line of text starts.
	top float64
}

// layCaption lays card's caption out at the bottom of box: the name in at
// most maxLines lines, starting at maxSize pixels.
func layCaption(card Card, box rect, unit, maxSize float64, maxLines int) caption {
	bold, _, err := fonts()
	if err != nil {
		return caption{box: box, top: box.y + box.h}
	}
	name := strings.ToUpper(strings.Join(strings.Fields(card.Name), " "))
	size, lines := fitText(bold, name, box.w, maxSize, maxLines)
	c := caption{unit: unit, box: box, name: lines, size: size, lineH: size * 1.02,
		meta: strings.ToUpper(strings.Join(nonEmpty(card.Year, card.Genre), "  ·  "))}
	first := box.y + box.h - c.lineH*float64(len(lines)-1) // the first line's baseline
	c.top = first - size*0.95 - c.metaSize()*2.2
	return c
}

func (c caption) metaSize() float64 { return math.Max(16*c.unit, c.size*0.26) }

// caption draws a laid-out caption.
func (c *canvas) caption(cp caption, p palette) {
	bold, med, err := fonts()
	if err != nil || len(cp.name) == 0 {
		return // the embedded fonts parse; nothing to draw without them
	}
	box, size := cp.box, cp.size
	first := box.y + box.h - cp.lineH*float64(len(cp.name)-1)
	ruleY := first - size*0.95 - cp.metaSize()*0.6
	if cp.meta != "" {
		mf := face(med, cp.metaSize())
		drawText(c.img, mf, cp.meta, box.x, ruleY-cp.metaSize()*0.9, cp.metaSize()*0.18, p.meta)
		mf.Close()
	}
	th := math.Max(3*cp.unit, size*0.05)
	c.poly([2]float64{box.x, ruleY}, [2]float64{box.x + size*1.3, ruleY}, [2]float64{box.x + size*1.3, ruleY + th}, [2]float64{box.x, ruleY + th})
	c.fill(p.accent)
	fc := face(bold, size)
	defer fc.Close()
	for i, l := range cp.name {
		y := first + float64(i)*cp.lineH
		// A soft shadow keeps light letters legible over a light motif.
		drawText(c.img, fc, l, box.x+size*0.03, y+size*0.04, size*0.02, color.NRGBA{0, 0, 0, 110})
		drawText(c.img, fc, l, box.x, y, size*0.02, p.text)
	}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// fitText returns the largest size, from max down, at which text wraps in
// width into at most maxLines lines, and the lines. A word too long for a
// line even at the smallest size is broken.
func fitText(f *opentype.Font, text string, width, maxSize float64, maxLines int) (float64, []string) {
	minSize := maxSize * 0.3
	for size := maxSize; ; size *= 0.93 {
		fc := face(f, size)
		lines, ok := wrap(fc, text, width, size*0.02)
		fc.Close()
		if ok && len(lines) <= maxLines {
			return size, lines
		}
		if size*0.93 < minSize {
			fc := face(f, size)
			defer fc.Close()
			lines = breakWords(fc, lines, width, size*0.02)
			if len(lines) > maxLines {
				lines = lines[:maxLines]
				lines[maxLines-1] = strings.TrimRightFunc(lines[maxLines-1], unicode.IsSpace) + "…"
			}
			return size, lines
		}
	}
}

// textWidth measures s with tracking between letters.
func textWidth(fc font.Face, s string, tracking float64) float64 {
	w := font.MeasureString(fc, s)
	return float64(w)/64 + tracking*float64(max(0, len([]rune(s))-1))
}

// wrap breaks text into lines no wider than width; ok is false when a
// single word is wider.
func wrap(fc font.Face, text string, width, tracking float64) (lines []string, ok bool) {
	ok = true
	var cur string
	for _, word := range strings.Fields(text) {
		if textWidth(fc, word, tracking) > width {
			ok = false
		}
		if cur == "" {
			cur = word
			continue
		}
		if textWidth(fc, cur+" "+word, tracking) <= width {
			cur += " " + word
			continue
		}
		lines = append(lines, cur)
		cur = word
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines, ok
}

// breakWords splits lines wider than width between letters.
func breakWords(fc font.Face, lines []string, width, tracking float64) []string {
	var out []string
	for _, l := range lines {
		for textWidth(fc, l, tracking) > width {
			rs := []rune(l)
			n := len(rs) - 1
			for n > 1 && textWidth(fc, string(rs[:n])+"-", tracking) > width {
				n--
			}
			out = append(out, string(rs[:n])+"-")
			l = string(rs[n:])
		}
		out = append(out, l)
	}
	return out
}

// drawText draws s with its baseline at y, letter by letter so that
// tracking can open it up.
func drawText(dst *image.RGBA, fc font.Face, s string, x, y, tracking float64, col color.NRGBA) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(col), Face: fc, Dot: fixed.Point26_6{X: fixed.Int26_6(x * 64), Y: fixed.Int26_6(y * 64)}}
	prev := rune(-1)
	for _, r := range s {
		if prev >= 0 {
			d.Dot.X += fc.Kern(prev, r) + fixed.Int26_6(tracking*64)
		}
		d.DrawString(string(r))
		prev = r
	}
}
