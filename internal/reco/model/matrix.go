package model

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Weights of the implicit signals a profile leaves on a title. A watch
// counts by how much of the title was seen (WatchWeight); rewatches add up
// to MaxWeight; a thumbs-down removes the pair from the matrix whatever
// else the profile did with the title.
const (
	// FinishedWeight is what a finished watch (90% or more) counts.
	FinishedWeight = 1.0
	// ThumbsUpWeight is what a thumbs-up counts, on top of any watch.
	ThumbsUpWeight = 1.0
	// MyListWeight is what adding a title to My List counts.
	MyListWeight = 0.5
	// ThumbsDown is the weight that marks a thumbs-down event.
	ThumbsDown = -1.0
	// MaxWeight caps the summed weight of one (user, item) pair so that a
	// title rewatched twenty times does not drown the rest of a history.
	MaxWeight = 4.0
)

// WatchWeight returns the implicit weight of one watch that covered
// fraction (0..1) of a title: FinishedWeight from 90% on, otherwise a
// weight that grows with the fraction, from 0.05 for a taste (five minutes
// of a 100-minute film count 0.05 + 0.45·0.05 ≈ 0.07) to 0.45 just
// short of the end. A fraction below 0 counts as 0, above 1 as 1.
func WatchWeight(fraction float64) float64 {
	switch {
	case math.IsNaN(fraction) || fraction <= 0:
		return 0.05
	case fraction >= 0.9:
		return FinishedWeight
	default:
		return 0.05 + 0.45*fraction
	}
}

// Event is one signal from a user on an item: a watch, a thumbs-up, a My
// List add (positive Weight, summed per pair) or a thumbs-down (negative
// Weight: the pair is dropped and remembered as disliked). Time is when it
// happened; the matrix keeps the latest time of each pair.
type Event struct {
	User, Item int64
	Weight     float64
	Time       time.Time
}

// Index maps external ids (profile ids, title ids) to the dense indices
// 0..Len()-1 the models work with, in order of first appearance. An Index
// is shared by the train and test matrices of one split and must not be
// changed once a matrix is built on it.
type Index struct {
	ids []int64
	pos map[int64]int
}

// NewIndex returns an empty index.
func NewIndex() *Index { return &Index{pos: map[int64]int{}} }

// Add returns the index of id, adding it if new.
func (x *Index) Add(id int64) int {
	if i, ok := x.pos[id]; ok {
		return i
	}
	x.pos[id] = len(x.ids)
	x.ids = append(x.ids, id)
	return len(x.ids) - 1
}

// Of returns the index of id and whether it is known.
func (x *Index) Of(id int64) (int, bool) {
	i, ok := x.pos[id]
	return i, ok
}

// ID returns the external id at index i.
func (x *Index) ID(i int) int64 { return x.ids[i] }

// Len returns the number of ids.
func (x *Index) Len() int { return len(x.ids) }

// Vector is a sparse row of the matrix: a user's history, item indices in
// increasing order with their weights.
type Vector struct {
	Items   []int32
	Weights []float32
}

// Len returns the number of items in v.
func (v Vector) Len() int { return len(v.Items) }

// Has reports whether item is in v.
func (v Vector) Has(item int) bool {
	_, ok := slices.BinarySearch(v.Items, int32(item))
	return ok
}

// Matrix is a sparse users × items matrix of implicit weights, stored by
// row (CSR) and by column (CSC), with the latest interaction time of each
// entry and the disliked pairs kept aside. A Matrix is immutable and safe
// for concurrent reads.
//
// Memory: about 16 bytes per entry for the two orientations (index +
// float32 each) plus 8 for the time, so 24 MB per million interactions.
type Matrix struct {
	Users, Items *Index

	rowPtr []int
	cols   []int32
	vals   []float32
	times  []int64 // unix seconds, parallel to cols

	colPtr []int
	rows   []int32
	cvals  []float32

	disliked map[int32][]int32 // user -> sorted items
}

// NumUsers returns the number of rows (every user of the index, even one
// with no entry).
func (m *Matrix) NumUsers() int { return m.Users.Len() }

// NumItems returns the number of columns.
func (m *Matrix) NumItems() int { return m.Items.Len() }

// NNZ returns the number of stored entries.
func (m *Matrix) NNZ() int { return len(m.cols) }

// Row returns user u's history. The slices alias the matrix: do not change them.
func (m *Matrix) Row(u int) Vector {
	a, b := m.rowPtr[u], m.rowPtr[u+1]
	return Vector{Items: m.cols[a:b], Weights: m.vals[a:b]}
}

