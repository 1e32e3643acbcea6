package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/invopop/jsonschema"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Doc collects the Ops of every module and renders the OpenAPI 3.1 document.
type Doc struct {
	Title   string
	Version string

	mu  sync.Mutex
	ops []Op
}

// NewDoc returns an empty document.
func NewDoc(title, version string) *Doc { return &Doc{Title: title, Version: version} }

func (d *Doc) add(op Op) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ops = append(d.ops, op)
}

// Add records an op served outside a Router (health checks, the web app).
func (d *Doc) Add(op Op) {
	if op.Status == 0 {
		op.Status = http.StatusOK
	}
	d.add(op)
}

// Ops returns the recorded ops, sorted by path then method.
func (d *Doc) Ops() []Op {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := append([]Op(nil), d.ops...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

var chiParam = regexp.MustCompile(`\{([a-zA-Z_][a-zA-Z0-9_]*)(:[^}]*)?\}`)

// OpenAPIPath turns a chi pattern into an OpenAPI path ("{id:[0-9]+}" to "{id}").
// Braces inside a parameter's regexp ("{id:[a-z]{2,4}}") are matched as chi
// matches them, by nesting.
func OpenAPIPath(chiPattern string) string {
	var b strings.Builder
	for i := 0; i < len(chiPattern); i++ {
		if chiPattern[i] != '{' {
			b.WriteByte(chiPattern[i])
			continue
		}
		end, depth := -1, 0
		for j := i; j < len(chiPattern) && end < 0; j++ {
			switch chiPattern[j] {
			case '{':
				depth++
			case '}':
				if depth--; depth == 0 {
					end = j
				}
			}
		}
		if end < 0 {
			b.WriteString(chiPattern[i:])
			break
		}
		name, _, _ := strings.Cut(chiPattern[i+1:end], ":")
		b.WriteString("{" + name + "}")
		i = end
	}
	return b.String()
}

// JSON renders the OpenAPI 3.1 document.
func (d *Doc) JSON() ([]byte, error) {
	ops := d.Ops()
	schemas := map[string]any{}
	problem, err := schemaFor(Problem{}, schemas, false)
	if err != nil {
		return nil, err
	}
	paths := map[string]map[string]any{}
	for _, op := range ops {
		p := OpenAPIPath(op.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		o, err := operation(op, schemas, problem)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", op.Method, op.Path, err)
		}
		paths[p][strings.ToLower(op.Method)] = o
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   d.Title,
			"version": d.Version,
			"description": "The streamflix HTTP API. JSON in and out with snake_case fields, RFC 3339 times in UTC, string ids. " +
				"Errors are application/problem+json (RFC 9457) with a stable `code` and, for validation, `errors: [{field, code, message}]`; " +
				"each operation lists the statuses and codes it may answer. " +
				"Lists take `limit` and `cursor` and answer `{items, next_cursor}`. Rate limits answer 429 with Retry-After and RateLimit-* headers. " +
				"Fields that may be null say so (`type: [T, \"null\"]`); a field that is not required may be absent.",
			"license": map[string]any{"name": "Proprietary", "identifier": "LicenseRef-streamflix-proprietary"},
		},
		"servers": []map[string]any{{"url": "/", "description": "The streamflix instance that serves this document."}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
					"description": "An access token from POST /api/v1/auth/login or /api/v1/auth/refresh."},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(b, []byte(`"#/$defs/`), []byte(`"#/components/schemas/`)), nil
}

// operation renders one op's Operation Object.
func operation(op Op, schemas map[string]any, problem map[string]any) (map[string]any, error) {
	o := map[string]any{
		"operationId": op.ID,
		"summary":     op.Summary,
		"tags":        []string{op.Tag},
	}
	if op.Deprecated {
		o["deprecated"] = true
	}
	if op.Access != Public {
		o["security"] = []map[string][]string{{"bearer": {}}}
		o["x-access"] = op.Access.String()
	} else {
		o["security"] = []map[string][]string{}
	}
	if params := parameters(op); len(params) > 0 {
		o["parameters"] = params
	}
	if op.Request != nil {
		s, err := schemaFor(op.Request, schemas, true)
		if err != nil {
			return nil, fmt.Errorf("request: %w", err)
		}
		if op.Patch {
			s = partial(s, schemas)
		}
		media := map[string]any{"schema": s}
		if op.Example != nil {
			media["example"] = op.Example
		} else if ex := exampleFor(s, schemas, 0); ex != nil {
			media["example"] = ex
		}
		o["requestBody"] = map[string]any{"required": !op.BodyOptional, "content": map[string]any{"application/json": media}}
	} else if len(op.RequestTypes) > 0 {
		content := map[string]any{}
		for _, t := range op.RequestTypes {
			schema := map[string]any{"type": "string", "format": "binary"}
			if t == "application/json" {
				schema = map[string]any{"type": "object"} // JSON the handler checks itself (a catalog file, row by row)
			}
			content[t] = map[string]any{"schema": schema}
		}
		o["requestBody"] = map[string]any{"required": !op.BodyOptional, "content": content}
	}
	responses := map[string]any{}
	ok := map[string]any{"description": http.StatusText(op.Status)}
	switch {
	case op.Response != nil:
		s, err := schemaFor(op.Response, schemas, false)
		if err != nil {
			return nil, fmt.Errorf("response: %w", err)
		}
		ct := op.ContentType
		if ct == "" {
			ct = "application/json"
		}
		ok["content"] = map[string]any{ct: map[string]any{"schema": s}}
	case op.ContentType != "":
		ok["content"] = map[string]any{op.ContentType: map[string]any{"schema": map[string]any{"type": "string"}}}
	}
	responses[fmt.Sprint(op.Status)] = ok
	for status, codes := range problems(op) {
		r := map[string]any{
			"description": problemDescription(status, codes),
			"content":     map[string]any{"application/problem+json": map[string]any{"schema": problem}},
		}
		if status == http.StatusTooManyRequests {
			r["headers"] = map[string]any{"Retry-After": map[string]any{
				"description": "Seconds to wait before trying again.", "schema": map[string]any{"type": "integer"}}}
		}
		responses[fmt.Sprint(status)] = r
	}
	for _, a := range op.Answers {
		r, _ := responses[fmt.Sprint(a.Status)].(map[string]any)
		if r == nil {
			desc := a.Description
			if desc == "" {
				desc = http.StatusText(a.Status)
			}
			r = map[string]any{"description": desc}
			responses[fmt.Sprint(a.Status)] = r
		}
		if a.Body == nil && a.ContentType == "" {
			continue
		}
		content, _ := r["content"].(map[string]any)
		if content == nil {
			content = map[string]any{}
			r["content"] = content
		}
		schema := map[string]any{"type": "string"}
		ct := a.ContentType
		if a.Body != nil {
			s, err := schemaFor(a.Body, schemas, false)
			if err != nil {
				return nil, fmt.Errorf("answer %d: %w", a.Status, err)
			}
			schema = s
			if ct == "" {
				ct = "application/json"
			}
		}
		content[ct] = map[string]any{"schema": schema}
	}
	responses["default"] = map[string]any{
		"description": "An error, as application/problem+json with a stable code.",
		"content":     map[string]any{"application/problem+json": map[string]any{"schema": problem}},
	}
	o["responses"] = responses
	return o, nil
}

// parameters lists op's parameters: its path's, each once (a Param with
// In "path" describes one of them), then the others.
func parameters(op Op) []map[string]any {
	declared := map[string]Param{}
	for _, prm := range op.Params {
		if prm.In == "path" {
			declared[prm.Name] = prm
		}
	}
	var params []map[string]any
	for _, m := range chiParam.FindAllStringSubmatch(op.Path, -1) {
		prm := declared[m[1]]
		prm.Name, prm.In, prm.Required = m[1], "path", true
		params = append(params, parameter(prm))
	}
	for _, prm := range op.Params {
		if prm.In == "path" {
			continue
		}
		if prm.In == "" {
			prm.In = "query"
		}
		params = append(params, parameter(prm))
	}
	return params
}

func parameter(prm Param) map[string]any {
	typ := prm.Type
	if typ == "" {
		typ = "string"
	}
	schema := map[string]any{"type": typ}
	if prm.Format != "" {
		schema["format"] = prm.Format
	}
	if len(prm.Enum) > 0 {
		schema["enum"] = prm.Enum
	}
	if prm.Name == LimitParam.Name && typ == "integer" {
		schema["minimum"], schema["maximum"], schema["default"] = 1, MaxLimit, DefaultLimit
	}
	p := map[string]any{"name": prm.Name, "in": prm.In, "required": prm.Required, "schema": schema}
	if prm.Description != "" {
		p["description"] = prm.Description
	}
	return p
}

// problems returns the error statuses op may answer, each with the codes
// it may carry: those its Access, parameters and body imply, and those it
// declares in Errors.
func problems(op Op) map[int][]string {
	out := map[int][]string{}
	add := func(status int, codes ...string) {
		for _, c := range codes {
			if !slices.Contains(out[status], c) {
				out[status] = append(out[status], c)
			}
		}
	}
	jsonBody := op.Request != nil
	if op.routed {
		// A path or query parameter that is not text (checkText).
		add(http.StatusUnprocessableEntity, "validation_failed")
		// Any /api request with an Authorization header that is no good.
		add(http.StatusUnauthorized, "invalid_token", "invalid_authorization")
		add(http.StatusTooManyRequests, "rate_limited")
		if !op.Stream {
			add(http.StatusServiceUnavailable, ErrTimeout.Code)
		}
	}
	switch op.Access {
	case User, Profile, Admin:
		add(http.StatusUnauthorized, apperr.ErrUnauthorized.Code)
	}
	switch op.Access {
	case Profile:
		add(http.StatusForbidden, ErrProfileRequired.Code)
	case Admin:
		add(http.StatusForbidden, ErrAdminRequired.Code)
	}
	if jsonBody {
		add(http.StatusBadRequest, ErrMalformedJSON.Code, ErrInvalidUTF8.Code)
		if !op.BodyOptional {
			add(http.StatusBadRequest, "empty_body")
		}
		add(http.StatusUnsupportedMediaType, ErrUnsupportedType.Code)
		add(http.StatusUnprocessableEntity, "validation_failed")
	}
	if jsonBody || len(op.RequestTypes) > 0 {
		add(http.StatusRequestEntityTooLarge, ErrBodyTooLarge.Code)
	}
	for _, prm := range op.Params {
		if prm.In != "header" {
			add(http.StatusUnprocessableEntity, "validation_failed")
			break
		}
	}
	for _, e := range op.Errors {
		add(e.HTTPStatus(), e.Code)
	}
	// Every request, routed or not, passes the gateway's header limit and
	// its panic recovery.
	add(http.StatusRequestHeaderFieldsTooLarge, ErrHeadersTooLarge.Code)
	add(http.StatusInternalServerError, apperr.ErrInternal.Code)
	return out
}

func problemDescription(status int, codes []string) string {
	var b strings.Builder
	b.WriteString(http.StatusText(status))
	b.WriteString(". Problem codes: ")
	for i, c := range codes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + c + "`")
	}
	b.WriteString(".")
	return b.String()
}

