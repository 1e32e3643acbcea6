package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	texttemplate "text/template"
)

// embedded holds the default templates: templates/<locale>/layout.html and
// layout.txt (the shared frame) and templates/<locale>/<kind>.subject, .txt
// and .html for each kind.
//
//go:embed templates
var embedded embed.FS

// DefaultLocale is the locale every kind must have templates in; other
// locales fall back to it.
const DefaultLocale = "en"

// Template file names inside a locale directory.
const (
	layoutHTML = "layout.html"
	layoutText = "layout.txt"
	extSubject = ".subject"
	extText    = ".txt"
	extHTML    = ".html"
)

// contentDefine wraps a kind's body so that the layout can call it as
// "content" while errors still name the kind's file.
const contentDefine = `{{define "content"}}`

// kindTemplates are one kind's parsed templates in one locale.
type kindTemplates struct {
	locale  string
	subject *texttemplate.Template
	text    *texttemplate.Template // executes the layout, which calls "content"
	html    *htmltemplate.Template
	files   [3]string // subject, text and html file, for error messages
}

// templates are every kind's templates in every locale present.
type templates struct {
	byLocale map[string]map[Kind]*kindTemplates
}

// rendered is one email's subject and bodies.
type rendered struct {
	Subject, Text, HTML string
	Locale              string
}

// loadTemplates parses the templates in fsys for every kind in specs and
// renders each once with sample data, so that a template that uses an
// undeclared field, or leaves a required one out, fails here, at start-up,
// rather than sending a broken email later.
func loadTemplates(fsys fs.FS, specs map[Kind]kindSpec) (*templates, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("notify: read templates: %w", err)
	}
	t := &templates{byLocale: map[string]map[Kind]*kindTemplates{}}
	var locales []string
	for _, e := range entries {
		if e.IsDir() {
			locales = append(locales, e.Name())
		}
	}
	sort.Strings(locales)
	if !slices.Contains(locales, DefaultLocale) {
		return nil, fmt.Errorf("notify: templates: no %q directory", DefaultLocale)
	}
	for _, loc := range locales {
		if normLocale(loc) != loc {
			return nil, fmt.Errorf("notify: templates: locale directory %q must be lower case with '-' (%q)", loc, normLocale(loc))
		}
		set, err := loadLocale(fsys, loc, specs)
		if err != nil {
			return nil, err
		}
		t.byLocale[loc] = set
	}
	for k := range specs {
		if t.byLocale[DefaultLocale][k] == nil {
			return nil, fmt.Errorf("notify: kind %q has no templates: add %s/%s%s, %s and %s",
				k, DefaultLocale, k, extSubject, extText, extHTML)
		}
	}
	for _, loc := range locales {
		for k, kt := range t.byLocale[loc] {
			if err := check(k, specs[k], kt); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

func loadLocale(fsys fs.FS, loc string, specs map[Kind]kindSpec) (map[Kind]*kindTemplates, error) {
	// A locale without its own layout uses the default locale's.
	layoutDir := loc
	if _, err := fs.Stat(fsys, path.Join(loc, layoutHTML)); errors.Is(err, fs.ErrNotExist) {
		layoutDir = DefaultLocale
	}
	lh, err := fs.ReadFile(fsys, path.Join(layoutDir, layoutHTML))
	if err != nil {
		return nil, fmt.Errorf("notify: templates: %w", err)
	}
	lt, err := fs.ReadFile(fsys, path.Join(layoutDir, layoutText))
	if err != nil {
		return nil, fmt.Errorf("notify: templates: %w", err)
	}

	entries, err := fs.ReadDir(fsys, loc)
	if err != nil {
		return nil, fmt.Errorf("notify: templates: %w", err)
	}
	present := map[Kind]map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == layoutHTML || name == layoutText {
			continue
		}
		ext := path.Ext(name)
		if ext != extSubject && ext != extText && ext != extHTML {
			return nil, fmt.Errorf("notify: templates: %s/%s: unexpected file (want <kind>%s, %s or %s)", loc, name, extSubject, extText, extHTML)
		}
		k := Kind(strings.TrimSuffix(name, ext))
		if _, ok := specs[k]; !ok {
			return nil, fmt.Errorf("notify: templates: %s/%s is for unknown kind %q (add it to the kinds table)", loc, name, k)
		}
		if present[k] == nil {
			present[k] = map[string]bool{}
		}
		present[k][ext] = true
	}

	set := map[Kind]*kindTemplates{}
	for k, exts := range present {
		for _, ext := range []string{extSubject, extText, extHTML} {
			if !exts[ext] {
				return nil, fmt.Errorf("notify: kind %q: %s/%s%s is missing (a locale has all three of a kind's files or none)", k, loc, k, ext)
			}
		}
		kt, err := parseKind(fsys, loc, k, layoutDir, string(lh), string(lt))
		if err != nil {
			return nil, err
		}
		set[k] = kt
	}
	return set, nil
}

func parseKind(fsys fs.FS, loc string, k Kind, layoutDir, layoutH, layoutT string) (*kindTemplates, error) {
	kt := &kindTemplates{locale: loc}
	kt.files = [3]string{
		path.Join(loc, string(k)+extSubject),
		path.Join(loc, string(k)+extText),
		path.Join(loc, string(k)+extHTML),
	}
	read := func(name string) (string, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return "", fmt.Errorf("notify: kind %q: %w", k, err)
		}
		return string(b), nil
	}
	subj, err := read(kt.files[0])
	if err != nil {
		return nil, err
	}
	if kt.subject, err = texttemplate.New(kt.files[0]).Option("missingkey=error").Parse(strings.TrimSpace(subj)); err != nil {
		return nil, fmt.Errorf("notify: kind %q: parse %w", k, err)
	}

	body, err := read(kt.files[1])
	if err != nil {
		return nil, err
	}
	tt, err := texttemplate.New(kt.files[1]).Option("missingkey=error").Parse(contentDefine + body + "{{end}}")
	if err != nil {
		return nil, fmt.Errorf("notify: kind %q: parse %w", k, err)
	}
	if kt.text, err = tt.New(path.Join(layoutDir, layoutText)).Parse(layoutT); err != nil {
		return nil, fmt.Errorf("notify: parse %w", err)
	}

	body, err = read(kt.files[2])
	if err != nil {
		return nil, err
	}
	ht, err := htmltemplate.New(kt.files[2]).Option("missingkey=error").Parse(contentDefine + body + "{{end}}")
	if err != nil {
		return nil, fmt.Errorf("notify: kind %q: parse %w", k, err)
	}
	if kt.html, err = ht.New(path.Join(layoutDir, layoutHTML)).Parse(layoutH); err != nil {
		return nil, fmt.Errorf("notify: parse %w", err)
	}
	return kt, nil
}

