package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"hotspots/cities"
	"hotspots/geo"
)

// Push limits: a batch is what one agency reports in one call, not a
// backfill (backfills go through a file load).
const (
	PushMaxBytes = 4 << 20
	PushMaxItems = 5000
)

// PushBody is a batch of reports pushed by an agency (ODMAP-style: when,
// what, fatal or not, naloxone doses, where, who).
type PushBody struct {
	// Agency applies to items that do not name their own.
	Agency    string     `json:"agency"`
	Incidents []PushItem `json:"incidents"`
}

// PushItem is one pushed report. Pointers tell "absent" from zero.
type PushItem struct {
	// ID is the agency's own id; with the agency it is the idempotency key,
	// so re-sending a batch does not duplicate it.
	ID string `json:"id"`
	// Time is RFC 3339 (an offset is expected; without one the city's
	// zone applies).
	Time string `json:"time"`
	// Kind is "overdose" (fatal decides the kind) or a kind name such as
	// "overdose_suspected".
	Kind          string   `json:"kind"`
	Fatal         *bool    `json:"fatal"`
	NaloxoneDoses *int     `json:"naloxone_doses"`
	Lat           *float64 `json:"lat"`
	Lon           *float64 `json:"lon"`
	Address       string   `json:"address"`
	Agency        string   `json:"agency"`
}

// pushColumns is the row layout pushed items become, the columns the push
// mapping names.
var pushColumns = NewHeader([]string{"id", "time", "kind", "fatal", "naloxone_doses", "lat", "lon", "address", "agency"})

// Push statuses of one item.
const (
	PushAccepted    = "accepted"
	PushQuarantined = "quarantined"
)

// PushResult is what became of one item, in request order.
type PushResult struct {
	Index  int        `json:"index"`
	ID     string     `json:"id,omitempty"`
	Status string     `json:"status"`
	Reason geo.Reason `json:"reason,omitempty"`
	Detail string     `json:"detail,omitempty"`
}

// PushResponse answers a push: counts and one result per item.
type PushResponse struct {
	Source      string       `json:"source"`
	LoadID      int64        `json:"load_id"`
	Accepted    int          `json:"accepted"`
	Quarantined int          `json:"quarantined"`
	Added       int          `json:"added"`
	Changed     int          `json:"changed"`
	Unchanged   int          `json:"unchanged"`
	Results     []PushResult `json:"results"`
}

// ParsePush decodes a push body strictly: unknown members anywhere are
// errors naming the member ("incidents[3].doses"), as are wrong types, a
// body over PushMaxBytes and more than PushMaxItems items. Errors are
// geo.Errors (EINVALID with the field, or ETOOLARGE), for the API to map.
func ParsePush(r io.Reader) (PushBody, error) {
	b, err := io.ReadAll(io.LimitReader(r, PushMaxBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return PushBody{}, geo.Errorf(geo.ETOOLARGE, "body larger than %d bytes", PushMaxBytes)
		}
		return PushBody{}, fmt.Errorf("read push body: %w", err)
	}
	if len(b) > PushMaxBytes {
		return PushBody{}, geo.Errorf(geo.ETOOLARGE, "body larger than %d bytes", PushMaxBytes)
	}
	var top struct {
		Agency    string            `json:"agency"`
		Incidents []json.RawMessage `json:"incidents"`
	}
	if err := strictDecode(b, &top); err != nil {
		return PushBody{}, fieldError("", err)
	}
	if top.Incidents == nil {
		return PushBody{}, geo.FieldErrorf("incidents", "incidents is required (an array of reports)")
	}
	if len(top.Incidents) > PushMaxItems {
		return PushBody{}, geo.Errorf(geo.ETOOLARGE, "%d incidents in one push; at most %d", len(top.Incidents), PushMaxItems)
	}
	body := PushBody{Agency: top.Agency, Incidents: make([]PushItem, len(top.Incidents))}
	for i, raw := range top.Incidents {
		if err := strictDecode(raw, &body.Incidents[i]); err != nil {
			return PushBody{}, fieldError(fmt.Sprintf("incidents[%d]", i), err)
		}
	}
	return body, nil
}

// strictDecode decodes one JSON value into v, rejecting unknown fields and
// trailing data.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// fieldError turns a decoding error into an EINVALID error naming the
// offending field under prefix.
func fieldError(prefix string, err error) error {
	join := func(f string) string {
		if prefix == "" {
			return f
		}
		if f == "" {
			return prefix
		}
		return prefix + "." + f
	}
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		return geo.FieldErrorf(join(ute.Field), "%s must be %s, not JSON %s", join(ute.Field), ute.Type, ute.Value)
	case errors.As(err, &se):
		return geo.FieldErrorf(join(""), "invalid JSON at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return geo.FieldErrorf(join(name), "unknown field %q", join(name))
	case errors.Is(err, io.EOF):
		return geo.FieldErrorf(join(""), "empty body")
	}
	return geo.FieldErrorf(join(""), "%v", err)
}

// record turns an item into a row of the push layout.
func (it *PushItem) record(i int, agency string) Record {
	vals := make([]string, len(pushColumns.Names))
	vals[0], vals[1], vals[2] = strings.TrimSpace(it.ID), it.Time, it.Kind
	if it.Fatal != nil {
		vals[3] = strconv.FormatBool(*it.Fatal)
	}
	if it.NaloxoneDoses != nil {
		vals[4] = strconv.Itoa(*it.NaloxoneDoses)
	}
	if it.Lat != nil {
		vals[5] = strconv.FormatFloat(*it.Lat, 'f', -1, 64)
	}
	if it.Lon != nil {
		vals[6] = strconv.FormatFloat(*it.Lon, 'f', -1, 64)
	}
	vals[7] = it.Address
	vals[8] = agency
	if it.Agency != "" {
		vals[8] = it.Agency
	}
	return Record{Line: i + 1, Header: pushColumns, Values: vals}
}

