package alerting

import (
	"math"
	"testing"

	"hotspots/geo"
)

func TestSeverityBands(t *testing.T) {
	sc := DefaultConfig().Severity
	ri := map[string]struct {
		days float64
		want geo.Severity
	}{
		"below weak":        {29.9, ""},
		"weak edge":         {30, geo.SeverityWeak},
		"moderate":          {100, geo.SeverityModerate},
		"just below strong": {364, geo.SeverityModerate},
		"strong":            {365, geo.SeverityStrong},
		"very strong":       {10_000, geo.SeverityVeryStrong},
		"infinite":          {math.Inf(1), geo.SeverityVeryStrong},
	}
	for name, tc := range ri {
		t.Run("ri/"+name, func(t *testing.T) {
			if got := sc.FromRI(tc.days); got != tc.want {
				t.Fatalf("FromRI(%g) = %q, want %q", tc.days, got, tc.want)
			}
		})
	}
	ps := map[string]struct {
		p      float64
		colour string
		want   geo.Severity
	}{
		"red":             {0.001, "red", geo.SeverityStrong},
		"red edge":        {0.0099, "red", geo.SeverityStrong},
		"yellow at 0.01":  {0.01, "yellow", geo.SeverityModerate},
		"yellow":          {0.049, "yellow", geo.SeverityModerate},
		"none at 0.05":    {0.05, "", ""},
		"not significant": {0.4, "", ""},
	}
	for name, tc := range ps {
		t.Run("p/"+name, func(t *testing.T) {
			if c := sc.Colour(tc.p); c != tc.colour {
				t.Fatalf("Colour(%g) = %q, want %q", tc.p, c, tc.colour)
			}
			if got := sc.FromP(tc.p); got != tc.want {
				t.Fatalf("FromP(%g) = %q, want %q", tc.p, got, tc.want)
			}
		})
	}
	ratios := map[string]struct {
		count, min int
		want       geo.Severity
	}{
		"at threshold":   {3, 3, geo.SeverityModerate},
		"1.5x":           {6, 4, geo.SeverityStrong},
		"twice":          {6, 3, geo.SeverityVeryStrong},
		"below (manual)": {2, 3, geo.SeverityWeak},
	}
	for name, tc := range ratios {
		t.Run("ratio/"+name, func(t *testing.T) {
			if got := sc.FromRatio(tc.count, tc.min); got != tc.want {
				t.Fatalf("FromRatio(%d, %d) = %q, want %q", tc.count, tc.min, got, tc.want)
			}
		})
	}
}

func TestRecurrenceDays(t *testing.T) {
	tests := map[string]struct {
		f    geo.Finding
		want float64
		ok   bool
	}{
		"detector's own":     {geo.Finding{Stats: map[string]float64{"ri_days": 500}, PValue: ptr(0.5)}, 500, true},
		"from p, daily runs": {geo.Finding{PValue: ptr(0.004)}, 250, true},
		"p of zero":          {geo.Finding{PValue: ptr(0.0)}, math.Inf(1), true},
		"nothing":            {geo.Finding{}, 0, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := recurrenceDays(tc.f, 1)
			if ok != tc.ok || got != tc.want {
				t.Fatalf("recurrenceDays = %g, %v; want %g, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	tests := map[string]func(*Config){
		"zone too fine":        func(c *Config) { c.ZoneRes = 11 },
		"bands not increasing": func(c *Config) { c.Severity.RIBands = [4]float64{30, 20, 365, 3650} },
		"red above yellow":     func(c *Config) { c.Severity.Red = 0.1 },
		"bad threshold":        func(c *Config) { c.Thresholds = []Threshold{{Layer: "nsa", Kind: "overdose_fatal"}} },
		"near-repeat radius":   func(c *Config) { c.NearRepeat.RadiusM = 0 },
		"unknown severity":     func(c *Config) { c.NearRepeat.Severity = "extreme" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			c := DefaultConfig()
			mutate(&c)
			if err := c.Validate(); err == nil {
				t.Fatal("Validate accepted a bad config")
			}
		})
	}
}
