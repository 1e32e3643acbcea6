package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamflix/streamflix/internal/platform/storage"
	"github.com/streamflix/streamflix/internal/platform/storage/s3test"
)

// The contract suite runs every test against each implementation.

type testBundle struct {
	st  storage.Store
	ctx context.Context
	// files lists the regular files under the store's directory, relative
	// and slash-separated, for implementations that have one.
	files func() []string
	// putBudget is how much a Put of a long stream may allocate.
	putBudget uint64
}

var impls = []struct {
	name  string
	setup func(t *testing.T) *testBundle
}{
	{"Local", func(t *testing.T) *testBundle {
		dir := filepath.Join(t.TempDir(), "media")
		st, err := storage.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		return &testBundle{st: st, ctx: t.Context(), files: func() []string { return walk(t, dir) }, putBudget: 4 << 20}
	}},
	{"S3", func(t *testing.T) *testBundle {
		st, err := storage.NewS3(s3test.New(t))
		if err != nil {
			t.Fatal(err)
		}
		files := func() []string {
			var out []string
			if err := st.List(t.Context(), "", func(i storage.Info) error { out = append(out, i.Key); return nil }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		// An S3 Put of unknown length holds an 8 MiB part (and minio-go a copy
		// while it signs), never the 64 MiB object.
		return &testBundle{st: st, ctx: t.Context(), files: files, putBudget: 24 << 20}
	}},
}

func walk(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func forEach(t *testing.T, test func(t *testing.T, b *testBundle)) {
	t.Helper()
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Parallel()
			test(t, impl.setup(t))
		})
	}
}

func (b *testBundle) read(t *testing.T, key string) (storage.Info, []byte) {
	t.Helper()
	obj, err := b.st.Open(b.ctx, key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	return obj.Info, data
}

func TestPutOpenStat(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, b *testBundle) {
		before := time.Now().Add(-time.Second)
		if err := b.st.Put(b.ctx, "artwork/ab12/185.jpg", strings.NewReader("first")); err != nil {
			t.Fatal(err)
		}
		info, data := b.read(t, "artwork/ab12/185.jpg")
		if string(data) != "first" || info.Size != 5 || info.ContentType != "image/jpeg" || info.Key != "artwork/ab12/185.jpg" || info.ModTime.Before(before) {
			t.Fatalf("read back %q %+v", data, info)
		}
		// Replacing swaps the whole object.
		if err := b.st.Put(b.ctx, "artwork/ab12/185.jpg", strings.NewReader("second, longer")); err != nil {
			t.Fatal(err)
		}
		if _, data := b.read(t, "artwork/ab12/185.jpg"); string(data) != "second, longer" {
			t.Fatalf("after replace: %q", data)
		}
		st, err := b.st.Stat(b.ctx, "artwork/ab12/185.jpg")
		if err != nil || st.Size != 14 || st.ContentType != "image/jpeg" {
			t.Fatalf("stat: %+v %v", st, err)
		}
		// Seeking works, as Range requests need.
		obj, err := b.st.Open(b.ctx, "artwork/ab12/185.jpg")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := obj.Seek(8, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(obj)
		obj.Close()
		if string(rest) != "longer" {
			t.Fatalf("after seek: %q", rest)
		}
		for _, key := range []string{"artwork/ab12/342.jpg", "artwork/ab12", "artwork/ab12/185.jpg/x.jpg"} {
			if _, err := b.st.Open(b.ctx, key); !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("open %s: %v, want ErrNotFound", key, err)
			}
		}
		if _, err := b.st.Stat(b.ctx, "artwork/ab12/342.jpg"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("stat of a missing object: %v", err)
		}
		if got := b.files(); !slices.Equal(got, []string{"artwork/ab12/185.jpg"}) {
			t.Errorf("files left: %v (no temporary files may remain)", got)
		}
	})
}

