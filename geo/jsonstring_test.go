package geo

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

func TestAppendJSONStringDecodesLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\n\t\r\x01\x1f", "<a&b>", "x\u2028y\u2029", "é漢", "\xff\xfe", "ok\xc3"} {
		var got, want string
		if err := json.Unmarshal(AppendJSONString(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		b, _ := json.Marshal(s)
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%q decodes to %q, encoding/json's to %q", s, got, want)
		}
	}
}

// appendJSONStringRef is AppendJSONString before its table: raw rows are
// hashed as written, so the table must not change a byte.
func appendJSONStringRef(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func TestAppendJSONStringMatchesReference(t *testing.T) {
	for c := range 256 {
		s := "a" + string([]byte{byte(c)}) + "b"
		if got, want := AppendJSONString(nil, s), appendJSONStringRef(nil, s); string(got) != string(want) {
			t.Errorf("byte %#x: %q, want %q", c, got, want)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	const pieces = "a Z~\x7f\"\\<>&\n\r\t\x00\x1f\u2028\u2029é漢\xff\xc3\xe2\x80"
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = pieces[r.IntN(len(pieces))]
		}
		if got, want := AppendJSONString(nil, string(b)), appendJSONStringRef(nil, string(b)); string(got) != string(want) {
			t.Fatalf("%q: %q, want %q", b, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "<a&b>", "x\u2028y", "\xff\xfe", "ok\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := AppendJSONString(nil, s), appendJSONStringRef(nil, s); string(got) != string(want) {
			t.Fatalf("%q: %q, want %q", s, got, want)
		}
	})
}
