package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	"hotspots/geo"
)

func TestParsePushStrict(t *testing.T) {
	cases := map[string]struct {
		body, field, code string
	}{
		"unknown top-level field": {`{"agency":"x","incidents":[],"extra":1}`, "extra", geo.EINVALID},
		"unknown item field":      {`{"incidents":[{"id":"1"},{"id":"2","doses":3}]}`, "incidents[1].doses", geo.EINVALID},
		"wrong type":              {`{"incidents":[{"id":"1","naloxone_doses":"two"}]}`, "incidents[0].naloxone_doses", geo.EINVALID},
		"no incidents":            {`{"agency":"x"}`, "incidents", geo.EINVALID},
		"not JSON":                {`{"incidents":[`, "", geo.EINVALID},
		"trailing data":           {`{"incidents":[]} {}`, "", geo.EINVALID},
		"empty":                   {``, "", geo.EINVALID},
		"too many items":          {`{"incidents":[` + strings.Repeat(`{},`, PushMaxItems) + `{}]}`, "", geo.ETOOLARGE},
		"too large":               {`{"agency":"` + strings.Repeat("x", PushMaxBytes) + `","incidents":[]}`, "", geo.ETOOLARGE},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParsePush(strings.NewReader(tc.body))
			if geo.ErrorCode(err) != tc.code {
				t.Fatalf("error %v, want code %s", err, tc.code)
			}
			var ge *geo.Error
			if tc.field != "" && (!asGeoError(err, &ge) || ge.Field != tc.field) {
				t.Fatalf("error %v, want field %q", err, tc.field)
			}
		})
	}
	b, err := ParsePush(strings.NewReader(`{"agency":"BCFD","incidents":[{"id":"a","time":"2024-05-01T22:15:00-04:00","kind":"overdose","fatal":false,"naloxone_doses":2,"lat":39.3,"lon":-76.6}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if it := b.Incidents[0]; b.Agency != "BCFD" || it.Fatal == nil || *it.Fatal || *it.NaloxoneDoses != 2 || *it.Lat != 39.3 {
		t.Fatalf("parsed %+v", b)
	}
}

func TestPushPerItemResults(t *testing.T) {
	ctx := context.Background()
	city := MustCity(t, "baltimore")
	m, err := PushMapping(city, "")
	if err != nil {
		t.Fatal(err)
	}
	st := MustOpenStore(t)
	body, err := ParsePush(strings.NewReader(`{"agency":"BCFD","incidents":[
		{"id":"1","time":"2024-05-01T22:15:00-04:00","kind":"overdose","fatal":false,"naloxone_doses":2,"lat":39.2985,"lon":-76.6127},
		{"id":"2","time":"2024-05-01T23:40:00-04:00","kind":"overdose","fatal":true,"lat":39.31,"lon":-76.64},
		{"id":"3","time":"2024-05-02T01:00:00-04:00","kind":"overdose","lat":0,"lon":0},
		{"id":"4","time":"2024-05-02T01:00:00-04:00","kind":"shooting","lat":39.31,"lon":-76.64},
		{"id":"5","time":"yesterday","kind":"overdose","lat":39.31,"lon":-76.64},
		{"id":"6","time":"2024-05-02T02:00:00-04:00","kind":"overdose_suspected","address":"1600 W NORTH AV"},
		{"id":"1","time":"2024-05-01T22:15:00-04:00","kind":"overdose","lat":39.2985,"lon":-76.6127},
		{"id":"7","time":"2024-05-02T03:00:00-04:00","kind":"overdose","lat":39.4015,"lon":-76.6019,"agency":"BCoFD"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC)
	resp, err := Push(ctx, st, city, m, body, Options{Logger: discard, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status string
		reason geo.Reason
	}{
		{PushAccepted, ""}, {PushAccepted, ""}, {PushQuarantined, geo.ReasonNullIsland},
		{PushQuarantined, geo.ReasonUnknownKind}, {PushQuarantined, geo.ReasonBadDate},
		{PushQuarantined, geo.ReasonUngeocodable}, {PushQuarantined, geo.ReasonBadRow},
		{PushQuarantined, geo.ReasonOutsideCity},
	}
	for i, w := range want {
		if r := resp.Results[i]; r.Index != i || r.Status != w.status || r.Reason != w.reason {
			t.Errorf("item %d: %+v, want %s %s", i, r, w.status, w.reason)
		}
	}
	if resp.Accepted != 2 || resp.Added != 2 || resp.Quarantined != 6 {
		t.Errorf("accepted %d added %d quarantined %d", resp.Accepted, resp.Added, resp.Quarantined)
	}
	incs, err := st.FindIncidents(ctx, geo.IncidentFilter{Source: m.ID})
	if err != nil || len(incs) != 2 {
		t.Fatalf("stored %d incidents (%v)", len(incs), err)
	}
	if incs[0].Kind != geo.KindOverdoseNonFatal || incs[0].Naloxone != 2 || incs[0].Agency != "BCFD" ||
		incs[1].Kind != geo.KindOverdoseFatal {
		t.Errorf("stored %+v / %+v", incs[0], incs[1])
	}
	// Sending the same batch again is idempotent.
	again, err := Push(ctx, st, city, m, body, Options{Logger: discard, Now: func() time.Time { return now }})
	if err != nil || again.Added != 0 || again.Unchanged != 2 {
		t.Errorf("re-push: %+v, %v", again, err)
	}
}

func asGeoError(err error, target **geo.Error) bool {
	e, ok := err.(*geo.Error)
	if ok {
		*target = e
	}
	return ok
}
