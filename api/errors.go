package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
)

// statusByCode maps geo error codes to HTTP statuses.
var statusByCode = map[string]int{
	geo.EINVALID:      http.StatusBadRequest,
	geo.ENOTFOUND:     http.StatusNotFound,
	geo.ECONFLICT:     http.StatusConflict,
	geo.EUNAUTHORIZED: http.StatusUnauthorized,
	geo.EFORBIDDEN:    http.StatusForbidden,
	geo.EUNAVAILABLE:  http.StatusServiceUnavailable,
	geo.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	geo.ERATELIMIT:    http.StatusTooManyRequests,
	geo.EINTERNAL:     http.StatusInternalServerError,
}

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
	Code   string `json:"code"`
}

// errorHandler writes every handler error as application/problem+json and
// logs only internal errors, since 4xx are the caller's to fix.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; there is nobody to answer.
		return
	}
	p := Problem{Type: "about:blank"}
	var he *echo.HTTPError
	var ge *geo.Error
	switch {
	case errors.As(err, &ge):
		p.Code, p.Detail, p.Field = ge.Code, ge.Message, ge.Field
		p.Status = statusByCode[ge.Code]
	case errors.As(err, &he):
		p.Status = he.Code
		p.Code = codeForStatus(he.Code)
		if m, ok := he.Message.(string); ok {
			p.Detail = m
		}
	default:
		p.Status, p.Code, p.Detail = http.StatusInternalServerError, geo.EINTERNAL, "internal error"
	}
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	p.Title = http.StatusText(p.Status)
	if p.Status >= 500 {
		s.log.Error("request_failed", slog.String("method", c.Request().Method),
			slog.String("path", c.Request().URL.Path), slog.Any("error", err))
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	_ = c.JSON(p.Status, p)
}

func codeForStatus(status int) string {
	for code, st := range statusByCode {
		if st == status {
			return code
		}
	}
	if status >= 500 {
		return geo.EINTERNAL
	}
	return geo.EINVALID
}

// invalid is a shorthand for a 400 naming the parameter.
func invalid(field, format string, args ...any) error {
	return geo.FieldErrorf(field, format, args...)
}
