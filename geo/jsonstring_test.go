package geo

import (
	"encoding/json"
	"testing"
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
