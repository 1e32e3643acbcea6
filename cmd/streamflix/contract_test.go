package main

// The contract: /api/openapi.json, as the binary serves it, lints clean
// with Redocly, generates the web app's committed types and a Go client,
// and (checkAgainstDoc) describes what the server really answers.

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	vErrors "github.com/pb33f/libopenapi-validator/errors"

	// The runtime the oapi-codegen client imports; required here so that
	// go.mod and go.sum hold it for TestOpenAPIGoClient's build.
	_ "github.com/oapi-codegen/runtime"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

// servedDoc starts an instance and returns the document it serves at
// /api/openapi.json.
func servedDoc(t *testing.T) []byte {
	t.Helper()
	_, dbURL := pgtest.NewDBURL(t)
	a := start(t, env(dbURL, nil), nil)
	return newClient(t, a.URL()).do("GET", "/api/openapi.json", nil).want("openapi.json", http.StatusOK, "").body
}

// webDir is the web app's directory, where npx finds the pinned tools
// (@redocly/cli, openapi-typescript) that npm ci installs.
func webDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../web")
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{"redocly", "openapi-typescript"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", bin)); err != nil {
			t.Fatalf("web/node_modules/.bin/%s is missing: run npm ci in web/ (make web does)", bin)
		}
	}
	return dir
}

