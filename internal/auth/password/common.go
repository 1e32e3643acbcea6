package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
)

//go:generate go run ./gen -o common_passwords.txt.gz

// commonGz holds 47,023 common and breached passwords, lowercased, sorted
// (byte order), one per line, gzip'd (137 KB). gen/main.go writes it from
// github.com/trustelem/zxcvbn v1.0.1's leaked-password list.
//
//go:embed common_passwords.txt.gz
var commonGz []byte

// serviceWords are passwords too obvious for this service to be in any list.
// They match with digits and symbols around them too ("Netflix2024!"), since
// the bare words are mostly under MinLength.
var serviceWords = []string{"streamflix", "netflix"}

// commonList is the decompressed list: one string holding every entry and
// the offset at which each starts, about 370 KB + 4 bytes per entry (190 KB),
// rather than a map (several MB) or a []string (16 more bytes per entry).
type commonList struct {
	data  string
	start []uint32 // start[i] is where entry i begins; it ends before the next '\n'
}

// loadCommon decompresses the list on first use, so that processes that
// never check a password do not pay for it.
var loadCommon = sync.OnceValue(func() *commonList {
	zr, err := gzip.NewReader(bytes.NewReader(commonGz))
	if err != nil {
		panic("password: embedded common list: " + err.Error())
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		panic("password: embedded common list: " + err.Error())
	}
	l := &commonList{data: string(raw), start: make([]uint32, 0, bytes.Count(raw, []byte{'\n'}))}
	for i := 0; i < len(l.data); {
		l.start = append(l.start, uint32(i))
		n := strings.IndexByte(l.data[i:], '\n')
		if n < 0 {
			break
		}
		i += n + 1
	}
	return l
})

func (l *commonList) len() int { return len(l.start) }

func (l *commonList) at(i int) string {
	s := l.data[l.start[i]:]
	if n := strings.IndexByte(s, '\n'); n >= 0 {
		s = s[:n]
	}
	return s
}

func (l *commonList) contains(w string) bool {
	i := sort.Search(l.len(), func(i int) bool { return l.at(i) >= w })
	return i < l.len() && l.at(i) == w
}

// isCommon reports whether password, trimmed and lowercased, is in the list
// of common passwords, or is one of serviceWords once the non-letters at
// either end are cut off.
func isCommon(password string) bool {
	w := strings.ToLower(strings.TrimSpace(password))
	core := strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) })
	if slices.Contains(serviceWords, core) {
		return true
	}
	return loadCommon().contains(w)
}