// Push validates, stores and quarantines one pushed batch as one load of
// the push source, and says per item what happened. Items go through the
// push mapping like rows of any feed, so a pushed overdose at (0, 0) or in
// the next county is quarantined with the same reasons.
func Push(ctx context.Context, st geo.Store, city *cities.City, m *Mapping, body PushBody, opts Options) (PushResponse, error) {
	opts.defaults()
	resp := PushResponse{Source: m.ID, Results: make([]PushResult, len(body.Incidents))}
	if m.Format != FormatPush {
		return resp, geo.Errorf(geo.EINVALID, "source %s is not a push source", m.ID)
	}
	if opts.Areas == nil {
		idx, err := LoadAreaIndex(ctx, st)
		if err != nil {
			return resp, err
		}
		opts.Areas = idx
	}
	t := newTransformer(m, city, opts.Areas, opts.Geocoder, opts.Kinds, opts.Now())
	var (
		incs []geo.Incident
		quar []geo.QuarantinedRow
		seen = map[string]int{}
	)
	for i := range body.Incidents {
		it := &body.Incidents[i]
		rec := it.record(i, body.Agency)
		o := t.apply(ctx, &rec)
		res := PushResult{Index: i, ID: it.ID}
		if o.filtered != "" {
			o.quarantine(geo.ReasonUnknownKind, "kind %q is not accepted by %s", it.Kind, m.ID)
		}
		if o.reason == "" {
			if prev, dup := seen[o.key]; dup {
				o.quarantine(geo.ReasonBadRow, "id repeats item %d of this batch", prev)
			}
		}
		if o.reason != "" {
			res.Status, res.Reason, res.Detail = PushQuarantined, o.reason, o.detail
			quar = append(quar, geo.QuarantinedRow{Source: m.ID, RowKey: o.key, Reason: o.reason, Detail: o.detail, Raw: o.raw})
			resp.Quarantined++
		} else {
			seen[o.key] = i
			res.Status = PushAccepted
			incs = append(incs, o.inc)
			resp.Accepted++
		}
		resp.Results[i] = res
	}
	l, err := st.StartLoad(ctx, m.ID)
	if err != nil {
		return resp, fmt.Errorf("push %s: start load: %w", m.ID, err)
	}
	resp.LoadID = l.ID
	for i := range quar {
		quar[i].LoadID = l.ID
	}
	runErr := func() error {
		if len(incs) > 0 {
			res, err := st.UpsertIncidents(ctx, l.ID, incs)
			if err != nil {
				return fmt.Errorf("upsert: %w", err)
			}
			resp.Added, resp.Changed, resp.Unchanged = res.Added, res.Changed, res.Unchanged
			if opts.AfterUpsert != nil {
				opts.AfterUpsert(ctx, incs)
			}
		}
		if len(quar) > 0 {
			if err := st.QuarantineRows(ctx, quar); err != nil {
				return fmt.Errorf("quarantine: %w", err)
			}
		}
		return nil
	}()
	l.RowsRead, l.Added, l.Changed, l.Unchanged, l.Quarantined = len(body.Incidents), resp.Added, resp.Changed, resp.Unchanged, resp.Quarantined
	l.Status = geo.LoadDone
	if runErr != nil {
		l.Status, l.Error = geo.LoadFailed, runErr.Error()
	}
	fin := opts.Now()
	l.FinishedAt = &fin
	if err := st.FinishLoad(context.WithoutCancel(ctx), l); err != nil && runErr == nil {
		runErr = fmt.Errorf("finish load: %w", err)
	}
	if opts.Observer != nil {
		opts.Observer.LoadFinished(pushSummary(m.ID, l.ID, &resp, quar), runErr)
	}
	if runErr != nil {
		return resp, fmt.Errorf("push %s: %w", m.ID, runErr)
	}
	opts.Logger.Info("push_done", slog.String("source", m.ID), slog.Int64("load_id", l.ID),
		slog.Int("accepted", resp.Accepted), slog.Int("quarantined", resp.Quarantined))
	return resp, nil
}

// pushSummary is a push told as a load, so observers count pushed and
// loaded rows alike.
func pushSummary(source string, loadID int64, resp *PushResponse, quar []geo.QuarantinedRow) *Summary {
	s := newSummary(source)
	s.LoadID, s.RowsRead = loadID, len(resp.Results)
	s.Incidents, s.Added, s.Changed, s.Unchanged = resp.Accepted, resp.Added, resp.Changed, resp.Unchanged
	s.Quarantined = resp.Quarantined
	for _, q := range quar {
		s.ByReason[q.Reason]++
	}
	return &s
}

// PushMapping returns the city's push source: the one named id, or the
// only push mapping when id is empty.
func PushMapping(city *cities.City, id string) (*Mapping, error) {
	ms, err := CityMappings(city)
	if err != nil {
		return nil, err
	}
	var found []*Mapping
	for _, m := range ms {
		if m.Format == FormatPush && (id == "" || m.ID == id) {
			found = append(found, m)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) == 0 && id != "":
		return nil, geo.Errorf(geo.ENOTFOUND, "no push source %q in city %s", id, city.Slug)
	case len(found) == 0:
		return nil, geo.Errorf(geo.ENOTFOUND, "city %s has no push source", city.Slug)
	}
	return nil, geo.FieldErrorf("source", "city %s has several push sources; name one with ?source=", city.Slug)
}
