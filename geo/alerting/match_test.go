package alerting

import (
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

func TestAreasAt(t *testing.T) {
	m := testMatcher(t)
	tests := map[string]struct {
		p    orb.Point
		want []string
	}{
		"west":         {westPoint, []string{"csa:downtown", "nsa:west"}},
		"east":         {eastPoint, []string{"csa:downtown", "nsa:east"}},
		"no area":      {farPoint, nil},
		"outside city": {orb.Point{-77.5, 39.0}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := m.AreasAt([]geo.Cell{mustCell(t, tc.p, 9)}, t0)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("AreasAt = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	m := testMatcher(t)
	westCell := mustCell(t, westPoint, 9)
	alertAt := func(p orb.Point) geo.Alert {
		c := mustCell(t, p, 9)
		return geo.Alert{Rule: geo.RuleNearRepeat, Kinds: []geo.Kind{geo.KindShootingNonFatal}, Severity: geo.SeverityStrong,
			Cells: []geo.Cell{c}, Areas: m.AreasAt([]geo.Cell{c}, t0)}
	}
	areaAlert := geo.Alert{Rule: geo.RuleThreshold, Kinds: []geo.Kind{geo.KindOverdoseNonFatal}, Severity: geo.SeverityModerate,
		Areas: []string{"nsa:east"}}
	base := geo.Subscription{Active: true, Channels: []geo.Channel{{Type: geo.ChannelSSE}}}
	with := func(f func(*geo.Subscription)) geo.Subscription {
		s := base
		f(&s)
		return s
	}
	tests := map[string]struct {
		sub   geo.Subscription
		alert geo.Alert
		want  bool
	}{
		"whole city":             {base, alertAt(westPoint), true},
		"inactive":               {with(func(s *geo.Subscription) { s.Active = false }), alertAt(westPoint), false},
		"area by name":           {with(func(s *geo.Subscription) { s.Areas = []string{"nsa:west"} }), alertAt(westPoint), true},
		"other area":             {with(func(s *geo.Subscription) { s.Areas = []string{"nsa:east"} }), alertAt(westPoint), false},
		"csa covers both":        {with(func(s *geo.Subscription) { s.Areas = []string{"csa:downtown"} }), alertAt(eastPoint), true},
		"area alert in csa":      {with(func(s *geo.Subscription) { s.Areas = []string{"csa:downtown"} }), areaAlert, true},
		"area alert not in west": {with(func(s *geo.Subscription) { s.Areas = []string{"nsa:west"} }), areaAlert, false},
		"polygon around west": {with(func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{square(-76.625, 39.285, -76.615, 39.295)}
		}), alertAt(westPoint), true},
		"polygon elsewhere": {with(func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{square(-76.655, 39.271, -76.645, 39.279)}
		}), alertAt(westPoint), false},
		"polygon overlapping an area alert": {with(func(s *geo.Subscription) {
			s.Polygon = orb.MultiPolygon{square(-76.605, 39.285, -76.595, 39.295)}
		}), areaAlert, true},
		"circle 300 m":             {with(func(s *geo.Subscription) { s.Circle = &geo.Circle{Center: orb.Point{-76.6225, 39.29}, RadiusM: 300} }), alertAt(westPoint), true},
		"circle 2 km away":         {with(func(s *geo.Subscription) { s.Circle = &geo.Circle{Center: farPoint, RadiusM: 200} }), alertAt(westPoint), false},
		"same res-9 cell":          {with(func(s *geo.Subscription) { s.Cells = []geo.Cell{westCell} }), alertAt(westPoint), true},
		"res-7 parent cell":        {with(func(s *geo.Subscription) { s.Cells = []geo.Cell{westCell.Parent(7)} }), alertAt(westPoint), true},
		"res-11 child cell":        {with(func(s *geo.Subscription) { s.Cells = []geo.Cell{mustCell(t, westPoint, 11)} }), alertAt(westPoint), true},
		"cell elsewhere":           {with(func(s *geo.Subscription) { s.Cells = []geo.Cell{mustCell(t, farPoint, 9)} }), alertAt(westPoint), false},
		"kind wanted":              {with(func(s *geo.Subscription) { s.Kinds = []geo.Kind{geo.KindShootingNonFatal} }), alertAt(westPoint), true},
		"kind not wanted":          {with(func(s *geo.Subscription) { s.Kinds = []geo.Kind{geo.KindOverdoseFatal} }), alertAt(westPoint), false},
		"severity high enough":     {with(func(s *geo.Subscription) { s.MinSeverity = geo.SeverityStrong }), alertAt(westPoint), true},
		"severity too low":         {with(func(s *geo.Subscription) { s.MinSeverity = geo.SeverityVeryStrong }), alertAt(westPoint), false},
		"rule wanted":              {with(func(s *geo.Subscription) { s.Rules = []geo.AlertRule{geo.RuleNearRepeat} }), alertAt(westPoint), true},
		"rule not wanted":          {with(func(s *geo.Subscription) { s.Rules = []geo.AlertRule{geo.RuleCluster} }), alertAt(westPoint), false},
		"union: area or far cells": {with(func(s *geo.Subscription) { s.Areas = []string{"nsa:east"}; s.Cells = []geo.Cell{westCell} }), alertAt(westPoint), true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := m.Match(tc.sub, tc.alert); got != tc.want {
				t.Fatalf("Match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	m := testMatcher(t)
	a := geo.Alert{Rule: geo.RuleThreshold, Severity: geo.SeverityModerate, Areas: []string{"nsa:west"}}
	subs := []geo.Subscription{
		{ID: 1, Active: true, Areas: []string{"nsa:west"}, Channels: []geo.Channel{{Type: geo.ChannelWebhook}, {Type: geo.ChannelEmail}, {Type: geo.ChannelSSE}}},
		{ID: 2, Active: true, Areas: []string{"nsa:east"}, Channels: []geo.Channel{{Type: geo.ChannelWebhook}}},
		{ID: 3, Active: true, Channels: []geo.Channel{{Type: geo.ChannelSSE}}},
	}
	got := m.Targets(subs, a)
	want := []geo.DeliveryTarget{{SubscriptionID: 1, Channel: geo.ChannelWebhook}, {SubscriptionID: 1, Channel: geo.ChannelEmail}}
	if !slices.Equal(got, want) {
		t.Fatalf("Targets = %v, want %v (SSE is streamed, not queued)", got, want)
	}
}
