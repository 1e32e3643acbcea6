package gateway

import (
	"html/template"
	"net/http"
	"reflect"
	"sort"

	"github.com/streamflix/streamflix/internal/platform/api"
)

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>streamflix API reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#111;color:#eee}
main{max-width:1000px;margin:0 auto;padding:24px}
h1{color:#e50914}h2{border-bottom:1px solid #333;padding-bottom:4px;margin-top:32px;text-transform:capitalize}
a{color:#6cf}
.op{background:#1b1b1b;border:1px solid #2a2a2a;border-radius:6px;padding:10px 14px;margin:10px 0}
.m{display:inline-block;min-width:64px;font-weight:700;font-family:monospace}
.GET{color:#4caf50}.POST{color:#2196f3}.PUT,.PATCH{color:#ff9800}.DELETE{color:#f44336}
code{font-family:ui-monospace,monospace;color:#fff}
.acc{float:right;font-size:12px;padding:2px 8px;border-radius:10px;background:#333}
.meta{color:#aaa;font-size:13px;margin-top:4px}
</style></head><body><main>
<h1>streamflix API</h1>
<p>Version {{.Version}}. The machine-readable contract is <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).
JSON in and out, <code>snake_case</code> fields, RFC 3339 times. Send <code>Authorization: Bearer &lt;access token&gt;</code>.
Errors are <code>application/problem+json</code> with a stable <code>code</code>; validation errors list <code>errors: [{field, code, message}]</code>.
Lists take <code>limit</code> (1–100, default 20) and <code>cursor</code> and answer <code>{items, next_cursor}</code>.
Rate limits answer 429 with <code>Retry-After</code>.</p>
{{range .Tags}}<h2 id="{{.Name}}">{{.Name}}</h2>
{{range .Ops}}<div class="op"><span class="acc">{{.Access}}</span><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code>
<div>{{.Summary}}</div>
<div class="meta">{{if .Params}}Parameters: {{range $i, $p := .Params}}{{if $i}}, {{end}}<code>{{$p.Name}}</code>{{end}}. {{end}}{{if .Request}}Body: <code>{{.Request}}</code>. {{end}}Answers {{.Status}}{{if .Response}} with <code>{{.Response}}</code>{{end}}.</div>
</div>{{end}}{{end}}
</main></body></html>`))

type docsOp struct {
	Method, Path, Summary, Access, Request, Response string
	Status                                           int
	Params                                           []api.Param
}

type docsTag struct {
	Name string
	Ops  []docsOp
}

func typeName(v any) string {
	if v == nil {
		return ""
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Name() == "" {
		return t.Kind().String()
	}
	return t.Name()
}

func (g *Gateway) handleDocs(w http.ResponseWriter, r *http.Request) {
	byTag := map[string][]docsOp{}
	for _, op := range g.doc.Ops() {
		byTag[op.Tag] = append(byTag[op.Tag], docsOp{
			Method: op.Method, Path: api.OpenAPIPath(op.Path), Summary: op.Summary, Access: op.Access.String(),
			Request: typeName(op.Request), Response: typeName(op.Response), Status: op.Status, Params: op.Params,
		})
	}
	var tags []docsTag
	for name, ops := range byTag {
		tags = append(tags, docsTag{Name: name, Ops: ops})
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Name < tags[j].Name })
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = docsPage.Execute(w, struct {
		Version string
		Tags    []docsTag
	}{g.version, tags})
}
