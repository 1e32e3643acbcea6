package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/content"
)

const transferFile = `{"format":"streamflix.catalog","version":1,
"genres":[{"slug":"comedy","name":"Comedy"}],
"titles":[
 {"external_key":"the-general","kind":"movie","name":"The General","release_year":1926,"maturity_rating":"G","status":"published",
  "genres":["comedy"],"credits":[{"name":"Buster Keaton","role":"actor","character":"Johnnie Gray"}]},
 {"external_key":"broken","kind":"movie","name":"","maturity_rating":"PG-14"}
]}`

type importReport struct {
	DryRun bool                  `json:"dry_run"`
	Titles content.ImportCounts  `json:"titles"`
	Genres content.ImportCounts  `json:"genres"`
	Errors []content.ImportError `json:"errors"`
}

func TestCatalogImportExportRoutes(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	api := newClient(t, id.a.URL())
	adultTok, _, _ := catalogViewer(t, id, "importer@example.com")
	admin, adult := api.as(testAdminToken), api.as(adultTok)
	const importPath = "/api/v1/admin/catalog/import"
	good := raw("application/json", []byte(transferFile))

	// Viewers can neither import nor export.
	adult.do("POST", importPath, good).want("viewer import", http.StatusForbidden, "admin_required")
	adult.do("GET", "/api/v1/admin/catalog/export", nil).want("viewer export", http.StatusForbidden, "")

	// Files that are not JSON, or not sent as JSON.
	admin.do("POST", importPath, raw("application/json", []byte(`{"format":"streamflix.catalog","version":1,"titles":[{"external_key":`))).
		want("malformed", http.StatusBadRequest, "malformed_json")
	admin.do("POST", importPath, raw("text/csv", []byte(transferFile))).want("text/csv", http.StatusUnsupportedMediaType, "")
	resp := admin.do("POST", importPath+"?dry_run=maybe", good)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(resp.body), `"field":"dry_run"`) {
		t.Fatalf("dry_run=maybe: %d %s", resp.StatusCode, resp.body)
	}

	// A dry run reports and writes nothing.
	var rep importReport
	resp = admin.do("POST", importPath+"?dry_run=true", good).want("dry run", http.StatusOK, "").decode(&rep)
	if !rep.DryRun || rep.Titles.Created != 1 {
		t.Fatalf("dry run: %s", resp.body)
	}
	var p apiPage
	adult.do("GET", "/api/v1/search?q=general", nil).decode(&p)
	if len(p.Items) != 0 {
		t.Fatalf("dry run wrote: %s", pageNames(p))
	}

	// The real thing: the good row imports, the broken one is reported.
	rep = importReport{}
	resp = admin.do("POST", importPath, good).want("import", http.StatusOK, "").decode(&rep)
	if rep.Titles != (content.ImportCounts{Created: 1, Failed: 1}) || rep.Genres != (content.ImportCounts{Created: 1}) {
		t.Fatalf("import counts: %s", resp.body)
	}
	fields := map[string]string{}
	for _, e := range rep.Errors {
		if e.Index != 1 || e.ExternalKey != "broken" {
			t.Fatalf("error of another row: %+v", e)
		}
		fields[e.Field] = e.Code
	}
	if fields["name"] != "required" || fields["maturity_rating"] != "invalid" {
		t.Fatalf("errors: %s", resp.body)
	}
	adult.do("GET", "/api/v1/search?q=keaton", nil).decode(&p)
	if pageNames(p) != "The General" {
		t.Fatalf("search after import: %s", pageNames(p))
	}

	// Export, then import the export: nothing changes.
	resp = admin.do("GET", "/api/v1/admin/catalog/export", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	exported := resp.body
	var file content.CatalogFile
	if err := json.Unmarshal(exported, &file); err != nil || len(file.Titles) != 1 || file.Titles[0].Name != "The General" || len(file.Titles[0].Credits) != 1 {
		t.Fatalf("exported file: %v %s", err, exported)
	}
	resp = admin.do("POST", importPath, raw("application/json", exported))
	rep = importReport{}
	if err := json.Unmarshal(resp.body, &rep); err != nil || rep.Titles != (content.ImportCounts{Unchanged: 1}) || rep.Genres != (content.ImportCounts{Unchanged: 1}) {
		t.Fatalf("re-import of the export: %d %s", resp.StatusCode, resp.body)
	}
}