// exampleFor makes a sample value for schema s: a field's own example or
// first enum value, else a value of its type and format. Objects get their
// required properties (all of them when none is required).
func exampleFor(s map[string]any, schemas map[string]any, depth int) any {
	if depth > 6 || s == nil {
		return nil
	}
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(strings.TrimPrefix(ref, "#/$defs/"), "#/components/schemas/")
		def, _ := schemas[name].(map[string]any)
		return exampleFor(def, schemas, depth+1)
	}
	if ex, ok := s["examples"].([]any); ok && len(ex) > 0 {
		return ex[0]
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if alts, ok := s[k].([]any); ok {
			for _, a := range alts {
				if m, ok := a.(map[string]any); ok && m["type"] != "null" {
					return exampleFor(m, schemas, depth+1)
				}
			}
		}
	}
	typ, _ := s["type"].(string)
	if ts, ok := s["type"].([]any); ok {
		for _, t := range ts {
			if t != "null" {
				typ, _ = t.(string)
				break
			}
		}
	}
	switch typ {
	case "object":
		props, _ := s["properties"].(map[string]any)
		req, _ := s["required"].([]any)
		out := map[string]any{}
		for name, p := range props {
			pm, _ := p.(map[string]any)
			_, hasExample := pm["examples"]
			if len(req) == 0 || slices.Contains(req, any(name)) || hasExample {
				if v := exampleFor(pm, schemas, depth+1); v != nil {
					out[name] = v
				}
			}
		}
		return out
	case "array":
		items, _ := s["items"].(map[string]any)
		if v := exampleFor(items, schemas, depth+1); v != nil {
			return []any{v}
		}
		return []any{}
	case "integer", "number":
		if m, ok := s["minimum"]; ok {
			return m
		}
		return 1
	case "boolean":
		return false
	case "string":
		switch s["format"] {
		case "uuid":
			return "7f1d6b5e-2c4a-4e0b-9a8e-3b2f1c0d4e5a"
		case "date-time":
			return "2026-01-01T00:00:00Z"
		case "date":
			return "2026-01-01"
		case "email":
			return "viewer@example.com"
		case "uri", "uri-reference":
			return "https://streamflix.example/"
		}
		return "string"
	}
	return nil
}