func TestDelete(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, b *testBundle) {
		for _, k := range []string{"artwork/a/185.jpg", "artwork/a/342.jpg", "artwork/b/185.jpg"} {
			if err := b.st.Put(b.ctx, k, strings.NewReader(k)); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range []string{"artwork/a/185.jpg", "artwork/a/342.jpg", "artwork/a/342.jpg", "never/there.jpg"} {
			if err := b.st.Delete(b.ctx, k); err != nil {
				t.Fatalf("delete %s: %v (deleting twice or a missing object is not an error)", k, err)
			}
		}
		if _, err := b.st.Open(b.ctx, "artwork/a/185.jpg"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("deleted object opens: %v", err)
		}
		if _, data := b.read(t, "artwork/b/185.jpg"); string(data) != "artwork/b/185.jpg" {
			t.Fatalf("neighbour: %q", data)
		}
		// A key can be written again where its directory was pruned.
		if err := b.st.Put(b.ctx, "artwork/a/185.jpg", strings.NewReader("again")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeletePrunesEmptyDirectories(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := storage.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, k := range []string{"artwork/a/185.jpg", "artwork/b/185.jpg"} {
		if err := st.Put(ctx, k, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx, "artwork/a/185.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "artwork", "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty directory artwork/a remains: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "artwork", "b", "185.jpg")); err != nil {
		t.Errorf("neighbour gone: %v", err)
	}
	if err := st.Delete(ctx, "artwork/b/185.jpg"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the store's own directory must stay: %v", err)
	}
}

func TestInvalidKeys(t *testing.T) {
	t.Parallel()
	bad := []string{
		"", "/etc/passwd.jpg", "../escape.jpg", "a/../../escape.jpg", "a/./b.jpg", "a//b.jpg", "a/b.jpg/",
		".hidden.jpg", "a/.tmp-123.jpg", `a\b.jpg`, "a b.jpg", "a/b.html", "a/b.svg", "a/b", "a/b.JPG",
		"ü.jpg", "a\x00.jpg", strings.Repeat("a", storage.MaxKeyLen) + ".jpg",
	}
	for _, k := range bad {
		if err := storage.ValidKey(k); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("ValidKey(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
	for _, k := range []string{"artwork/0f3a/185.jpg", "v/abc_def-1/seg-00001.m4s", "v/x/master.m3u8", "a.b.c.png", "captions/en.vtt"} {
		if err := storage.ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v, want nil", k, err)
		}
	}
	forEach(t, func(t *testing.T, b *testBundle) {
		for _, k := range []string{"../escape.jpg", "/abs.jpg", "page.html"} {
			if err := b.st.Put(b.ctx, k, strings.NewReader("x")); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("put %q: %v, want ErrInvalidKey", k, err)
			}
			if _, err := b.st.Open(b.ctx, k); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("open %q: %v, want ErrInvalidKey", k, err)
			}
			if err := b.st.Delete(b.ctx, k); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("delete %q: %v, want ErrInvalidKey", k, err)
			}
		}
		if got := b.files(); len(got) != 0 {
			t.Errorf("files written: %v", got)
		}
	})
}

func TestList(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, b *testBundle) {
		keys := []string{"artwork/ab/185.jpg", "artwork/ab/342.jpg", "artwork/abc/185.jpg", "artwork/b/185.jpg", "video/x/master.m3u8"}
		for _, k := range keys {
			if err := b.st.Put(b.ctx, k, strings.NewReader(k)); err != nil {
				t.Fatal(err)
			}
		}
		list := func(prefix string) []string {
			var out []string
			err := b.st.List(b.ctx, prefix, func(i storage.Info) error {
				if i.Size != int64(len(i.Key)) {
					t.Errorf("%s: size %d", i.Key, i.Size)
				}
				out = append(out, i.Key)
				return nil
			})
			if err != nil {
				t.Fatalf("list %q: %v", prefix, err)
			}
			slices.Sort(out)
			return out
		}
		for prefix, want := range map[string][]string{
			"":             keys,
			"artwork/":     keys[:4],
			"artwork/ab":   keys[:3],
			"artwork/ab/":  keys[:2],
			"video/x/m":    keys[4:],
			"nothing/here": nil,
		} {
			if got := list(prefix); !slices.Equal(got, want) {
				t.Errorf("list %q = %v, want %v", prefix, got, want)
			}
		}
		stop := errors.New("stop")
		n := 0
		if err := b.st.List(b.ctx, "", func(storage.Info) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
			t.Errorf("list stops at fn's error: %v after %d", err, n)
		}
		if err := b.st.List(b.ctx, "../", func(storage.Info) error { return nil }); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("list of ../: %v", err)
		}
	})
}

