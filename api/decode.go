package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
)

// readBody reads the request body up to max bytes; over it is a 413.
// limitBody already bounds every body, this bounds it per route as well.
func readBody(c echo.Context, max int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, max))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, geo.Errorf(geo.ETOOLARGE, "request body over %d bytes", tooBig.Limit)
	} else if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

// decodeStrict decodes exactly one JSON value from b into v. Unknown
// fields and trailing data are errors that name the field, so a typo
// ("min_severty") is a 400 pointing at it instead of a silently ignored
// setting.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonFieldError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return geo.FieldErrorf("body", "trailing data after the JSON value")
	}
	return nil
}

// jsonFieldError turns a decoding error into a 400 naming the field.
func jsonFieldError(err error) error {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		field := ute.Field
		if field == "" {
			field = "body"
		}
		return geo.FieldErrorf(field, "%s must be %s, not JSON %s", field, ute.Type, ute.Value)
	case errors.As(err, &se):
		return geo.FieldErrorf("body", "invalid JSON at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return geo.FieldErrorf(name, "unknown field %q", name)
	case errors.Is(err, io.EOF):
		return geo.FieldErrorf("body", "empty body; want a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return geo.FieldErrorf("body", "truncated JSON")
	}
	var ge *geo.Error
	if errors.As(err, &ge) {
		return err // a type's own UnmarshalJSON said what was wrong
	}
	return geo.FieldErrorf("body", "%v", err)
}