var reflector = &jsonschema.Reflector{
	Anonymous: true,
	Namer: func(t reflect.Type) string {
		pkg := t.PkgPath()
		if i := strings.LastIndex(pkg, "/"); i >= 0 {
			pkg = pkg[i+1:]
		}
		if pkg == "" {
			return t.Name()
		}
		return strings.ToUpper(pkg[:1]) + pkg[1:] + t.Name()
	},
}

// schemaFor reflects v's type into a JSON Schema, moving named types into
// schemas (components) and returning the inline schema or reference.
// Pointer fields the server sends as null (no omitempty) are nullable; in
// a request body (request) every pointer field is, since null decodes into
// a nil pointer.
func schemaFor(v any, schemas map[string]any, request bool) (map[string]any, error) {
	s := reflector.Reflect(v)
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	defs, _ := m["$defs"].(map[string]any)
	for k, v := range defs {
		if _, ok := schemas[k]; !ok {
			schemas[k] = v
		}
	}
	delete(m, "$defs")
	delete(m, "$schema")
	delete(m, "$id")
	markNullable(reflect.TypeOf(v), schemas, request, map[reflect.Type]bool{})
	return m, nil
}

// partial returns s (a $ref to a named object schema) as its Patch
// variant: the same properties, none required, named <Name>Patch.
func partial(s map[string]any, schemas map[string]any) map[string]any {
	ref, _ := s["$ref"].(string)
	name := strings.TrimPrefix(ref, "#/$defs/")
	obj, ok := schemas[name].(map[string]any)
	if ref == "" || !ok {
		return s
	}
	patch := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "required" {
			patch[k] = v
		}
	}
	schemas[name+"Patch"] = patch
	return map[string]any{"$ref": "#/$defs/" + name + "Patch"}
}

