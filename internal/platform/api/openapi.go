package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"
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
	ref := func(v any) (map[string]any, error) { return schemaFor(v, schemas) }
	problem, err := ref(Problem{})
	if err != nil {
		return nil, err
	}
	paths := map[string]map[string]any{}
	for _, op := range ops {
		p := OpenAPIPath(op.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		o := map[string]any{
			"operationId": op.ID,
			"summary":     op.Summary,
			"tags":        []string{op.Tag},
		}
		if op.Access != Public {
			o["security"] = []map[string][]string{{"bearer": {}}}
			o["x-access"] = op.Access.String()
		} else {
			o["security"] = []map[string][]string{}
		}
		var params []map[string]any
		for _, m := range chiParam.FindAllStringSubmatch(op.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, prm := range op.Params {
			in := prm.In
			if in == "" {
				in = "query"
			}
			typ := prm.Type
			if typ == "" {
				typ = "string"
			}
			params = append(params, map[string]any{"name": prm.Name, "in": in, "required": prm.Required, "description": prm.Description, "schema": map[string]any{"type": typ}})
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if op.Request != nil {
			s, err := ref(op.Request)
			if err != nil {
				return nil, fmt.Errorf("%s %s request: %w", op.Method, op.Path, err)
			}
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": s}}}
		} else if len(op.RequestTypes) > 0 {
			content := map[string]any{}
			for _, t := range op.RequestTypes {
				content[t] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
			}
			o["requestBody"] = map[string]any{"required": true, "content": content}
		}
		responses := map[string]any{}
		ok := map[string]any{"description": http.StatusText(op.Status)}
		switch {
		case op.Response != nil:
			s, err := ref(op.Response)
			if err != nil {
				return nil, fmt.Errorf("%s %s response: %w", op.Method, op.Path, err)
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
		responses["default"] = map[string]any{
			"description": "An error, as application/problem+json with a stable code.",
			"content":     map[string]any{"application/problem+json": map[string]any{"schema": problem}},
		}
		o["responses"] = responses
		paths[p][strings.ToLower(op.Method)] = o
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   d.Title,
			"version": d.Version,
			"description": "The streamflix HTTP API. JSON in and out with snake_case fields, RFC 3339 times in UTC, string ids. " +
				"Errors are application/problem+json (RFC 9457) with a stable `code` and, for validation, `errors: [{field, code, message}]`. " +
				"Lists take `limit` and `cursor` and answer `{items, next_cursor}`. Rate limits answer 429 with Retry-After and RateLimit-* headers.",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(b, []byte(`"#/$defs/`), []byte(`"#/components/schemas/`)), nil
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
func schemaFor(v any, schemas map[string]any) (map[string]any, error) {
	s := reflector.Reflect(v)
	b, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if defs, ok := m["$defs"].(map[string]any); ok {
		for k, v := range defs {
			schemas[k] = v
		}
	}
	delete(m, "$defs")
	delete(m, "$schema")
	delete(m, "$id")
	return m, nil
}
