package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

type docThing struct {
	ID      string     `json:"id" jsonschema:"format=uuid"`
	Kind    string     `json:"kind" jsonschema:"enum=a,enum=b"`
	Year    *int       `json:"year"`
	Seen    *time.Time `json:"seen,omitempty"`
	Part    *docPart   `json:"part"`
	Label   *string    `json:"label" jsonschema:"enum=x,enum=y"`
	Created time.Time  `json:"created_at"`
}

type docPart struct {
	Name string `json:"name"`
}

type docPatch struct {
	Name *string `json:"name,omitempty"`
	PIN  string  `json:"pin,omitempty"`
}

var errThingTaken = apperr.New(apperr.Conflict, "thing_taken", "Taken.")

// docJSON mounts ops on a Router and returns the parsed document.
func docJSON(t *testing.T, mount func(r *Router)) map[string]any {
	t.Helper()
	d := NewDoc("test", "1")
	mount(NewRouter(chi.NewRouter(), "/api/v1", d))
	b, err := d.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

func TestOpenAPITruth(t *testing.T) {
	t.Parallel()
	nop := func(http.ResponseWriter, *http.Request) {}
	doc := docJSON(t, func(r *Router) {
		r.Handle(Op{Method: "GET", Path: "/things/{id}", ID: "thingGet", Tag: "t", Access: Profile, Response: docThing{},
			Params: []Param{{Name: "id", In: "path", Format: "uuid", Description: "The thing."}}, Errors: []*apperr.Error{apperr.ErrNotFound}}, nop)
		r.Handle(Op{Method: "PATCH", Path: "/things/{id}", ID: "thingPatch", Tag: "t", Access: Admin, Request: docPatch{}, Response: docThing{},
			Errors: []*apperr.Error{errThingTaken}}, nop)
		r.Handle(Op{Method: "DELETE", Path: "/things/{id}", ID: "thingDelete", Tag: "t", Access: User, Request: docPatch{}, BodyOptional: true}, nop)
		r.Handle(Op{Method: "GET", Path: "/open", ID: "open", Tag: "t", Response: docPart{}, Deprecated: true}, nop)
	})
	schemas := dig(doc, "components", "schemas").(map[string]any)
	thing := dig(schemas, "ApidocThing", "properties").(map[string]any)

	t.Run("Nullable", func(t *testing.T) {
		if got := dig(thing, "year", "type"); !slices.Equal(toStrings(got), []string{"integer", "null"}) {
			t.Errorf("year type = %v, want [integer null]", got)
		}
		if got := dig(thing, "seen", "type"); got != "string" {
			t.Errorf("seen (omitempty, in a response) type = %v, want string", got)
		}
		if got, _ := json.Marshal(thing["part"]); string(got) != `{"oneOf":[{"$ref":"#/components/schemas/ApidocPart"},{"type":"null"}]}` {
			t.Errorf("part = %s, want a nullable reference", got)
		}
		if got, _ := json.Marshal(dig(thing, "label", "enum")); string(got) != `["x","y",null]` {
			t.Errorf("label enum = %s, want null among the values", got)
		}
		// In a request every pointer takes null.
		if got := dig(schemas, "ApidocPatch", "properties", "name", "type"); !slices.Equal(toStrings(got), []string{"string", "null"}) {
			t.Errorf("patch name type = %v, want [string null]", got)
		}
	})

	t.Run("Formats", func(t *testing.T) {
		if dig(thing, "id", "format") != "uuid" || dig(thing, "created_at", "format") != "date-time" {
			t.Errorf("id %v, created_at %v", thing["id"], thing["created_at"])
		}
		if got, _ := json.Marshal(dig(thing, "kind", "enum")); string(got) != `["a","b"]` {
			t.Errorf("kind enum = %s", got)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		get := dig(doc, "paths", "/api/v1/things/{id}", "get", "responses").(map[string]any)
		for status, code := range map[string]string{"422": "validation_failed", "401": "unauthorized", "403": "profile_required", "404": "not_found", "429": "rate_limited", "431": "request_headers_too_large", "500": "internal"} {
			desc, _ := dig(get, status, "description").(string)
			if !strings.Contains(desc, "`"+code+"`") {
				t.Errorf("GET %s = %q, want code %s", status, desc, code)
			}
			if dig(get, status, "content", "application/problem+json", "schema", "$ref") != "#/components/schemas/ApiProblem" {
				t.Errorf("GET %s is not a problem", status)
			}
		}
		patch := dig(doc, "paths", "/api/v1/things/{id}", "patch", "responses").(map[string]any)
		for status, code := range map[string]string{"403": "admin_required", "409": "thing_taken", "413": "body_too_large", "415": "unsupported_media_type", "422": "validation_failed", "400": "empty_body"} {
			if desc, _ := dig(patch, status, "description").(string); !strings.Contains(desc, "`"+code+"`") {
				t.Errorf("PATCH %s = %q, want code %s", status, desc, code)
			}
		}
		if _, ok := patch["404"]; ok {
			t.Errorf("PATCH documents a 404 it did not declare")
		}
	})

	t.Run("Bodies", func(t *testing.T) {
		if dig(doc, "paths", "/api/v1/things/{id}", "patch", "requestBody", "required") != true {
			t.Error("PATCH body not required")
		}
		if dig(doc, "paths", "/api/v1/things/{id}", "delete", "requestBody", "required") != false {
			t.Error("DELETE body (BodyOptional) required")
		}
		if desc, _ := dig(doc, "paths", "/api/v1/things/{id}", "delete", "responses", "400", "description").(string); strings.Contains(desc, "empty_body") {
			t.Errorf("an optional body cannot be empty_body: %s", desc)
		}
		if dig(doc, "paths", "/api/v1/things/{id}", "patch", "requestBody", "content", "application/json", "example") == nil {
			t.Error("PATCH body has no example")
		}
	})

	t.Run("ParametersOnce", func(t *testing.T) {
		params, _ := dig(doc, "paths", "/api/v1/things/{id}", "get", "parameters").([]any)
		if len(params) != 1 {
			t.Fatalf("parameters = %v, want id once", params)
		}
		p := params[0].(map[string]any)
		if p["name"] != "id" || p["in"] != "path" || p["required"] != true || p["description"] != "The thing." || dig(p, "schema", "format") != "uuid" {
			t.Errorf("id = %v", p)
		}
	})

	t.Run("Info", func(t *testing.T) {
		if dig(doc, "info", "license", "name") == nil || len(doc["servers"].([]any)) == 0 {
			t.Errorf("info %v, servers %v", doc["info"], doc["servers"])
		}
		if dig(doc, "paths", "/api/v1/open", "get", "deprecated") != true {
			t.Error("deprecated op not marked")
		}
	})
}

func toStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, s := range l {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}
