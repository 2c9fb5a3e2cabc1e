package webhook

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSignKnownVector pins the signature to an independently computed value:
// printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
func TestSignKnownVector(t *testing.T) {
	got := Sign([]byte("whsec_test"), time.Unix(1700000000, 0), []byte(`{"a":1}`))
	const want = "38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("whsec_0123456789abcdef")
	other := []byte("whsec_rotated_secret_xx")
	body := []byte(`{"type":"alert.raised","alert":{"id":7}}`)
	at := time.Unix(1_800_000_000, 0)
	good := Header(at, body, secret)
	tests := map[string]struct {
		header  string
		body    []byte
		now     time.Time
		secrets [][]byte
		want    error
	}{
		"valid":                  {good, body, at.Add(time.Minute), [][]byte{secret}, nil},
		"valid during rotation":  {Header(at, body, other, secret), body, at, [][]byte{secret}, nil},
		"receiver has two keys":  {good, body, at, [][]byte{other, secret}, nil},
		"no header":              {"", body, at, [][]byte{secret}, ErrNoSignature},
		"garbage header":         {"nonsense", body, at, [][]byte{secret}, ErrBadHeader},
		"no v1":                  {"t=1800000000", body, at, [][]byte{secret}, ErrBadHeader},
		"bad hex":                {"t=1800000000,v1=zz", body, at, [][]byte{secret}, ErrBadHeader},
		"body tampered":          {good, []byte(`{"type":"alert.raised","alert":{"id":8}}`), at, [][]byte{secret}, ErrBadSignature},
		"wrong secret":           {good, body, at, [][]byte{other}, ErrBadSignature},
		"replayed an hour later": {good, body, at.Add(time.Hour), [][]byte{secret}, ErrTooOld},
		"timestamp in future":    {good, body, at.Add(-10 * time.Minute), [][]byte{secret}, ErrTooOld},
		"timestamp swapped": {strings.Replace(good, "t=1800000000", "t=1800000100", 1), body, at, [][]byte{secret},
			ErrBadSignature},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Verify(tc.header, tc.body, tc.now, 0, tc.secrets...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}