// lookup returns k's templates in the best locale for locale: the locale
// itself ("pt-br"), its language ("pt"), then the default ("en").
func (t *templates) lookup(k Kind, locale string) *kindTemplates {
	for _, loc := range localeChain(locale) {
		if kt := t.byLocale[loc][k]; kt != nil {
			return kt
		}
	}
	return nil
}

// render renders k for a recipient. data holds the request's fields; the
// templates also get Name, Email, AppURL and UnsubscribeURL (empty for
// essential mail), and the layout Subject.
func (t *templates) render(k Kind, locale string, data map[string]string, name, email, appURL, unsubscribeURL string) (rendered, error) {
	kt := t.lookup(k, locale)
	if kt == nil {
		return rendered{}, fmt.Errorf("notify: kind %q has no templates", k)
	}
	td := templateData(data, name, email, appURL)
	td["UnsubscribeURL"] = unsubscribeURL
	return kt.render(td)
}

// renderInApp renders k for the in-app inbox: the subject is the title and
// the kind's plain-text body, without the email layout, is the body.
func (t *templates) renderInApp(k Kind, locale string, data map[string]string, appURL string) (title, body string, err error) {
	kt := t.lookup(k, locale)
	if kt == nil {
		return "", "", fmt.Errorf("notify: kind %q has no templates", k)
	}
	td := templateData(data, "", "", appURL)
	var b bytes.Buffer
	if err := kt.subject.Execute(&b, td); err != nil {
		return "", "", err
	}
	title = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err := kt.text.ExecuteTemplate(&b, "content", td); err != nil {
		return "", "", err
	}
	return title, strings.TrimSpace(b.String()), nil
}

