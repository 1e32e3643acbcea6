package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// catalogViewer signs up a viewer and returns access tokens for its adult
// profile and for a new kids profile.
func catalogViewer(t *testing.T, id *identity, email string) (adultTok, kidTok, userTok string) {
	t.Helper()
	api := newClient(t, id.a.URL())
	id.signUp(email)
	lt := id.login(api, email, goodPassword, "TV")
	account := api.as(lt.AccessToken)
	var ps struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	account.do("GET", "/api/v1/profiles", nil).decode(&ps)
	var kid struct {
		ID string `json:"id"`
	}
	account.do("POST", "/api/v1/profiles", map[string]any{"name": "Kid", "kids": true}).want("kids profile", http.StatusCreated, "").decode(&kid)
	var at, kt tokens
	account.do("POST", "/api/v1/auth/profile", map[string]any{"profile_id": ps.Items[0].ID}).
		want("select adult profile", http.StatusOK, "").decode(&at)
	account.do("POST", "/api/v1/auth/profile", map[string]any{"profile_id": kid.ID}).want("select kids profile", http.StatusOK, "").decode(&kt)
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
	admin := newClient(t, id.a.URL()).as(testAdminToken)
	admin.do("POST", "/api/v1/admin/titles", body).want("create title", http.StatusCreated, "").decode(&tt)
	admin.do("POST", "/api/v1/admin/titles/"+tt.ID+"/publish", nil).want("publish", http.StatusOK, "").decode(&tt)
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
	api := newClient(t, id.a.URL())
	adultTok, kidTok, userTok := catalogViewer(t, id, "viewer@example.com")
	admin, adult, kid := api.as(testAdminToken), api.as(adultTok), api.as(kidTok)

	// Viewers cannot curate.
	adult.do("POST", "/api/v1/admin/titles", map[string]any{"kind": "movie", "name": "X", "maturity_rating": "G"}).
		want("viewer creating a title", http.StatusForbidden, "admin_required")
	// Browsing needs a profile.
	api.as(userTok).do("GET", "/api/v1/titles", nil).want("browse without a profile", http.StatusForbidden, "profile_required")

	// Validation names the fields.
	resp := admin.do("POST", "/api/v1/admin/titles", map[string]any{"kind": "film", "name": "", "maturity_rating": "R", "genres": []string{"nope"}}).
		want("invalid title", http.StatusUnprocessableEntity, "validation_failed")
	if body := string(resp.body); !strings.Contains(body, `"field":"kind"`) || !strings.Contains(body, `"field":"name"`) {
		t.Fatalf("field errors: %s", body)
	}
	admin.do("PATCH", "/api/v1/admin/titles/00000000-0000-4000-8000-000000000000", map[string]any{"name": "X"}).
		want("patch unknown", http.StatusNotFound, "title_not_found")

	admin.do("POST", "/api/v1/admin/genres", map[string]any{"slug": "drama", "name": "Drama"}).want("genre", http.StatusCreated, "")
	var person struct {
		ID string `json:"id"`
	}
	admin.do("POST", "/api/v1/admin/people", map[string]any{"name": "Ingrid Bergman"}).want("person", http.StatusCreated, "").decode(&person)
	var genres struct {
		Items []struct {
			Slug string `json:"slug"`
		} `json:"items"`
	}
	api.do("GET", "/api/v1/genres", nil).decode(&genres)
	if len(genres.Items) != 1 || genres.Items[0].Slug != "drama" {
		t.Fatalf("genres: %+v", genres)
	}

	casa := publishTitle(t, id, map[string]any{"kind": "movie", "name": "Casablanca", "maturity_rating": "PG", "release_year": 1942,
		"genres": []string{"drama"}, "people": []map[string]any{{"person_id": person.ID, "role": "actor", "character": "Ilsa"}}})
	mature := publishTitle(t, id, map[string]any{"kind": "movie", "name": "Scarface", "maturity_rating": "R", "genres": []string{"drama"}})
	publishTitle(t, id, map[string]any{"kind": "movie", "name": "Tomorrow", "maturity_rating": "G", "available_from": "2999-01-01T00:00:00Z"})
	var draft apiTitle
	admin.do("POST", "/api/v1/admin/titles", map[string]any{"kind": "movie", "name": "Draft", "maturity_rating": "G"}).decode(&draft)
	show := publishTitle(t, id, map[string]any{"kind": "series", "name": "Flash Gordon", "maturity_rating": "TV-PG"})
	var season struct {
		ID string `json:"id"`
	}
	admin.do("POST", "/api/v1/admin/titles/"+show.ID+"/seasons", map[string]any{"number": 1}).want("season", http.StatusCreated, "").decode(&season)
	admin.do("POST", "/api/v1/admin/seasons/"+season.ID+"/episodes", map[string]any{"number": 1, "name": "Planet of Peril", "runtime_minutes": 20}).
		want("episode", http.StatusCreated, "")
	admin.do("POST", "/api/v1/admin/titles/"+casa.ID+"/seasons", map[string]any{"number": 1}).
		want("season on a movie", http.StatusConflict, "not_series")

	var p apiPage
	adult.do("GET", "/api/v1/titles", nil).decode(&p)
	if pageNames(p) != "Flash Gordon,Scarface,Casablanca" {
		t.Fatalf("adult list: %s", pageNames(p))
	}
	kid.do("GET", "/api/v1/titles?kind=movie", nil).decode(&p)
	if pageNames(p) != "Casablanca" {
		t.Fatalf("kid movies: %s", pageNames(p))
	}
	for _, tid := range []string{mature.ID, draft.ID, "not-a-uuid"} {
		kid.do("GET", "/api/v1/titles/"+tid, nil).want("kid opening "+tid, http.StatusNotFound, "title_not_found")
	}
	kid.do("GET", "/api/v1/search?q=scarface", nil).decode(&p)
	if len(p.Items) != 0 {
		t.Fatalf("kid search finds a mature title: %s", pageNames(p))
	}
	var page apiTitle
	kid.do("GET", "/api/v1/titles/"+show.ID, nil).want("series page", http.StatusOK, "").decode(&page)
	if len(page.Seasons) != 1 || len(page.Seasons[0].Episodes) != 1 || page.Seasons[0].Episodes[0].Name != "Planet of Peril" {
		t.Fatalf("series page: %+v", page)
	}
	kid.do("GET", "/api/v1/titles/"+show.ID+"/seasons", nil).want("seasons", http.StatusOK, "")

	// Bad list input.
	for _, q := range []string{"cursor=garbage", "cursor=" + url.QueryEscape(strings.Repeat("A", 300)), "limit=0", "year=abc", "kind=book"} {
		adult.do("GET", "/api/v1/titles?"+q, nil).want(q, http.StatusUnprocessableEntity, "validation_failed")
	}
	if body := string(adult.do("GET", "/api/v1/titles?cursor=garbage", nil).body); !strings.Contains(body, `"field":"cursor"`) {
		t.Fatalf("malformed cursor names the field: %s", body)
	}

	// Search: typos, hostile text, oversized text.
	adult.do("GET", "/api/v1/search?q=casablanka", nil).decode(&p)
	if len(p.Items) == 0 || p.Items[0].Name != "Casablanca" {
		t.Fatalf("typo search: %s", pageNames(p))
	}
	adult.do("GET", "/api/v1/search?q=bergman", nil).decode(&p)
	if pageNames(p) != "Casablanca" {
		t.Fatalf("search by person: %s", pageNames(p))
	}
	for _, q := range []string{`'); DROP TABLE content.titles; -- & | ! :*`, `":*&|!()<->`, `%00`, `\'`} {
		if r := adult.do("GET", "/api/v1/search?q="+url.QueryEscape(q), nil); r.StatusCode != http.StatusOK && r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("hostile %q: %d %s", q, r.StatusCode, r.body)
		}
		if r := adult.do("GET", "/api/v1/search/suggest?q="+url.QueryEscape(q), nil); r.StatusCode != http.StatusOK && r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("hostile suggest %q: %d %s", q, r.StatusCode, r.body)
		}
	}
	adult.do("GET", "/api/v1/search?q="+strings.Repeat("a", 10000), nil).
		want("10,000 characters", http.StatusUnprocessableEntity, "validation_failed")
	adult.do("GET", "/api/v1/search?q=x%00y", nil).want("NUL", http.StatusUnprocessableEntity, "validation_failed")
	var sug struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	kid.do("GET", "/api/v1/search/suggest?q=fla", nil).decode(&sug)
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
	kid.do("GET", "/api/v1/catalog/home", nil).want("home", http.StatusOK, "").decode(&home)
	if len(home.Rows) != 2 || home.Rows[0].ID != "new" || home.Rows[1].Genre != "drama" || len(home.Rows[1].Items) != 1 {
		t.Fatalf("kid home: %+v", home)
	}

	// Deleting works once and then 404s.
	admin.do("DELETE", "/api/v1/admin/titles/"+draft.ID, nil).want("delete", http.StatusNoContent, "")
	admin.do("DELETE", "/api/v1/admin/titles/"+draft.ID, nil).want("delete again", http.StatusNotFound, "title_not_found")
}