// RowTimes returns the latest interaction time (unix seconds) of each
// entry of Row(u), in the same order.
func (m *Matrix) RowTimes(u int) []int64 { return m.times[m.rowPtr[u]:m.rowPtr[u+1]] }

// Col returns the users of item i (as Items) and their weights.
func (m *Matrix) Col(i int) Vector {
	a, b := m.colPtr[i], m.colPtr[i+1]
	return Vector{Items: m.rows[a:b], Weights: m.cvals[a:b]}
}

// Disliked returns the items user u gave a thumbs-down, sorted; they are
// not in Row(u) and a recommendation must never return them.
func (m *Matrix) Disliked(u int) []int32 { return m.disliked[int32(u)] }

// MaxTime returns the latest interaction time in the matrix (zero time if empty).
func (m *Matrix) MaxTime() time.Time {
	var t int64
	for _, s := range m.times {
		t = max(t, s)
	}
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(t, 0)
}

type cell struct {
	w    float64
	t    int64
	down bool
}

// Builder accumulates events into a Matrix. The zero value is not usable:
// call NewBuilder.
type Builder struct {
	users, items *Index
	cells        map[[2]int32]*cell
}

// NewBuilder returns a builder over fresh indices.
func NewBuilder() *Builder { return NewBuilderOn(NewIndex(), NewIndex()) }

// NewBuilderOn returns a builder that adds to the given indices, so that
// two matrices (train and test) share ids.
func NewBuilderOn(users, items *Index) *Builder {
	return &Builder{users: users, items: items, cells: map[[2]int32]*cell{}}
}

// Add records one event. Positive weights of a pair add up (capped at
// MaxWeight); a negative weight marks the pair disliked; a zero weight
// only registers the user and the item.
func (b *Builder) Add(e Event) {
	u, i := b.users.Add(e.User), b.items.Add(e.Item)
	if e.Weight == 0 || math.IsNaN(e.Weight) {
		return
	}
	k := [2]int32{int32(u), int32(i)}
	c := b.cells[k]
	if c == nil {
		c = &cell{}
		b.cells[k] = c
	}
	if e.Weight < 0 {
		c.down = true
	} else {
		c.w = min(c.w+e.Weight, MaxWeight)
	}
	if t := e.Time.Unix(); !e.Time.IsZero() && t > c.t {
		c.t = t
	}
}

// Build returns the matrix of everything added so far.
func (b *Builder) Build() *Matrix {
	type ent struct {
		u, i int32
		c    *cell
	}
	ents := make([]ent, 0, len(b.cells))
	disliked := map[int32][]int32{}
	for k, c := range b.cells {
		if c.down {
			disliked[k[0]] = append(disliked[k[0]], k[1])
			continue
		}
		ents = append(ents, ent{k[0], k[1], c})
	}
	for _, d := range disliked {
		slices.Sort(d)
	}
	slices.SortFunc(ents, func(a, b ent) int {
		if a.u != b.u {
			return int(a.u - b.u)
		}
		return int(a.i - b.i)
	})
	t := make([]triple, len(ents))
	for n, e := range ents {
		t[n] = triple{e.u, e.i, float32(e.c.w), e.c.t}
	}
	m := fromSorted(b.users, b.items, t)
	m.disliked = disliked
	return m
}

type triple struct {
	u, i int32
	w    float32
	t    int64
}

// fromSorted builds a matrix from entries sorted by (user, item).
func fromSorted(users, items *Index, t []triple) *Matrix {
	nu, ni := users.Len(), items.Len()
	m := &Matrix{
		Users: users, Items: items,
		rowPtr: make([]int, nu+1),
		cols:   make([]int32, len(t)),
		vals:   make([]float32, len(t)),
		times:  make([]int64, len(t)),
		colPtr: make([]int, ni+1),
		rows:   make([]int32, len(t)),
		cvals:  make([]float32, len(t)),
	}
	for n, e := range t {
		m.rowPtr[e.u+1]++
		m.colPtr[e.i+1]++
		m.cols[n], m.vals[n], m.times[n] = e.i, e.w, e.t
	}
	for u := range nu {
		m.rowPtr[u+1] += m.rowPtr[u]
	}
	for i := range ni {
		m.colPtr[i+1] += m.colPtr[i]
	}
	next := slices.Clone(m.colPtr[:ni])
	for _, e := range t { // rows come out sorted because t is sorted by user
		p := next[e.i]
		m.rows[p], m.cvals[p] = e.u, e.w
		next[e.i]++
	}
	return m
}

// String describes the matrix's shape.
func (m *Matrix) String() string {
	return fmt.Sprintf("%d users × %d items, %d interactions", m.NumUsers(), m.NumItems(), m.NNZ())
}
