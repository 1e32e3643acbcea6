package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// catalogViewer signs up a viewer and returns access tokens for its adult
// profile and for a new kids profile.
func catalogViewer(t *testing.T, id *identity, email string) (adultTok, kidTok, userTok string) {
	t.Helper()
	base := id.a.URL()
	id.signUp(email)
	lt := id.login(base, email, goodPassword, "TV")
	var ps struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	id.call(base, "GET", "/api/v1/profiles", lt.AccessToken, nil, &ps)
	var kid struct {
		ID string `json:"id"`
	}
	st, body := id.call(base, "POST", "/api/v1/profiles", lt.AccessToken, map[string]any{"name": "Kid", "kids": true}, &kid)
	wantStatus(t, "kids profile", st, body, http.StatusCreated, "")
	var at, kt tokens
	st, body = id.call(base, "POST", "/api/v1/auth/profile", lt.AccessToken, map[string]any{"profile_id": ps.Items[0].ID}, &at)
	wantStatus(t, "select adult profile", st, body, http.StatusOK, "")
	st, body = id.call(base, "POST", "/api/v1/auth/profile", lt.AccessToken, map[string]any{"profile_id": kid.ID}, &kt)
	wantStatus(t, "select kids profile", st, body, http.StatusOK, "")
	return at.AccessToken, kt.AccessToken, lt.AccessToken
}

type apiTitle struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Status  string `json:"status"`
	Seasons []struct {
		ID       string `json:"id"`
		Episodes []struct {
			Name string `json:"name"`
		} `json:"episodes"`
	} `json:"seasons"`
}

type apiPage struct {
	Items      []apiTitle `json:"items"`
	NextCursor string     `json:"next_cursor"`
}

// publishTitle creates and publishes a title as the operator.
func publishTitle(t *testing.T, id *identity, body map[string]any) apiTitle {
	t.Helper()
	var tt apiTitle
	st, b := id.call(id.a.URL(), "POST", "/api/v1/admin/titles", testAdminToken, body, &tt)
	wantStatus(t, "create title", st, b, http.StatusCreated, "")
	st, b = id.call(id.a.URL(), "POST", "/api/v1/admin/titles/"+tt.ID+"/publish", testAdminToken, nil, &tt)
	wantStatus(t, "publish", st, b, http.StatusOK, "")
	return tt
}

func pageNames(p apiPage) string {
	var n []string
	for _, it := range p.Items {
		n = append(n, it.Name)
	}
	return strings.Join(n, ",")
}