func TestCatalogHomePaging(t *testing.T) {
	t.Parallel()
	id := setupIdentity(t, false)
	api := newClient(t, id.a.URL())
	adultTok, _, _ := catalogViewer(t, id, "pager@example.com")
	adult := api.as(adultTok)
	api.as(testAdminToken).do("POST", "/api/v1/admin/genres", map[string]any{"slug": "western", "name": "Western"})
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
	adult.do("GET", "/api/v1/catalog/home", nil).decode(&home)
	if len(home.Rows) != 2 || len(home.Rows[1].Items) != 20 || home.Rows[1].NextCursor == "" {
		t.Fatalf("home: %+v", home)
	}
	seen := map[string]bool{}
	for _, it := range home.Rows[1].Items {
		seen[it.ID] = true
	}
	var p apiPage
	adult.do("GET", "/api/v1/titles?genre=western&cursor="+home.Rows[1].NextCursor, nil).want("next page", http.StatusOK, "").decode(&p)
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

	admin := newClient(t, id.a.URL()).as(testAdminToken)
	viewerB := newClient(t, id.b.URL()).as(adultTok)
	get := func(etag string) *apiResponse {
		t.Helper()
		return viewerB.do("GET", "/api/v1/titles/"+tt.ID, nil, header("If-None-Match", etag))
	}
	// Warm B's view (twice: the first read may set the catalog version).
	get("")
	resp := get("")
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" || resp.Header.Get("Cache-Control") != "private, max-age=60" || !strings.Contains(string(resp.body), "His Girl Friday") {
		t.Fatalf("title page: %d %v %s", resp.StatusCode, resp.Header, resp.body)
	}
	get(etag).want("If-None-Match", http.StatusNotModified, "")
	admin.do("PATCH", "/api/v1/admin/titles/"+tt.ID, map[string]any{"name": "His Girl Friday (1940)"}).want("rename", http.StatusOK, "")
	resp = get(etag)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(resp.body), "His Girl Friday (1940)") || resp.Header.Get("ETag") == etag {
		t.Fatalf("after the change on A, B answers %d %s", resp.StatusCode, resp.body)
	}
	// Unpublishing on A hides it on B at once.
	admin.do("POST", "/api/v1/admin/titles/"+tt.ID+"/unpublish", nil)
	get("").want("unpublished title on B", http.StatusNotFound, "")
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
			adult := newClient(t, id.a.URL()).as(adultTok)
			var got apiTitle
			adult.do("GET", "/api/v1/titles/"+tt.ID, nil).want("first read", http.StatusOK, "").decode(&got)
			if _, err := id.db.Exec(`UPDATE content.titles SET name = 'After' WHERE id = $1`, tt.ID); err != nil {
				t.Fatal(err)
			}
			adult.do("GET", "/api/v1/titles/"+tt.ID, nil).want("second read", http.StatusOK, "").decode(&got)
			if got.Name != c.wantName {
				t.Fatalf("CATALOG_CACHE_TTL=%s: second read shows %q, want %q", c.ttl, got.Name, c.wantName)
			}
		})
	}
}
