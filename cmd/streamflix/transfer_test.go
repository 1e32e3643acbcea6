package main

import (
	"bytes"
	"context"
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

func postImport(t *testing.T, base, token, query, contentType, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/api/v1/admin/catalog/import"+query, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp, b.Bytes()
}

func TestCatalogImportExportRoutes(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	adultTok, _, _ := catalogViewer(t, id, "importer@example.com")

	// Viewers can neither import nor export.
	resp, body := postImport(t, base, adultTok, "", "application/json", transferFile)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"admin_required"`) {
		t.Fatalf("viewer import: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", base+"/api/v1/admin/catalog/export", adultTok, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer export: %d %s", resp.StatusCode, body)
	}

	// Files that are not JSON, or not sent as JSON.
	resp, body = postImport(t, base, testAdminToken, "", "application/json", `{"format":"streamflix.catalog","version":1,"titles":[{"external_key":`)
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), `"code":"malformed_json"`) {
		t.Fatalf("malformed: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = postImport(t, base, testAdminToken, "", "text/csv", transferFile)
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("text/csv: %d %s", resp.StatusCode, body)
	}
	resp, body = postImport(t, base, testAdminToken, "?dry_run=maybe", "application/json", transferFile)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), `"field":"dry_run"`) {
		t.Fatalf("dry_run=maybe: %d %s", resp.StatusCode, body)
	}

	// A dry run reports and writes nothing.
	var rep importReport
	resp, body = postImport(t, base, testAdminToken, "?dry_run=true", "application/json", transferFile)
	if err := json.Unmarshal(body, &rep); err != nil || resp.StatusCode != http.StatusOK || !rep.DryRun || rep.Titles.Created != 1 {
		t.Fatalf("dry run: %d %s", resp.StatusCode, body)
	}
	var p apiPage
	id.call(base, "GET", "/api/v1/search?q=general", adultTok, nil, &p)
	if len(p.Items) != 0 {
		t.Fatalf("dry run wrote: %s", pageNames(p))
	}

	// The real thing: the good row imports, the broken one is reported.
	resp, body = postImport(t, base, testAdminToken, "", "application/json", transferFile)
	rep = importReport{}
	if err := json.Unmarshal(body, &rep); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("import: %d %s", resp.StatusCode, body)
	}
	if rep.Titles != (content.ImportCounts{Created: 1, Failed: 1}) || rep.Genres != (content.ImportCounts{Created: 1}) {
		t.Fatalf("import counts: %s", body)
	}
	fields := map[string]string{}
	for _, e := range rep.Errors {
		if e.Index != 1 || e.ExternalKey != "broken" {
			t.Fatalf("error of another row: %+v", e)
		}
		fields[e.Field] = e.Code
	}
	if fields["name"] != "required" || fields["maturity_rating"] != "invalid" {
		t.Fatalf("errors: %s", body)
	}
	id.call(base, "GET", "/api/v1/search?q=keaton", adultTok, nil, &p)
	if pageNames(p) != "The General" {
		t.Fatalf("search after import: %s", pageNames(p))
	}

	// Export, then import the export: nothing changes.
	resp, exported := do(t, "GET", base+"/api/v1/admin/catalog/export", testAdminToken, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	var file content.CatalogFile
	if err := json.Unmarshal(exported, &file); err != nil || len(file.Titles) != 1 || file.Titles[0].Name != "The General" || len(file.Titles[0].Credits) != 1 {
		t.Fatalf("exported file: %v %s", err, exported)
	}
	resp, body = postImport(t, base, testAdminToken, "", "application/json", string(exported))
	rep = importReport{}
	if err := json.Unmarshal(body, &rep); err != nil || rep.Titles != (content.ImportCounts{Unchanged: 1}) || rep.Genres != (content.ImportCounts{Unchanged: 1}) {
		t.Fatalf("re-import of the export: %d %s", resp.StatusCode, body)
	}
}

// runCLI runs the binary's run function and returns its exit code and output.
func runCLI(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, getenv, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSeedDemoCommand(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	getenv := env(id.dbURL, map[string]string{"MAIL_DIR": id.mailDir})
	var demo content.CatalogFile
	if err := json.Unmarshal(content.DemoCatalog(), &demo); err != nil {
		t.Fatal(err)
	}
	n := len(demo.Titles)

	code, out, errOut := runCLI(t, getenv, "seed", "--demo", "--if-empty")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("titles: %d created, 0 updated, 0 unchanged, 0 failed", n)) {
		t.Fatalf("first seed: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, getenv, "seed", "--demo")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("titles: 0 created, 0 updated, %d unchanged, 0 failed", n)) {
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
	base := id.a.URL()
	adultTok, kidTok, _ := catalogViewer(t, id, "newcomer@example.com")
	var home struct {
		Rows []struct {
			Title string     `json:"title"`
			Items []apiTitle `json:"items"`
		} `json:"rows"`
	}
	for _, tok := range []string{adultTok, kidTok} {
		st, body := id.call(base, "GET", "/api/v1/catalog/home", tok, nil, &home)
		wantStatus(t, "home", st, body, http.StatusOK, "")
		if len(home.Rows) < 5 || len(home.Rows[0].Items) < 10 {
			t.Fatalf("home: %d rows", len(home.Rows))
		}
	}
	var series apiPage
	id.call(base, "GET", "/api/v1/titles?kind=series&limit=100", kidTok, nil, &series)
	if len(series.Items) < 4 {
		t.Fatalf("series a kid sees: %s", pageNames(series))
	}
	var page apiTitle
	st, body := id.call(base, "GET", "/api/v1/titles/"+series.Items[0].ID, kidTok, nil, &page)
	wantStatus(t, "series page", st, body, http.StatusOK, "")
	if len(page.Seasons) == 0 || len(page.Seasons[0].Episodes) == 0 {
		t.Fatalf("series %q has no episodes: %+v", page.Name, page)
	}
	var found apiPage
	id.call(base, "GET", "/api/v1/search?q="+url.QueryEscape("nosferatu"), adultTok, nil, &found)
	if len(found.Items) == 0 || found.Items[0].Name != "Nosferatu" {
		t.Fatalf("search: %s", pageNames(found))
	}
	id.call(base, "GET", "/api/v1/search?q=nosferatu", kidTok, nil, &found)
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
	base := id.a.URL()
	adultTok, _, _ := catalogViewer(t, id, "loadtest@example.com")
	seen := map[string]bool{}
	var first apiTitle
	for cursor := ""; ; {
		var p apiPage
		st, body := id.call(base, "GET", "/api/v1/titles?limit=100&cursor="+cursor, adultTok, nil, &p)
		wantStatus(t, "titles page", st, body, http.StatusOK, "")
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
	id.call(base, "GET", "/api/v1/search?limit=100&q="+url.QueryEscape(first.Name), adultTok, nil, &found)
	hit := false
	for _, it := range found.Items {
		hit = hit || it.ID == first.ID
	}
	if !hit {
		t.Fatalf("searching %q does not find it: %s", first.Name, pageNames(found))
	}
}