// failingReader yields some bytes, then fails.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), f.n)
	f.n -= n
	return n, nil
}

func TestPutFailureLeavesOldObject(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, b *testBundle) {
		key := "video/v1/source.mp4"
		if err := b.st.Put(b.ctx, key, strings.NewReader("old")); err != nil {
			t.Fatal(err)
		}
		if err := b.st.Put(b.ctx, key, &failingReader{n: 100_000}); err == nil {
			t.Fatal("put from a failing reader succeeded")
		}
		ctx, cancel := context.WithCancel(b.ctx)
		cancel()
		if err := b.st.Put(ctx, key, strings.NewReader("new")); !errors.Is(err, context.Canceled) {
			t.Fatalf("put with an ended context: %v", err)
		}
		if _, data := b.read(t, key); string(data) != "old" {
			t.Fatalf("object after failed puts: %q", data)
		}
		if got := b.files(); !slices.Equal(got, []string{key}) {
			t.Errorf("files left: %v", got)
		}
	})
}

// TestReadersNeverSeePartialObjects replaces an object again and again
// while readers read it: each read is one whole version.
func TestReadersNeverSeePartialObjects(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, b *testBundle) {
		key := "video/v/seg-1.m4s"
		versions := make([][]byte, 4)
		for i := range versions {
			versions[i] = bytes.Repeat([]byte{byte('a' + i)}, 256<<10)
		}
		if err := b.st.Put(b.ctx, key, bytes.NewReader(versions[0])); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		done := make(chan struct{})
		for r := 0; r < 2; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					obj, err := b.st.Open(b.ctx, key)
					if err != nil {
						t.Errorf("open during replace: %v", err)
						return
					}
					data, err := io.ReadAll(obj)
					obj.Close()
					if err != nil || len(data) != 256<<10 || bytes.Count(data, data[:1]) != len(data) {
						t.Errorf("read a partial or mixed object: %d bytes, %v", len(data), err)
						return
					}
				}
			}()
		}
		for i := 0; i < 40; i++ {
			if err := b.st.Put(b.ctx, key, bytes.NewReader(versions[i%len(versions)])); err != nil {
				t.Error(err)
				break
			}
		}
		close(done)
		wg.Wait()
	})
}

// endless yields n bytes without holding them.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := int64(len(p))
	if k > e.n {
		k = e.n
	}
	clear(p[:k])
	e.n -= k
	return int(k), nil
}

// TestPutStreams writes 64 MiB and checks the heap grew by far less: the
// object was streamed, not buffered. Not parallel, so that no other test
// allocates while it measures.
func TestPutStreams(t *testing.T) {
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			b := impl.setup(t)
			const size = 64 << 20
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if err := b.st.Put(b.ctx, "video/big/source.mp4", &endless{n: size}); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > b.putBudget {
				t.Errorf("putting %d MiB allocated %d KiB: the object was buffered", size>>20, grew>>10)
			}
			info, err := b.st.Stat(b.ctx, "video/big/source.mp4")
			if err != nil || info.Size != size {
				t.Fatalf("stat: %+v %v", info, err)
			}
		})
	}
}

func TestNewLocal(t *testing.T) {
	t.Parallel()
	if _, err := storage.NewLocal(" "); err == nil {
		t.Error("NewLocal of an empty path succeeded")
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := storage.NewLocal(f); err == nil {
		t.Error("NewLocal of a regular file succeeded")
	}
	// The directory is made on the first write, not before.
	dir := filepath.Join(t.TempDir(), "a", "b")
	st, err := storage.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewLocal made %s already", dir)
	}
	data := make([]byte, 1000)
	_, _ = rand.Read(data)
	if err := st.Put(t.Context(), "x/y.png", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "x", "y.png"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file on disk: %v", err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "x", "y.png"))
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 (readable by a web server)", fi.Mode().Perm())
	}
}