func TestCatalogAdminAndViewer(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	adultTok, kidTok, userTok := catalogViewer(t, id, "viewer@example.com")

	// Viewers cannot curate.
	st, body := id.call(base, "POST", "/api/v1/admin/titles", adultTok, map[string]any{"kind": "movie", "name": "X", "maturity_rating": "G"}, nil)
	wantStatus(t, "viewer creating a title", st, body, http.StatusForbidden, "admin_required")
	// Browsing needs a profile.
	st, body = id.call(base, "GET", "/api/v1/titles", userTok, nil, nil)
	wantStatus(t, "browse without a profile", st, body, http.StatusForbidden, "profile_required")

	// Validation names the fields.
	st, body = id.call(base, "POST", "/api/v1/admin/titles", testAdminToken, map[string]any{"kind": "film", "name": "", "maturity_rating": "R", "genres": []string{"nope"}}, nil)
	wantStatus(t, "invalid title", st, body, http.StatusUnprocessableEntity, "validation_failed")
	if !strings.Contains(toJSON(body), `"field":"kind"`) || !strings.Contains(toJSON(body), `"field":"name"`) {
		t.Fatalf("field errors: %v", body)
	}
	st, body = id.call(base, "PATCH", "/api/v1/admin/titles/00000000-0000-4000-8000-000000000000", testAdminToken, map[string]any{"name": "X"}, nil)
	wantStatus(t, "patch unknown", st, body, http.StatusNotFound, "title_not_found")

	st, body = id.call(base, "POST", "/api/v1/admin/genres", testAdminToken, map[string]any{"slug": "drama", "name": "Drama"}, nil)
	wantStatus(t, "genre", st, body, http.StatusCreated, "")
	var person struct {
		ID string `json:"id"`
	}
	st, body = id.call(base, "POST", "/api/v1/admin/people", testAdminToken, map[string]any{"name": "Ingrid Bergman"}, &person)
	wantStatus(t, "person", st, body, http.StatusCreated, "")
	var genres struct {
		Items []struct {
			Slug string `json:"slug"`
		} `json:"items"`
	}
	id.call(base, "GET", "/api/v1/genres", "", nil, &genres)
	if len(genres.Items) != 1 || genres.Items[0].Slug != "drama" {
		t.Fatalf("genres: %+v", genres)
	}

	casa := publishTitle(t, id, map[string]any{"kind": "movie", "name": "Casablanca", "maturity_rating": "PG", "release_year": 1942,
		"genres": []string{"drama"}, "people": []map[string]any{{"person_id": person.ID, "role": "actor", "character": "Ilsa"}}})
	mature := publishTitle(t, id, map[string]any{"kind": "movie", "name": "Scarface", "maturity_rating": "R", "genres": []string{"drama"}})
	publishTitle(t, id, map[string]any{"kind": "movie", "name": "Tomorrow", "maturity_rating": "G", "available_from": "2999-01-01T00:00:00Z"})
	var draft apiTitle
	id.call(base, "POST", "/api/v1/admin/titles", testAdminToken, map[string]any{"kind": "movie", "name": "Draft", "maturity_rating": "G"}, &draft)
	show := publishTitle(t, id, map[string]any{"kind": "series", "name": "Flash Gordon", "maturity_rating": "TV-PG"})
	var season struct {
		ID string `json:"id"`
	}
	st, body = id.call(base, "POST", "/api/v1/admin/titles/"+show.ID+"/seasons", testAdminToken, map[string]any{"number": 1}, &season)
	wantStatus(t, "season", st, body, http.StatusCreated, "")
	st, body = id.call(base, "POST", "/api/v1/admin/seasons/"+season.ID+"/episodes", testAdminToken, map[string]any{"number": 1, "name": "Planet of Peril", "runtime_minutes": 20}, nil)
	wantStatus(t, "episode", st, body, http.StatusCreated, "")
	st, body = id.call(base, "POST", "/api/v1/admin/titles/"+casa.ID+"/seasons", testAdminToken, map[string]any{"number": 1}, nil)
	wantStatus(t, "season on a movie", st, body, http.StatusConflict, "not_series")

	var p apiPage
	id.call(base, "GET", "/api/v1/titles", adultTok, nil, &p)
	if pageNames(p) != "Flash Gordon,Scarface,Casablanca" {
		t.Fatalf("adult list: %s", pageNames(p))
	}
	id.call(base, "GET", "/api/v1/titles?kind=movie", kidTok, nil, &p)
	if pageNames(p) != "Casablanca" {
		t.Fatalf("kid movies: %s", pageNames(p))
	}
	for _, tid := range []string{mature.ID, draft.ID, "not-a-uuid"} {
		st, body = id.call(base, "GET", "/api/v1/titles/"+tid, kidTok, nil, nil)
		wantStatus(t, "kid opening "+tid, st, body, http.StatusNotFound, "title_not_found")
	}
	id.call(base, "GET", "/api/v1/search?q=scarface", kidTok, nil, &p)
	if len(p.Items) != 0 {
		t.Fatalf("kid search finds a mature title: %s", pageNames(p))
	}
	var page apiTitle
	st, body = id.call(base, "GET", "/api/v1/titles/"+show.ID, kidTok, nil, &page)
	wantStatus(t, "series page", st, body, http.StatusOK, "")
	if len(page.Seasons) != 1 || len(page.Seasons[0].Episodes) != 1 || page.Seasons[0].Episodes[0].Name != "Planet of Peril" {
		t.Fatalf("series page: %+v", page)
	}
	st, body = id.call(base, "GET", "/api/v1/titles/"+show.ID+"/seasons", kidTok, nil, nil)
	wantStatus(t, "seasons", st, body, http.StatusOK, "")

	// Bad list input.
	for _, q := range []string{"cursor=garbage", "cursor=" + url.QueryEscape(strings.Repeat("A", 300)), "limit=0", "year=abc", "kind=book"} {
		st, body = id.call(base, "GET", "/api/v1/titles?"+q, adultTok, nil, nil)
		wantStatus(t, q, st, body, http.StatusUnprocessableEntity, "validation_failed")
	}
	_, body = id.call(base, "GET", "/api/v1/titles?cursor=garbage", adultTok, nil, nil)
	if !strings.Contains(toJSON(body), `"field":"cursor"`) {
		t.Fatalf("malformed cursor names the field: %v", body)
	}

	// Search: typos, hostile text, oversized text.
	id.call(base, "GET", "/api/v1/search?q=casablanka", adultTok, nil, &p)
	if len(p.Items) == 0 || p.Items[0].Name != "Casablanca" {
		t.Fatalf("typo search: %s", pageNames(p))
	}
	id.call(base, "GET", "/api/v1/search?q=bergman", adultTok, nil, &p)
	if pageNames(p) != "Casablanca" {
		t.Fatalf("search by person: %s", pageNames(p))
	}
	for _, q := range []string{`'); DROP TABLE content.titles; -- & | ! :*`, `":*&|!()<->`, `%00`, `\'`} {
		st, body = id.call(base, "GET", "/api/v1/search?q="+url.QueryEscape(q), adultTok, nil, nil)
		if st != http.StatusOK && st != http.StatusUnprocessableEntity {
			t.Fatalf("hostile %q: %d %v", q, st, body)
		}
		st, body = id.call(base, "GET", "/api/v1/search/suggest?q="+url.QueryEscape(q), adultTok, nil, nil)
		if st != http.StatusOK && st != http.StatusUnprocessableEntity {
			t.Fatalf("hostile suggest %q: %d %v", q, st, body)
		}
	}
	st, body = id.call(base, "GET", "/api/v1/search?q="+strings.Repeat("a", 10000), adultTok, nil, nil)
	wantStatus(t, "10,000 characters", st, body, http.StatusUnprocessableEntity, "validation_failed")
	st, body = id.call(base, "GET", "/api/v1/search?q=x%00y", adultTok, nil, nil)
	wantStatus(t, "NUL", st, body, http.StatusUnprocessableEntity, "validation_failed")
	var sug struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	id.call(base, "GET", "/api/v1/search/suggest?q=fla", kidTok, nil, &sug)
	if len(sug.Items) != 1 || sug.Items[0].Name != "Flash Gordon" {
		t.Fatalf("suggest: %+v", sug)
	}

	// Home rows page through /titles.
	var home struct {
		Rows []struct {
			ID         string     `json:"id"`
			Genre      string     `json:"genre"`
			Items      []apiTitle `json:"items"`
			NextCursor string     `json:"next_cursor"`
		} `json:"rows"`
	}
	st, body = id.call(base, "GET", "/api/v1/catalog/home", kidTok, nil, &home)
	wantStatus(t, "home", st, body, http.StatusOK, "")
	if len(home.Rows) != 2 || home.Rows[0].ID != "new" || home.Rows[1].Genre != "drama" || len(home.Rows[1].Items) != 1 {
		t.Fatalf("kid home: %+v", home)
	}

	// Deleting works once and then 404s.
	st, body = id.call(base, "DELETE", "/api/v1/admin/titles/"+draft.ID, testAdminToken, nil, nil)
	wantStatus(t, "delete", st, body, http.StatusNoContent, "")
	st, body = id.call(base, "DELETE", "/api/v1/admin/titles/"+draft.ID, testAdminToken, nil, nil)
	wantStatus(t, "delete again", st, body, http.StatusNotFound, "title_not_found")
}