func templateData(data map[string]string, name, email, appURL string) map[string]any {
	m := make(map[string]any, len(data)+5)
	for k, v := range data {
		m[k] = v
	}
	m["Name"], m["Email"], m["AppURL"], m["UnsubscribeURL"] = name, email, appURL, ""
	return m
}

func (kt *kindTemplates) render(data map[string]any) (rendered, error) {
	var b bytes.Buffer
	if err := kt.subject.Execute(&b, data); err != nil {
		return rendered{}, err
	}
	// A subject is one header line whatever the data holds.
	subject := strings.Join(strings.Fields(b.String()), " ")
	data["Subject"] = subject
	b.Reset()
	if err := kt.text.Execute(&b, data); err != nil {
		return rendered{}, err
	}
	text := b.String()
	b.Reset()
	if err := kt.html.Execute(&b, data); err != nil {
		return rendered{}, err
	}
	return rendered{Subject: subject, Text: text, HTML: b.String(), Locale: kt.locale}, nil
}

var missingKey = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

// check renders kt with sample data twice: with every declared field, and
// with the required ones only (and no recipient name). It fails, naming the
// kind, the file and the field, when a template uses a field the kind does
// not declare, or when a body leaves out a required field.
func check(k Kind, spec kindSpec, kt *kindTemplates) error {
	full := map[string]string{}
	for _, f := range append(append([]string(nil), spec.Required...), spec.Optional...) {
		full[f] = sampleValue(f)
	}
	minimal := map[string]string{}
	for _, f := range spec.Required {
		minimal[f] = sampleValue(f)
	}
	declared := strings.Join(append(append([]string(nil), spec.Required...), spec.Optional...), ", ")
	if declared == "" {
		declared = "none"
	}
	var out rendered
	for i, sample := range []map[string]string{full, minimal} {
		name := "Sample Name"
		if i == 1 {
			name = ""
		}
		r, err := kt.render(templateData(sample, name, "sample@example.invalid", "https://streamflix.example.invalid"))
		if err != nil {
			if m := missingKey.FindStringSubmatch(err.Error()); m != nil {
				if slices.Contains(spec.Required, m[1]) || slices.Contains(spec.Optional, m[1]) {
					return fmt.Errorf("notify: kind %q: a template uses optional field %q without checking it is set (%v)", k, m[1], err)
				}
				return fmt.Errorf("notify: kind %q: a template uses field %q, which the kind does not declare (declared: %s): %v", k, m[1], declared, err)
			}
			return fmt.Errorf("notify: kind %q: render: %w", k, err)
		}
		if i == 0 {
			out = r
		}
	}
	if out.Subject == "" {
		return fmt.Errorf("notify: kind %q: %s renders an empty subject", k, kt.files[0])
	}
	for _, f := range spec.Required {
		v := sampleValue(f)
		if !strings.Contains(out.Text, v) {
			return fmt.Errorf("notify: kind %q: %s does not use required field %q", k, kt.files[1], f)
		}
		if !strings.Contains(out.HTML, v) {
			return fmt.Errorf("notify: kind %q: %s does not use required field %q", k, kt.files[2], f)
		}
	}
	return nil
}

// sampleValue is a value for field f that survives HTML escaping unchanged
// and is a valid URL where one is expected.
func sampleValue(f string) string {
	if isLinkField(f) {
		return "https://streamflix.example.invalid/sample/" + f
	}
	return "sample-" + f
}

// normLocale lower-cases a locale tag and spells its separator '-'.
func normLocale(l string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(l)), "_", "-")
}

// localeChain lists the locales to try for l, most specific first.
func localeChain(l string) []string {
	l = normLocale(l)
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	add(l)
	if lang, _, ok := strings.Cut(l, "-"); ok {
		add(lang)
	}
	add(DefaultLocale)
	return out
}
