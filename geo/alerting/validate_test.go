package alerting

import (
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

func validSub() geo.Subscription {
	return geo.Subscription{Team: "west-outreach", Name: "West side shootings", Active: true,
		Channels: []geo.Channel{{Type: geo.ChannelWebhook, URL: "https://hooks.example.org/hotspots", Secret: "0123456789abcdef0123"}}}
}

func TestValidateSubscription(t *testing.T) {
	m := testMatcher(t)
	tests := map[string]struct {
		mutate func(*geo.Subscription)
		field  string // "" = valid
		reason string
	}{
		"valid whole city": {func(s *geo.Subscription) {}, "", ""},
		"valid area":       {func(s *geo.Subscription) { s.Areas = []string{"nsa:west", "nsa:west"} }, "", ""},
		"valid polygon":    {func(s *geo.Subscription) { s.Polygon = orb.MultiPolygon{square(-76.63, 39.28, -76.62, 39.29)} }, "", ""},
		"polygon partly outside the city is fine": {func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{square(-76.70, 39.28, -76.62, 39.29)}
		}, "", ""},
		"valid circle": {func(s *geo.Subscription) { s.Circle = &geo.Circle{Center: westPoint, RadiusM: 500} }, "", ""},
		"valid cells":  {func(s *geo.Subscription) { s.Cells = []geo.Cell{mustCell(t, westPoint, 9)} }, "", ""},
		"valid email": {func(s *geo.Subscription) {
			s.Channels = []geo.Channel{{Type: geo.ChannelEmail, To: []string{"lead@example.org"}}}
		}, "", ""},
		"no name":      {func(s *geo.Subscription) { s.Name = " " }, "name", "required"},
		"no team":      {func(s *geo.Subscription) { s.Team = "" }, "team", "required"},
		"bad severity": {func(s *geo.Subscription) { s.MinSeverity = "extreme" }, "min_severity", "unknown severity"},
		"bad kind":     {func(s *geo.Subscription) { s.Kinds = []geo.Kind{"Shooting!"} }, "kinds", "only a-z"},
		"bad rule":     {func(s *geo.Subscription) { s.Rules = []geo.AlertRule{"psychic"} }, "rules", "unknown alert rule"},
		"bad view":     {func(s *geo.Subscription) { s.View = "public" }, "view", "unknown view"},
		"area syntax":  {func(s *geo.Subscription) { s.Areas = []string{"west"} }, "areas", `want "layer:code"`},
		"area layer":   {func(s *geo.Subscription) { s.Areas = []string{"ward:3"} }, "areas", `unknown layer "ward"`},
		"area code":    {func(s *geo.Subscription) { s.Areas = []string{"nsa:north"} }, "areas", `no area "north"`},
		"polygon does not close": {func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{{{{-76.63, 39.28}, {-76.62, 39.28}, {-76.62, 39.29}, {-76.63, 39.29}}}}
		}, "polygon", "does not close"},
		"polygon too few points": {func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{{{{-76.63, 39.28}, {-76.62, 39.28}, {-76.63, 39.28}}}}
		}, "polygon", "at least 4"},
		"polygon lat/lon swapped": {func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{{{{39.28, -76.63}, {39.28, -76.62}, {39.29, -76.62}, {39.28, -76.63}}}}
		}, "polygon", "outside the city"},
		"polygon bow tie": {func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{{{{-76.63, 39.28}, {-76.62, 39.29}, {-76.62, 39.28}, {-76.63, 39.29}, {-76.63, 39.28}}}}
		}, "polygon", "crosses itself"},
		"polygon outside the city": {func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{square(-77.2, 39.1, -77.1, 39.2)}
		}, "polygon", "outside the city"},
		"polygon not lon/lat": {func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{square(-200, 39.28, -76.62, 39.29)}
		}, "polygon", "not [longitude, latitude]"},
		"circle too small":  {func(s *geo.Subscription) { s.Circle = &geo.Circle{Center: westPoint, RadiusM: 5} }, "circle", "radius"},
		"circle outside":    {func(s *geo.Subscription) { s.Circle = &geo.Circle{Center: orb.Point{-77.5, 39}, RadiusM: 500} }, "circle", "outside the city"},
		"cell invalid":      {func(s *geo.Subscription) { s.Cells = []geo.Cell{12345} }, "cells", "invalid H3 cell"},
		"cell too coarse":   {func(s *geo.Subscription) { s.Cells = []geo.Cell{mustCell(t, westPoint, 4)} }, "cells", "resolution 4"},
		"cell outside":      {func(s *geo.Subscription) { s.Cells = []geo.Cell{mustCell(t, orb.Point{-77.5, 39}, 9)} }, "cells", "outside the city"},
		"no channel":        {func(s *geo.Subscription) { s.Channels = nil }, "channels", "at least one"},
		"webhook not http":  {func(s *geo.Subscription) { s.Channels[0].URL = "ftp://x/y" }, "channels", "http(s)"},
		"webhook short key": {func(s *geo.Subscription) { s.Channels[0].Secret = "short" }, "channels", "16 characters"},
		"email bad address": {func(s *geo.Subscription) {
			s.Channels = []geo.Channel{{Type: geo.ChannelEmail, To: []string{"not an address"}}}
		}, "channels", "not a plain address"},
		"email no recipient": {func(s *geo.Subscription) { s.Channels = []geo.Channel{{Type: geo.ChannelEmail}} }, "channels", "recipients"},
		"two webhooks": {func(s *geo.Subscription) {
			s.Channels = append(s.Channels, s.Channels[0])
		}, "channels", "given twice"},
		"unknown channel": {func(s *geo.Subscription) { s.Channels = []geo.Channel{{Type: "pager"}} }, "channels", "unknown channel"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := validSub()
			tc.mutate(&s)
			err := m.ValidateSubscription(&s)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("ValidateSubscription: %v", err)
				}
				return
			}
			var ge *geo.Error
			if err == nil || geo.ErrorCode(err) != geo.EINVALID {
				t.Fatalf("ValidateSubscription = %v, want an invalid error", err)
			}
			ge = err.(*geo.Error)
			if ge.Field != tc.field || !strings.Contains(ge.Message, tc.reason) {
				t.Fatalf("error = field %q %q; want field %q containing %q", ge.Field, ge.Message, tc.field, tc.reason)
			}
		})
	}
}

func TestValidateNormalises(t *testing.T) {
	m := testMatcher(t)
	s := validSub()
	s.Areas = []string{"nsa:west", "csa:downtown", "nsa:west"}
	s.Kinds = []geo.Kind{geo.KindShootingFatal, geo.KindOverdoseFatal, geo.KindShootingFatal}
	if err := m.ValidateSubscription(&s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Areas, []string{"csa:downtown", "nsa:west"}) || len(s.Kinds) != 2 || s.View != geo.ViewOutreach {
		t.Fatalf("normalised = areas %v kinds %v view %q", s.Areas, s.Kinds, s.View)
	}
}