func TestSeedDemoCommand(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	getenv := env(id.dbURL, map[string]string{"MAIL_DIR": id.mailDir, "MEDIA_DIR": id.mediaDir})
	var demo content.CatalogFile
	if err := json.Unmarshal(content.DemoCatalog(), &demo); err != nil {
		t.Fatal(err)
	}
	n := len(demo.Titles)

	code, out, errOut := runCLI(t, getenv, "seed", "--demo", "--if-empty")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("titles: %d created, 0 updated, 0 unchanged, 0 failed", n)) ||
		!strings.Contains(out, fmt.Sprintf("artwork: drew posters and backdrops for %d titles", n)) {
		t.Fatalf("first seed: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, getenv, "seed", "--demo")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("titles: 0 created, 0 updated, %d unchanged, 0 failed", n)) || strings.Contains(out, "artwork:") {
		t.Fatalf("second seed: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, getenv, "seed", "--demo", "--if-empty")
	if code != 0 || !strings.Contains(out, "nothing to do") {
		t.Fatalf("--if-empty on a full catalog: exit %d %s", code, out)
	}
	if code, _, errOut := runCLI(t, getenv, "seed"); code != 2 || !strings.Contains(errOut, "want --demo") {
		t.Fatalf("seed without a mode: exit %d %s", code, errOut)
	}

	// A newcomer browses it.
	api := newClient(t, id.a.URL())
	adultTok, kidTok, _ := catalogViewer(t, id, "newcomer@example.com")
	adult, kid := api.as(adultTok), api.as(kidTok)
	var home struct {
		Rows []struct {
			Title string     `json:"title"`
			Items []apiTitle `json:"items"`
		} `json:"rows"`
	}
	for _, viewer := range []apiClient{adult, kid} {
		viewer.do("GET", "/api/v1/catalog/home", nil).want("home", http.StatusOK, "").decode(&home)
		if len(home.Rows) < 5 || len(home.Rows[0].Items) < 10 {
			t.Fatalf("home: %d rows", len(home.Rows))
		}
	}
	var series apiPage
	kid.do("GET", "/api/v1/titles?kind=series&limit=100", nil).decode(&series)
	if len(series.Items) < 4 {
		t.Fatalf("series a kid sees: %s", pageNames(series))
	}
	var page apiTitle
	kid.do("GET", "/api/v1/titles/"+series.Items[0].ID, nil).want("series page", http.StatusOK, "").decode(&page)
	if len(page.Seasons) == 0 || len(page.Seasons[0].Episodes) == 0 {
		t.Fatalf("series %q has no episodes: %+v", page.Name, page)
	}
	// Every demo title has generated artwork, served from media storage.
	var art struct {
		Artwork struct {
			Poster *struct {
				Sizes []struct {
					Width int    `json:"width"`
					URL   string `json:"url"`
				} `json:"sizes"`
			} `json:"poster"`
		} `json:"artwork"`
	}
	kid.do("GET", "/api/v1/titles/"+series.Items[0].ID, nil).decode(&art)
	if art.Artwork.Poster == nil || len(art.Artwork.Poster.Sizes) == 0 {
		t.Fatalf("demo series %q has no poster", page.Name)
	}
	resp := api.do("GET", art.Artwork.Poster.Sizes[0].URL, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || len(resp.body) < 1000 {
		t.Fatalf("poster %s: %d %s, %d bytes", art.Artwork.Poster.Sizes[0].URL, resp.StatusCode, resp.Header.Get("Content-Type"), len(resp.body))
	}
	var found apiPage
	adult.do("GET", "/api/v1/search?q="+url.QueryEscape("nosferatu"), nil).decode(&found)
	if len(found.Items) == 0 || found.Items[0].Name != "Nosferatu" {
		t.Fatalf("search: %s", pageNames(found))
	}
	kid.do("GET", "/api/v1/search?q=nosferatu", nil).decode(&found)
	if len(found.Items) != 0 {
		t.Fatalf("a kid finds a PG-13 title: %s", pageNames(found))
	}

	// The command-line export and import: a file with a broken row exits 1
	// and names the row; the export imports back unchanged.
	dir := t.TempDir()
	exported := filepath.Join(dir, "catalog.json")
	if code, _, errOut := runCLI(t, getenv, "catalog", "export", "--output", exported); code != 0 {
		t.Fatalf("export: exit %d %s", code, errOut)
	}
	code, out, errOut = runCLI(t, getenv, "catalog", "import", exported)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("titles: 0 created, 0 updated, %d unchanged, 0 failed", n)) {
		t.Fatalf("import of the export: exit %d\n%s%s", code, out, errOut)
	}
	broken := filepath.Join(dir, "broken.json")
	if err := os.WriteFile(broken, []byte(transferFile), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, getenv, "catalog", "import", "--dry-run", broken)
	if code != 1 || !strings.Contains(out, "dry run") || !strings.Contains(out, `titles[1] ("broken") name: required`) {
		t.Fatalf("import of a broken file: exit %d\n%s", code, out)
	}
}

func TestSeedScaleCommand(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	getenv := env(id.dbURL, map[string]string{"MAIL_DIR": id.mailDir})
	code, out, errOut := runCLI(t, getenv, "seed", "--scale", "500", "--seed", "3")
	if code != 0 || !strings.Contains(out, "500 created") {
		t.Fatalf("seed --scale: exit %d %s %s", code, out, errOut)
	}
	adultTok, _, _ := catalogViewer(t, id, "loadtest@example.com")
	adult := newClient(t, id.a.URL()).as(adultTok)
	seen := map[string]bool{}
	var first apiTitle
	for cursor := ""; ; {
		var p apiPage
		adult.do("GET", "/api/v1/titles?limit=100&cursor="+cursor, nil).want("titles page", http.StatusOK, "").decode(&p)
		for _, it := range p.Items {
			seen[it.ID] = true
		}
		if first.ID == "" && len(p.Items) > 0 {
			first = p.Items[0]
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 500 {
		t.Fatalf("visible titles: %d, want 500", len(seen))
	}
	var found apiPage
	adult.do("GET", "/api/v1/search?limit=100&q="+url.QueryEscape(first.Name), nil).decode(&found)
	hit := false
	for _, it := range found.Items {
		hit = hit || it.ID == first.ID
	}
	if !hit {
		t.Fatalf("searching %q does not find it: %s", first.Name, pageNames(found))
	}
}
