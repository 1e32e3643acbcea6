package password

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

func TestCheck(t *testing.T) {
	t.Parallel()

	pass64 := "violet tram whistles past the ninth harbour under sodium light!!"
	pass128 := pass64 + "and the ferryman counts coins in a tin box by the quay at dawn.."
	if utf8.RuneCountInString(pass64) != 64 || utf8.RuneCountInString(pass128) != 128 {
		t.Fatal("fixtures pass64 and pass128 must be 64 and 128 runes long")
	}

	for _, tc := range []struct {
		name, password, email, want string
	}{
		{"Short", "short", "", CodeTooShort},
		{"Empty", "", "", CodeTooShort},
		{"SevenRunesNineBytes", "ñandú12", "", CodeTooShort},
		{"EightOK", "k9#mTq2!", "", ""},
		{"EightRunesMultibyteOK", "ñandú12é", "", ""},
		{"SixtyFourOK", pass64, "", ""},
		{"OneTwentyEightOK", pass128, "", ""},
		{"TooLong", pass128 + "x", "", CodeTooLong},
		{"Passphrase", "correct horse battery staple", "alice@example.com", ""},
		{"Password1", "password1", "", CodeCommon},
		{"PasswordCapital", "Password", "", CodeCommon},
		{"PasswordPadded", "  PASSWORD  ", "", CodeCommon},
		{"Qwerty123", "qwerty123", "", CodeCommon},
		{"Qwertyuiop", "qwertyuiop", "", CodeCommon},
		{"Iloveyou", "iloveyou", "", CodeCommon},
		{"Streamflix", "StreamFlix", "", CodeCommon},
		{"Netflix2024", "Netflix2024!", "", CodeCommon},
		{"StreamflixInPhraseOK", "my streamflix evenings", "", ""},
		{"RepeatedChar", "aaaaaaaaaa", "", CodeRepetitive},
		{"RepeatedSymbol", "!!!!!!!!", "", CodeRepetitive},
		{"Digits", "12345678", "", CodeRepetitive},
		{"DigitsDown", "87654321", "", CodeRepetitive},
		{"Letters", "abcdefgh", "", CodeRepetitive},
		{"LettersUpper", "ABCDEFGHIJ", "", CodeRepetitive},
		{"LettersDown", "zyxwvuts", "", CodeRepetitive},
		{"SequencePlusOneOK", "12345678x", "", ""},
		{"ContainsEmail", "xXjsmithXx-tv", "jsmith@example.com", CodeContainsEmail},
		{"ContainsEmailCase", "Hello JSmith 99", "jsmith@example.com", CodeContainsEmail},
		{"ContainsEmailPlusTag", "my anna.k pass", "anna.k+promo@example.com", CodeContainsEmail},
		{"ShortLocalPartOK", "bobbing for apples", "bob@example.com", ""},
		{"OtherEmailOK", "jsmith's secret tv", "alice@example.com", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check("new_password", tc.password, tc.email)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tc.password, err)
				}
				return
			}
			e := apperr.From(err)
			if e == nil || e.Kind != apperr.Invalid || e.Code != "validation_failed" || len(e.Fields) != 1 {
				t.Fatalf("Check(%q) = %#v, want one validation field error", tc.password, err)
			}
			f := e.Fields[0]
			if f.Field != "new_password" || f.Code != tc.want || f.Message == "" {
				t.Fatalf("Check(%q) field = %+v, want new_password/%s", tc.password, f, tc.want)
			}
		})
	}
}

func TestCommonList(t *testing.T) {
	t.Parallel()
	l := loadCommon()
	if l.len() < 10000 {
		t.Fatalf("list has %d entries, want at least 10,000", l.len())
	}
	for i := 1; i < l.len(); i++ {
		if a, b := l.at(i-1), l.at(i); a >= b || b != strings.ToLower(b) || b == "" {
			t.Fatalf("entries %d, %d = %q, %q: want sorted, lowercase, unique, non-empty", i-1, i, a, b)
		}
	}
	for _, w := range []string{"password", "password1", "123456789", "12345678", "qwertyuiop", "qwerty123", "iloveyou", "trustno1", "letmein", "123456", l.at(0), l.at(l.len() - 1)} {
		if !l.contains(w) {
			t.Errorf("list lacks %q", w)
		}
	}
	for _, w := range []string{"correct horse battery staple", "PASSWORD", "", "zzzzzzzzzzzzzzzzzzzz", "violet tram whistles"} {
		if l.contains(w) {
			t.Errorf("list has %q", w)
		}
	}
}