// npx runs a tool installed in web/node_modules and returns its stdout.
func npx(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("npx", append([]string{"--no-install"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("npx %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

func writeDoc(t *testing.T, doc []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenAPILint lints the served document with Redocly's recommended
// rules (redocly.yaml): zero errors and zero warnings.
func TestOpenAPILint(t *testing.T) {
	t.Parallel()
	dir := webDir(t)
	path := writeDoc(t, servedDoc(t))
	out := npx(t, dir, "redocly", "lint", path, "--config", "../redocly.yaml", "--format=json")
	var res struct {
		Totals   struct{ Errors, Warnings int } `json:"totals"`
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Location []struct {
				Pointer string `json:"pointer"`
			} `json:"location"`
		} `json:"problems"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("redocly lint output: %v\n%s", err, out)
	}
	for _, p := range res.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
	if res.Totals.Errors != 0 || res.Totals.Warnings != 0 {
		t.Errorf("redocly lint: %d errors, %d warnings; want none", res.Totals.Errors, res.Totals.Warnings)
	}
}

// apiTypesFile is the web app's generated API types.
const apiTypesFile = "../../web/src/api/schema.d.ts"

// TestOpenAPIWebTypes fails when web/src/api/schema.d.ts is not what
// openapi-typescript makes of the served document. UPDATE_API_TYPES=1
// (make api-types) writes it instead.
func TestOpenAPIWebTypes(t *testing.T) {
	t.Parallel()
	dir := webDir(t)
	path := writeDoc(t, servedDoc(t))
	gen := filepath.Join(t.TempDir(), "schema.d.ts")
	npx(t, dir, "openapi-typescript", path, "--output", gen)
	want, err := os.ReadFile(gen)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE_API_TYPES") != "" {
		if err := os.WriteFile(apiTypesFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(apiTypesFile)
	if err != nil {
		t.Fatalf("%v (make api-types writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("web/src/api/schema.d.ts is stale: the API changed; run make api-types and commit the result")
	}
}

// TestOpenAPIGoClient generates a Go client from the served document with
// oapi-codegen (the tool pinned in go.mod) and builds it: a second
// generator, as a phone or TV team would use, copes with the document.
func TestOpenAPIGoClient(t *testing.T) {
	t.Parallel()
	path := writeDoc(t, servedDoc(t))
	out := t.TempDir()
	cfg := filepath.Join(out, "oapi-codegen.yaml")
	if err := os.WriteFile(cfg, []byte("package: client\ngenerate:\n  models: true\n  client: true\noutput: "+filepath.Join(out, "client.gen.go")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(dir string, env []string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, b)
		}
	}
	run(".", nil, "go", "tool", "oapi-codegen", "-config", cfg, path)

	// A module of its own, resolved from this module's go.sum and the
	// module cache only.
	version := ""
	for _, line := range strings.Split(string(must(os.ReadFile("../../go.mod"))), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/oapi-codegen/runtime" {
			version = f[1]
		}
	}
	if version == "" {
		t.Fatal("go.mod does not require github.com/oapi-codegen/runtime")
	}
	goMod := "module example.com/client\n\ngo 1.24\n\nrequire github.com/oapi-codegen/runtime " + version + "\n"
	if err := os.WriteFile(filepath.Join(out, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "go.sum"), must(os.ReadFile("../../go.sum")), 0o644); err != nil {
		t.Fatal(err)
	}
	run(out, []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off"}, "go", "build", "./...")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

var (
	validatorsMu sync.Mutex
	validators   = map[[32]byte]validator.Validator{}
)

// docValidator returns a validator for doc, built once per document.
func docValidator(t testing.TB, doc []byte) validator.Validator {
	t.Helper()
	key := sha256.Sum256(doc)
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	if v, ok := validators[key]; ok {
		return v
	}
	d, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatalf("parse the OpenAPI document: %v", err)
	}
	v, errs := validator.NewValidator(d, config.WithFormatAssertions(), config.WithoutSecurityValidation())
	if len(errs) > 0 {
		t.Fatalf("build a validator for the OpenAPI document: %v", errs)
	}
	validators[key] = v
	return v
}

// checkAgainstDoc fails t when resp (its status, content type and body,
// given as respBody) is not what doc documents for req, or when req was
// accepted (2xx) though its body (reqBody) is not what doc documents: a
// request the server refused may be anything, since tests send bad ones
// on purpose. Bodies are passed as bytes because both have been read.
// The validator serialises its own use; checkExchange is safe for
// parallel tests.
func checkAgainstDoc(t testing.TB, doc []byte, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	v := docValidator(t, doc)
	what := req.Method + " " + req.URL.Path

	// The validator reads both bodies: give it copies.
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))
	rs := *resp
	rs.Body = io.NopCloser(bytes.NewReader(respBody))
	rs.ContentLength = int64(len(respBody))
	rs.Request = r

	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	if ok, errs := v.ValidateHttpResponse(r, &rs); !ok {
		for _, e := range errs {
			if e.ValidationSubType == "missing" && e.ValidationType == "path" && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) {
				continue // a route that does not exist, answered as such: nothing in the document to hold it to
			}
			t.Errorf("%s answered %d %s, which the OpenAPI document does not describe: %s (%s)%s",
				what, resp.StatusCode, resp.Header.Get("Content-Type"), e.Message, e.Reason, schemaFailures(e.SchemaValidationErrors))
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	if ok, errs := v.ValidateHttpRequest(r); !ok {
		for _, e := range errs {
			t.Errorf("%s was accepted with a request the OpenAPI document does not describe: %s (%s)%s", what, e.Message, e.Reason, schemaFailures(e.SchemaValidationErrors))
		}
	}
}

// schemaFailures lists where a body broke its schema and why.
func schemaFailures(fs []*vErrors.SchemaValidationFailure) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "\n\t%s: %s", f.FieldPath, f.Reason)
	}
	return b.String()
}

// recorder is a testing.TB that records failures instead of failing, to
// show that checkAgainstDoc fails a test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, format)
}

func (r *recorder) Helper() {}

// TestOpenAPIContractCheck shows checkAgainstDoc passing what the server
// really answers and failing what the document does not describe.
func TestOpenAPIContractCheck(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	a := start(t, env(dbURL, nil), nil)
	doc := newClient(t, a.URL()).do("GET", "/api/openapi.json", nil).want("openapi.json", http.StatusOK, "").body

	exchange := func(method, path, body string) (*http.Request, []byte, *http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, a.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return req, []byte(body), resp, b
	}

	t.Run("Real", func(t *testing.T) {
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/healthz", ""},
			{"GET", "/api/v1/genres", ""},
			{"GET", "/api/v1/account", ""}, // 401 problem+json
			{"POST", "/api/v1/auth/login", `{"email":"nobody@example.com","password":"wrong password here","device":{"name":"TV","kind":"tv"}}`},
			{"POST", "/api/v1/accounts", `{"email":"not an email"}`},
		} {
			req, reqBody, resp, respBody := exchange(c.method, c.path, c.body)
			rec := &recorder{TB: t}
			checkAgainstDoc(rec, doc, req, reqBody, resp, respBody)
			for _, e := range rec.errors {
				t.Errorf("%s %s (%d): %s", c.method, c.path, resp.StatusCode, e)
			}
		}
	})

	t.Run("Undocumented", func(t *testing.T) {
		req, reqBody, resp, _ := exchange("GET", "/api/v1/genres", "")
		for _, c := range []struct {
			name, contentType, body string
			status                  int
		}{
			{"UnknownField", "application/json", `{"items":[],"surprise":true}`, 200},
			{"MissingField", "application/json", `{}`, 200},
			{"WrongType", "application/json", `{"items":"none"}`, 200},
			{"WrongContentType", "text/plain", `hello`, 200},
			{"ErrorNotProblem", "application/json", `{"error":"nope"}`, 404},
		} {
			fake := *resp
			fake.StatusCode = c.status
			fake.Header = http.Header{"Content-Type": {c.contentType}}
			rec := &recorder{TB: t}
			checkAgainstDoc(rec, doc, req, reqBody, &fake, []byte(c.body))
			if len(rec.errors) == 0 {
				t.Errorf("%s: checkExchange passed %d %s %s", c.name, c.status, c.contentType, c.body)
			}
		}
	})

	t.Run("AcceptedBadRequest", func(t *testing.T) {
		// A 2xx answer to a body the document refuses is the server's bug
		// (or the document's): checkExchange says so.
		req, _, resp, respBody := exchange("GET", "/api/v1/genres", "")
		req.Method = "POST"
		req.URL.Path = "/api/v1/auth/password-reset"
		req.Header.Set("Content-Type", "application/json")
		fake := *resp
		fake.StatusCode = http.StatusAccepted
		rec := &recorder{TB: t}
		checkAgainstDoc(rec, doc, req, []byte(`{"email":42}`), &fake, []byte(`{"status":"accepted"}`))
		if len(rec.errors) == 0 {
			t.Errorf("checkExchange passed an accepted request whose body the document refuses")
		}
		_ = respBody
	})
}
