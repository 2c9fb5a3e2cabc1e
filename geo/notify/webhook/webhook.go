// Package webhook signs and verifies hotspots alert webhooks. It imports only
// the standard library, so a receiver can use Verify without pulling in the
// rest of hotspots (or its C dependencies).
//
// Every request carries the header
//
//	Hotspots-Signature: t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// where v1 is the hex HMAC-SHA256, keyed with the subscription's secret, of
// the timestamp, a full stop and the raw request body ("1700000000.{...}").
// Signing the timestamp with the body lets a receiver reject replays: a
// captured request cannot be sent again later with a fresh timestamp.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of a webhook request.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex hmac>"; during a
	// secret rotation it may carry several v1 entries.
	SignatureHeader = "Hotspots-Signature"
	// IdempotencyHeader carries the delivery's idempotency key, the same on
	// every retry: a receiver that has seen it must not act twice.
	IdempotencyHeader = "Idempotency-Key"
	// EventHeader is "alert.raised", "alert.updated" or "alert.reopened".
	EventHeader = "Hotspots-Event"
	// DeliveryHeader is the delivery's numeric ID; AttemptHeader the attempt.
	DeliveryHeader = "Hotspots-Delivery"
	AttemptHeader  = "Hotspots-Attempt"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock.
const DefaultTolerance = 5 * time.Minute

// Errors returned by Verify.
var (
	ErrNoSignature  = errors.New("webhook: no Hotspots-Signature header")
	ErrBadHeader    = errors.New("webhook: malformed Hotspots-Signature header")
	ErrTooOld       = errors.New("webhook: signature timestamp outside the tolerance")
	ErrBadSignature = errors.New("webhook: signature does not match")
)

// Sign returns the HMAC-SHA256 of "<t>.<body>" keyed with secret, in hex.
func Sign(secret []byte, t time.Time, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(t.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Header returns the Hotspots-Signature value for body signed at t with
// each secret (the new one first during a rotation).
func Header(t time.Time, body []byte, secrets ...[]byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t=%d", t.Unix())
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(Sign(s, t, body))
	}
	return b.String()
}

// Verify checks a Hotspots-Signature header value against the raw body:
// the timestamp must be within tolerance of now (0 means DefaultTolerance)
// and some v1 entry must equal the HMAC under some secret. Compare the raw
// bytes you received, before any JSON decoding.
func Verify(header string, body []byte, now time.Time, tolerance time.Duration, secrets ...[]byte) error {
	if header == "" {
		return ErrNoSignature
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrBadHeader
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return ErrBadHeader
			}
			ts = n
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return ErrBadHeader
			}
			sigs = append(sigs, b)
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return ErrBadHeader
	}
	t := time.Unix(ts, 0)
	if d := now.Sub(t); d > tolerance || d < -tolerance {
		return ErrTooOld
	}
	for _, s := range secrets {
		want, _ := hex.DecodeString(Sign(s, t, body))
		for _, got := range sigs {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrBadSignature
}

// VerifyRequest is Verify on an http.Request whose body has already been
// read into body.
func VerifyRequest(r *http.Request, body []byte, now time.Time, tolerance time.Duration, secrets ...[]byte) error {
	return Verify(r.Header.Get(SignatureHeader), body, now, tolerance, secrets...)
}
