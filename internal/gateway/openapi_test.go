package gateway_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/api"
)

// account and session stand in for a second and third module's types.
type account struct {
	ID       string   `json:"id"`
	Email    string   `json:"email"`
	Roles    []string `json:"roles"`
	Sessions []session
}

type session struct {
	ID         string `json:"id"`
	DeviceName string `json:"device_name"`
}

type signUp struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func mountAccounts(r api.Routes) {
	nop := func(w http.ResponseWriter, r *http.Request) {}
	r.Handle(api.Op{Method: "POST", Path: "/accounts", ID: "createAccount", Summary: "Sign up.", Tag: "accounts", Request: signUp{}, Response: account{}, Status: http.StatusCreated}, nop)
	r.Handle(api.Op{Method: "GET", Path: "/account", ID: "getAccount", Summary: "The account.", Tag: "accounts", Access: api.User, Response: account{}}, nop)
	r.Handle(api.Op{Method: "DELETE", Path: "/account", ID: "deleteAccount", Summary: "Close the account.", Tag: "accounts", Access: api.User}, nop)
	r.Handle(api.Op{Method: "DELETE", Path: "/auth/sessions/{id}", ID: "deleteSession", Summary: "Sign a device out.", Tag: "auth", Access: api.User}, nop)
	r.Handle(api.Op{Method: "PUT", Path: "/account/avatar", ID: "putAvatar", Summary: "Upload an avatar.", Tag: "accounts", Access: api.User,
		RequestTypes: []string{"image/png", "image/jpeg"}, Response: account{}}, nop)
}

// openAPIDoc fetches and parses /api/openapi.json.
func openAPIDoc(t *testing.T, tb *testBundle) map[string]any {
	t.Helper()
	rec := tb.get("/api/openapi.json")
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	mountAccounts(tb.g.API())
	tb.g.MountMedia(http.NotFoundHandler())

	doc := openAPIDoc(t, tb)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	paths, _ := doc["paths"].(map[string]any)
	documented := map[string]bool{}
	ids := map[string]string{}
	for p, item := range paths {
		for m, o := range item.(map[string]any) {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			key := strings.ToUpper(m) + " " + p
			documented[key] = true
			op := o.(map[string]any)
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", key)
				continue
			}
			if other, dup := ids[id]; dup {
				t.Errorf("operationId %q is used by %s and %s", id, other, key)
			}
			ids[id] = key
			if _, ok := op["responses"].(map[string]any)["default"]; !ok {
				t.Errorf("%s has no default (problem) response", key)
			}
		}
	}

	routes, err := tb.g.Routes()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range routes {
		served[r] = true
	}
	var undocumented, unserved []string
	for r := range served {
		if !documented[r] {
			undocumented = append(undocumented, r)
		}
	}
	for r := range documented {
		if !served[r] {
			unserved = append(unserved, r)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unserved)
	if len(undocumented) > 0 {
		t.Errorf("routes served but missing from /api/openapi.json:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unserved) > 0 {
		t.Errorf("routes in /api/openapi.json that the router does not serve:\n  %s", strings.Join(unserved, "\n  "))
	}
	// Guard against both sides being empty or missing whole modules.
	for _, want := range []string{
		"GET /healthz", "GET /readyz", "GET /metrics", "GET /api/openapi.json", "GET /api/docs",
		"GET /api/v1/things/{id}", "GET /api/v1/things/{id}/parts", "POST /api/v1/accounts", "DELETE /api/v1/auth/sessions/{id}",
		"GET /media/{path}", "HEAD /media/{path}", "PUT /api/v1/account/avatar",
	} {
		if !served[want] || !documented[want] {
			t.Errorf("%s: served %v, documented %v; want both", want, served[want], documented[want])
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	tb := setup(t, nil)
	mountAccounts(tb.g.API())
	doc := openAPIDoc(t, tb)

	t.Run("RefsResolve", func(t *testing.T) {
		t.Parallel()
		schemas, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)
		if len(schemas) == 0 {
			t.Fatal("components/schemas is empty")
		}
		var refs []string
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, c := range v {
					if s, ok := c.(string); ok && k == "$ref" {
						refs = append(refs, s)
					}
					walk(c)
				}
			case []any:
				for _, c := range v {
					walk(c)
				}
			}
		}
		walk(doc)
		if len(refs) == 0 {
			t.Fatal("no $ref in the document; want the named types referenced")
		}
		for _, ref := range refs {
			name, ok := strings.CutPrefix(ref, "#/components/schemas/")
			if !ok {
				t.Errorf("$ref %q does not point into #/components/schemas/", ref)
				continue
			}
			if _, ok := schemas[name]; !ok {
				t.Errorf("$ref %q: no such schema", ref)
			}
		}
	})

	t.Run("Operations", func(t *testing.T) {
		t.Parallel()
		paths := doc["paths"].(map[string]any)
		get := func(path, method string) map[string]any {
			t.Helper()
			item, _ := paths[path].(map[string]any)
			op, _ := item[method].(map[string]any)
			if op == nil {
				t.Fatalf("%s %s is not documented", method, path)
			}
			return op
		}
		create := get("/api/v1/accounts", "post")
		if _, ok := create["responses"].(map[string]any)["201"]; !ok {
			t.Errorf("createAccount responses = %v, want 201", create["responses"])
		}
		if _, ok := create["requestBody"]; !ok {
			t.Errorf("createAccount has no requestBody")
		}
		if sec, _ := create["security"].([]any); len(sec) != 0 {
			t.Errorf("public op security = %v, want []", sec)
		}
		// A raw upload documents its media types, each a binary string.
		avatar := get("/api/v1/account/avatar", "put")
		content, _ := avatar["requestBody"].(map[string]any)["content"].(map[string]any)
		for _, mt := range []string{"image/png", "image/jpeg"} {
			schema, _ := content[mt].(map[string]any)["schema"].(map[string]any)
			if schema["type"] != "string" || schema["format"] != "binary" {
				t.Errorf("putAvatar body %s = %v, want a binary string", mt, content[mt])
			}
		}
		if _, ok := content["application/json"]; ok {
			t.Errorf("putAvatar documents a JSON body")
		}
		admin := get("/api/v1/admin/things", "get")
		if admin["x-access"] != "admin" {
			t.Errorf("admin op x-access = %v, want admin", admin["x-access"])
		}
		parts := get("/api/v1/things/{id}/parts", "get")
		var names []string
		for _, p := range parts["parameters"].([]any) {
			names = append(names, p.(map[string]any)["in"].(string)+":"+p.(map[string]any)["name"].(string))
		}
		if got := strings.Join(names, ","); got != "path:id,query:limit,query:cursor" {
			t.Errorf("parameters = %s, want path:id,query:limit,query:cursor", got)
		}
	})

	t.Run("Docs", func(t *testing.T) {
		t.Parallel()
		rec := tb.get("/api/docs")
		if rec.Code != http.StatusOK {
			t.Fatalf("status = %d", rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Content-Type = %q, want text/html", ct)
		}
		body := rec.Body.String()
		for _, want := range []string{"/api/v1/things/{id}", "/api/v1/things/{id}/parts", "/api/v1/accounts", "Sign up.", "/healthz", `href="/api/openapi.json"`} {
			if !strings.Contains(body, want) {
				t.Errorf("/api/docs lacks %q", want)
			}
		}
		if strings.Contains(body, "{id:[0-9]+}") {
			t.Errorf("/api/docs shows a chi regex pattern")
		}
	})
}
