package api

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"hotspots/geo"
)

// keyBodyMaxBytes bounds a key request; a thousand areas fit.
const keyBodyMaxBytes = 64 << 10

// KeyRequest is the body of POST /api/v1/admin/keys.
type KeyRequest struct {
	Name  string   `json:"name"`
	Role  geo.Role `json:"role"`
	Team  string   `json:"team"`
	Areas []string `json:"areas"`
}

// KeyCreatedResponse is the answer to a key creation: the only time the
// secret is shown.
type KeyCreatedResponse struct {
	Key    geo.APIKey `json:"key"`
	Secret string     `json:"secret"`
	Note   string     `json:"note"`
}

// createKeyHandler serves POST /api/v1/admin/keys (admins).
func (s *Server) createKeyHandler(c echo.Context) error {
	b, err := readBody(c, keyBodyMaxBytes)
	if err != nil {
		return err
	}
	var req KeyRequest
	if err := decodeStrict(b, &req); err != nil {
		return err
	}
	k, secret, err := s.cfg.Store.CreateKey(c.Request().Context(),
		geo.APIKey{Name: req.Name, Role: req.Role, Team: req.Team, Areas: req.Areas})
	if err != nil {
		return err
	}
	s.log.Info("api_key_created", slog.Int64("key_id", k.ID), slog.String("role", string(k.Role)),
		slog.String("prefix", k.Prefix), slog.Int64("by_key_id", principal(c).KeyID))
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/admin/keys/"+strconv.FormatInt(k.ID, 10))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, KeyCreatedResponse{Key: k, Secret: secret,
		Note: "store the secret now: only its hash is kept. Send it as Authorization: Bearer <secret>."})
}

// listKeysHandler serves GET /api/v1/admin/keys[?revoked=true] (admins).
func (s *Server) listKeysHandler(c echo.Context) error {
	if err := onlyParams(c, "revoked"); err != nil {
		return err
	}
	var f geo.KeyFilter
	switch v := c.QueryParam("revoked"); v {
	case "", "false":
	case "true":
		f.IncludeRevoked = true
	default:
		return invalid("revoked", "revoked must be true or false")
	}
	keys, err := s.cfg.Store.ListKeys(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": keys})
}

// revokeKeyHandler serves DELETE /api/v1/admin/keys/:id (admins). The key
// stops working on the next request: nothing caches keys.
func (s *Server) revokeKeyHandler(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	k, err := s.cfg.Store.RevokeKey(c.Request().Context(), id)
	if err != nil {
		return err
	}
	s.log.Info("api_key_revoked", slog.Int64("key_id", k.ID), slog.Int64("by_key_id", principal(c).KeyID))
	return c.JSON(http.StatusOK, k)
}

// listAccessHandler serves GET /api/v1/admin/access-log (admins):
// who read point-level data, newest first. Filters: key_id, since and
// until (RFC 3339), limit (1..1000, default 100), offset.
func (s *Server) listAccessHandler(c echo.Context) error {
	if err := onlyParams(c, "key_id", "since", "until", "limit", "offset"); err != nil {
		return err
	}
	var f geo.AccessFilter
	if v := c.QueryParam("key_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 0 {
			return invalid("key_id", "want a key id")
		}
		f.KeyID = &id
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := c.QueryParam(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return invalid(p.name, "want an RFC 3339 time such as 2026-05-01T00:00:00Z")
			}
			*p.dst = &t
		}
	}
	var err error
	if f.Limit, err = intParam(c, "limit", 100, 1, 1000); err != nil {
		return err
	}
	if f.Offset, err = intParam(c, "offset", 0, 0, 1_000_000); err != nil {
		return err
	}
	entries, err := s.cfg.Store.ListAccess(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"entries": entries})
}

// onlyParams refuses query parameters other than allowed, naming the first.
func onlyParams(c echo.Context, allowed ...string) error {
	for name, vals := range c.QueryParams() {
		if !slices.Contains(allowed, name) {
			return invalid(name, "unknown parameter %q (allowed: %s)", name, strings.Join(allowed, ", "))
		}
		if len(vals) > 1 {
			return invalid(name, "parameter %q given %d times", name, len(vals))
		}
	}
	return nil
}