func TestCatalogHomePaging(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	base := id.a.URL()
	adultTok, _, _ := catalogViewer(t, id, "pager@example.com")
	id.call(base, "POST", "/api/v1/admin/genres", testAdminToken, map[string]any{"slug": "western", "name": "Western"}, nil)
	for i := 0; i < 23; i++ {
		publishTitle(t, id, map[string]any{"kind": "movie", "name": "Western " + string(rune('A'+i)), "maturity_rating": "G", "genres": []string{"western"}})
	}
	var home struct {
		Rows []struct {
			Genre      string     `json:"genre"`
			Items      []apiTitle `json:"items"`
			NextCursor string     `json:"next_cursor"`
		} `json:"rows"`
	}
	id.call(base, "GET", "/api/v1/catalog/home", adultTok, nil, &home)
	if len(home.Rows) != 2 || len(home.Rows[1].Items) != 20 || home.Rows[1].NextCursor == "" {
		t.Fatalf("home: %+v", home)
	}
	seen := map[string]bool{}
	for _, it := range home.Rows[1].Items {
		seen[it.ID] = true
	}
	var p apiPage
	st, body := id.call(base, "GET", "/api/v1/titles?genre=western&cursor="+home.Rows[1].NextCursor, adultTok, nil, &p)
	wantStatus(t, "next page", st, body, http.StatusOK, "")
	for _, it := range p.Items {
		if seen[it.ID] {
			t.Fatalf("duplicate %s", it.Name)
		}
		seen[it.ID] = true
	}
	if len(seen) != 23 || p.NextCursor != "" {
		t.Fatalf("saw %d, next %q", len(seen), p.NextCursor)
	}
}

