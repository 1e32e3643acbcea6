package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

func TestUTF8Reader(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"ASCII", `{"a":"b"}`, true},
		{"Multibyte", "{\"a\":\"héllo wörld ✓ 🎬\"}", true},
		{"InvalidByte", "{\"a\":\"\xff\"}", false},
		{"Overlong", "{\"a\":\"\xc0\xaf\"}", false},
		{"Surrogate", "{\"a\":\"\xed\xa0\x80\"}", false},
		{"TruncatedAtEnd", "{\"a\":\"\xe2\x82", false},
		{"LoneContinuation", "\x80", false},
	} {
		// One byte per read: every sequence is split across reads.
		for name, r := range map[string]io.Reader{
			"Whole": strings.NewReader(c.in), "OneByte": iotest.OneByteReader(strings.NewReader(c.in)), "Half": iotest.HalfReader(strings.NewReader(c.in)),
		} {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				got, err := io.ReadAll(&utf8Reader{r: r})
				if c.ok && (err != nil || string(got) != c.in) {
					t.Errorf("read %q, %v; want %q", got, err, c.in)
				}
				if !c.ok && !errors.Is(err, errNotUTF8) {
					t.Errorf("err = %v, want errNotUTF8", err)
				}
			})
		}
	}
}

func TestDecodeText(t *testing.T) {
	t.Parallel()
	type in struct {
		Name  string             `json:"name"`
		Tags  []string           `json:"tags"`
		Inner struct{ X string } `json:"inner"`
		Data  map[string]string  `json:"data"`
	}
	for _, c := range []struct {
		name, body  string
		status      int
		code, field string
	}{
		{"OK", `{"name":"Ada ✓","tags":["a"]}`, 0, "", ""},
		{"InvalidUTF8", "{\"name\":\"\xff\"}", 400, "invalid_utf8", ""},
		{"NUL", `{"name":"a\u0000"}`, 422, "validation_failed", "name"},
		{"NULInList", `{"tags":["a","b\u0000"]}`, 422, "validation_failed", "tags[1]"},
		{"NULNested", `{"inner":{"X":"\u0000"}}`, 422, "validation_failed", "inner.X"},
		{"NULInMap", `{"data":{"k":"\u0000"}}`, 422, "validation_failed", "data.k"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("POST", "/", bytes.NewBufferString(c.body))
			var v in
			err := Decode(r, &v)
			if c.status == 0 {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			w := httptest.NewRecorder()
			WriteError(w, r, err)
			if w.Code != c.status || !strings.Contains(w.Body.String(), `"code":"`+c.code+`"`) || (c.field != "" && !strings.Contains(w.Body.String(), `"field":"`+c.field+`"`)) {
				t.Errorf("answer %d %s; want %d %s field %q", w.Code, w.Body, c.status, c.code, c.field)
			}
		})
	}
}

func TestCheckText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		target string
		status int
	}{
		{"/x?q=fine", 200},
		{"/x?q=%C3%A9", 200},
		{"/x?q=%FF", 422},
		{"/x?q=a%00", 422},
		{"/x?%FF=1", 422},
		{"/x%FF", 422},
	} {
		r := httptest.NewRequest("GET", c.target, nil)
		w := httptest.NewRecorder()
		checkText(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(w, r)
		if w.Code != c.status {
			t.Errorf("%s: %d, want %d", c.target, w.Code, c.status)
		}
		if c.status == 422 && w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", c.target, w.Header().Get("Content-Type"))
		}
	}
}

func TestLineProblem(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s  string
		ok bool
	}{
		{"Ada Lovelace", true},
		{"Zoë – the kids’ profile 🎬", true},
		{"عربي", true},
		{"tab\there", false},
		{"new\nline", false},
		{"nul\x00", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"sep\u2028", false},
		{"rlo\u202euser", false},
		{"lre\u202a", false},
		{"lri\u2066x", false},
		{"pdi\u2069", false},
		{"bad\xff", false},
	} {
		fe := LineProblem("name", c.s)
		if (fe == nil) != c.ok {
			t.Errorf("LineProblem(%q) = %v, want ok %t", c.s, fe, c.ok)
		}
		if fe != nil && (fe.Field != "name" || fe.Code != "invalid_characters") {
			t.Errorf("LineProblem(%q) = %+v", c.s, fe)
		}
	}
}
