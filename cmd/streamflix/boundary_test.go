package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// domains are the domain packages of the module contract
// (internal/registry/doc.go). Each may import its own subpackages, the
// platform and the registry, never another domain.
var domains = []string{"user", "auth", "content", "reco", "streaming", "payment", "notify"}

const modulePath = "github.com/streamflix/streamflix"

// importViolation is one import that crosses a boundary.
type importViolation struct {
	file, imp, rule string
}

// domainOf returns the domain an import path or package directory (relative
// to the repository, slash-separated) belongs to, or "".
func domainOf(rel string) string {
	for _, d := range domains {
		p := "internal/" + d
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return d
		}
	}
	return ""
}

// checkBoundaries parses every Go file under root/internal (tests
// included: a test that reaches into another domain couples the two just
// the same) and returns the imports that break the rules:
//   - a domain package imports no other domain package;
//   - internal/platform/... imports no domain package, no registry and no
//     gateway.
func checkBoundaries(t *testing.T, root string) []importViolation {
	t.Helper()
	var out []importViolation
	fset := token.NewFileSet()
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == "testdata" || strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		relFile, _ := filepath.Rel(root, path)
		relFile = filepath.ToSlash(relFile)
		dir := filepath.ToSlash(filepath.Dir(relFile))
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		from := domainOf(dir)
		platform := dir == "internal/platform" || strings.HasPrefix(dir, "internal/platform/")
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			rel, ok := strings.CutPrefix(imp, modulePath+"/")
			if !ok {
				continue
			}
			to := domainOf(rel)
			switch {
			case from != "" && to != "" && to != from:
				out = append(out, importViolation{relFile, imp, "domain " + from + " imports domain " + to})
			case platform && to != "":
				out = append(out, importViolation{relFile, imp, "platform imports domain " + to})
			case platform && (rel == "internal/registry" || strings.HasPrefix(rel, "internal/registry/")):
				out = append(out, importViolation{relFile, imp, "platform imports the registry"})
			case platform && (rel == "internal/gateway" || strings.HasPrefix(rel, "internal/gateway/")):
				out = append(out, importViolation{relFile, imp, "platform imports the gateway"})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].file+out[i].imp < out[j].file+out[j].imp })
	return out
}

// TestModuleBoundaries fails naming every import that crosses a module
// boundary.
func TestModuleBoundaries(t *testing.T) {
	t.Parallel()
	for _, v := range checkBoundaries(t, filepath.Join("..", "..")) {
		t.Errorf("%s imports %s: %s", v.file, v.imp, v.rule)
	}
}

// TestModuleBoundariesCatchPlantedImports plants each kind of forbidden
// import in a copy of a small tree and expects the check to name it, so
// the boundary test cannot pass by seeing nothing.
func TestModuleBoundariesCatchPlantedImports(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	write := func(rel, src string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	imp := func(pkg string, paths ...string) string {
		var b strings.Builder
		b.WriteString("package " + pkg + "\n\nimport (\n")
		for _, p := range paths {
			b.WriteString("\t_ " + strconv.Quote(modulePath+"/"+p) + "\n")
		}
		b.WriteString(")\n")
		return b.String()
	}
	// Allowed: a domain importing its own subpackage, the platform and the
	// registry; the platform importing itself.
	write("internal/auth/ok.go", imp("auth", "internal/auth/token", "internal/platform/api", "internal/registry"))
	write("internal/platform/cache/ok.go", imp("cache", "internal/platform/apperr"))
	// Forbidden, one of each kind.
	write("internal/payment/bad.go", imp("payment", "internal/user"))
	write("internal/content/artgen/bad_test.go", imp("artgen", "internal/notify/templates"))
	write("internal/platform/queue/bad.go", imp("queue", "internal/streaming", "internal/registry", "internal/gateway"))

	got := checkBoundaries(t, root)
	want := []string{
		"internal/content/artgen/bad_test.go imports " + modulePath + "/internal/notify/templates: domain content imports domain notify",
		"internal/payment/bad.go imports " + modulePath + "/internal/user: domain payment imports domain user",
		"internal/platform/queue/bad.go imports " + modulePath + "/internal/gateway: platform imports the gateway",
		"internal/platform/queue/bad.go imports " + modulePath + "/internal/registry: platform imports the registry",
		"internal/platform/queue/bad.go imports " + modulePath + "/internal/streaming: platform imports domain streaming",
	}
	var lines []string
	for _, v := range got {
		lines = append(lines, v.file+" imports "+v.imp+": "+v.rule)
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