var timeType = reflect.TypeFor[time.Time]()

// markNullable walks t's struct types, marking in their schemas the
// properties that may be null.
func markNullable(t reflect.Type, schemas map[string]any, request bool, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType || seen[t] {
		return
	}
	seen[t] = true
	def, _ := schemas[reflector.Namer(t)].(map[string]any)
	props, _ := def["properties"].(map[string]any)
	markFields(t, props, schemas, request, seen)
}

func markFields(t reflect.Type, props map[string]any, schemas map[string]any, request bool, seen map[reflect.Type]bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				markFields(et, props, schemas, request, seen)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		omitempty := slices.Contains(strings.Split(opts, ","), "omitempty")
		if p, ok := props[name].(map[string]any); ok && f.Type.Kind() == reflect.Pointer && (request || !omitempty) {
			props[name] = nullable(p)
		}
		markNullable(f.Type, schemas, request, seen)
	}
}

// nullable returns s allowing null as well.
func nullable(s map[string]any) map[string]any {
	switch t := s["type"].(type) {
	case string:
		if t == "null" {
			return s
		}
		s["type"] = []any{t, "null"}
	case []any:
		if !slices.Contains(t, any("null")) {
			s["type"] = append(t, "null")
		}
	default:
		if _, ok := s["$ref"]; ok {
			out := map[string]any{"oneOf": []any{map[string]any{"$ref": s["$ref"]}, map[string]any{"type": "null"}}}
			if d, ok := s["description"]; ok {
				out["description"] = d
			}
			return out
		}
		if alts, ok := s["oneOf"].([]any); ok {
			for _, a := range alts {
				if m, ok := a.(map[string]any); ok && m["type"] == "null" {
					return s
				}
			}
			s["oneOf"] = append(alts, map[string]any{"type": "null"})
		}
		return s
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, nil) {
		s["enum"] = append(enum, nil)
	}
	return s
}