// TestCatalogCacheAcrossInstances: a title page cached by instance B is
// refreshed on B right after an operator changes it through instance A.
func TestCatalogCacheAcrossInstances(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, true)
	adultTok, _, _ := catalogViewer(t, id, "cache@example.com")
	tt := publishTitle(t, id, map[string]any{"kind": "movie", "name": "His Girl Friday", "maturity_rating": "PG"})

	get := func(base, etag string) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", base+"/api/v1/titles/"+tt.ID, nil)
		req.Header.Set("Authorization", "Bearer "+adultTok)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, []byte(b.String())
	}
	// Warm B's view (twice: the first read may set the catalog version).
	get(id.b.URL(), "")
	resp, body := get(id.b.URL(), "")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || resp.Header.Get("Cache-Control") != "private, max-age=60" || !strings.Contains(string(body), "His Girl Friday") {
		t.Fatalf("title page: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, _ := get(id.b.URL(), etag); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", resp.StatusCode)
	}
	st, b := id.call(id.a.URL(), "PATCH", "/api/v1/admin/titles/"+tt.ID, testAdminToken, map[string]any{"name": "His Girl Friday (1940)"}, nil)
	wantStatus(t, "rename", st, b, http.StatusOK, "")
	resp, body = get(id.b.URL(), etag)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "His Girl Friday (1940)") || resp.Header.Get("ETag") == etag {
		t.Fatalf("after the change on A, B answers %d %s", resp.StatusCode, body)
	}
	// Unpublishing on A hides it on B at once.
	id.call(id.a.URL(), "POST", "/api/v1/admin/titles/"+tt.ID+"/unpublish", testAdminToken, nil, nil)
	if resp, _ := get(id.b.URL(), ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unpublished title on B: %d", resp.StatusCode)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestCatalogCacheSetting shows what CATALOG_CACHE_TTL controls: a change
// made behind the service's back (no invalidation) stays hidden by the
// cache, and shows at once with the cache off.
func TestCatalogCacheSetting(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ttl      string
		wantName string
	}{{"60s", "Before"}, {"0", "After"}} {
		t.Run("ttl="+c.ttl, func(t *testing.T) {
			t.Parallel()
			id := setupIdentityWith(t, false, map[string]string{"CATALOG_CACHE_TTL": c.ttl})
			adultTok, _, _ := catalogViewer(t, id, "cache@example.com")
			tt := publishTitle(t, id, map[string]any{"kind": "movie", "name": "Before", "maturity_rating": "PG"})
			var got apiTitle
			st, body := id.call(id.a.URL(), "GET", "/api/v1/titles/"+tt.ID, adultTok, nil, &got)
			wantStatus(t, "first read", st, body, http.StatusOK, "")
			if _, err := id.db.Exec(`UPDATE content.titles SET name = 'After' WHERE id = $1`, tt.ID); err != nil {
				t.Fatal(err)
			}
			st, body = id.call(id.a.URL(), "GET", "/api/v1/titles/"+tt.ID, adultTok, nil, &got)
			wantStatus(t, "second read", st, body, http.StatusOK, "")
			if got.Name != c.wantName {
				t.Fatalf("CATALOG_CACHE_TTL=%s: second read shows %q, want %q", c.ttl, got.Name, c.wantName)
			}
		})
	}
}
