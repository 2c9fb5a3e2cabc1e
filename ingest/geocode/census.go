package geocode

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"hotspots/geo"
)

// CensusBatchPath is the batch endpoint below the Census geocoder's base URL.
const CensusBatchPath = "/geocoder/locations/addressbatch"

// censusMaxBatch is the service's limit on addresses per upload.
const censusMaxBatch = 10000

// Census geocodes with the US Census Bureau batch geocoder: a multipart CSV
// upload of `id,street,city,state,zip` rows answered by a CSV of
// `id,input,Match|No_Match|Tie,Exact|Non_Exact,matched address,"lon,lat",
// tiger line id,side`. It is the free fallback for cities without
// centerline data, and its TIGER ranges are an independent check on ours.
type Census struct {
	doer *httpDoer
	cfg  HTTPConfig
	// Benchmark is the Census address benchmark (default Public_AR_Current).
	Benchmark string
	// BatchSize caps rows per upload (at most 10,000).
	BatchSize int
}

// NewCensus returns a Census batch geocoder. cfg.BaseURL is the service
// root (the public one, or a test server).
func NewCensus(cfg HTTPConfig) (*Census, error) {
	d, cfg, err := newHTTPDoer(cfg)
	if err != nil {
		return nil, err
	}
	return &Census{doer: d, cfg: cfg, Benchmark: "Public_AR_Current", BatchSize: censusMaxBatch}, nil
}

// Geocode resolves one address with a one-row batch.
func (c *Census) Geocode(ctx context.Context, address string) (Result, error) {
	rs, err := c.GeocodeBatch(ctx, []string{address})
	if err != nil {
		return Result{}, err
	}
	return rs[0], nil
}

// GeocodeBatch uploads the addresses in chunks of BatchSize.
func (c *Census) GeocodeBatch(ctx context.Context, addresses []string) ([]Result, error) {
	out := make([]Result, len(addresses))
	size := min(max(c.BatchSize, 1), censusMaxBatch)
	for start := 0; start < len(addresses); start += size {
		end := min(start+size, len(addresses))
		if err := c.batch(ctx, addresses[start:end], out[start:end]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Census) batch(ctx context.Context, addresses []string, out []Result) error {
	var upload bytes.Buffer
	w := csv.NewWriter(&upload)
	for i, a := range addresses {
		if err := w.Write([]string{strconv.Itoa(i), a, c.cfg.City, c.cfg.State, c.cfg.Zip}); err != nil {
			return fmt.Errorf("geocode: census: encode: %w", err)
		}
	}
	w.Flush()
	body, err := c.doer.do(ctx, func(ctx context.Context) (*http.Request, error) {
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		if err := mw.WriteField("benchmark", c.Benchmark); err != nil {
			return nil, err
		}
		fw, err := mw.CreateFormFile("addressFile", "addresses.csv")
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(upload.Bytes()); err != nil {
			return nil, err
		}
		if err := mw.Close(); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.cfg.BaseURL, "/")+CensusBatchPath, &form)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return req, nil
	})
	if err != nil {
		return fmt.Errorf("geocode: census: %w", err)
	}
	seen := make([]bool, len(addresses))
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("geocode: census: response: %w", err)
		}
		i, err := strconv.Atoi(strings.TrimSpace(rec[0]))
		if err != nil || i < 0 || i >= len(addresses) {
			return geo.Errorf(geo.EINTERNAL, "geocode: census: response row with unknown id %q", rec[0])
		}
		out[i], seen[i] = censusResult(addresses[i], rec), true
	}
	for i, ok := range seen {
		if !ok {
			out[i] = unmatched("census returned no row")
		}
	}
	return nil
}

// censusResult maps one response row.
func censusResult(address string, rec []string) Result {
	field := func(i int) string {
		if i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	switch field(2) {
	case "Match":
	case "Tie":
		return Result{Precision: geo.PrecisionUnmatched, Ambiguous: true, Candidates: 2,
			Reason: geo.ReasonAmbiguousAddr, Detail: "census: tie"}
	default:
		return unmatched("census: %s", strings.ToLower(field(2)))
	}
	lon, lat, ok := strings.Cut(field(5), ",")
	x, err1 := strconv.ParseFloat(strings.TrimSpace(lon), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(lat), 64)
	if !ok || err1 != nil || err2 != nil {
		return unmatched("census: bad coordinates %q", field(5))
	}
	score := 1.0
	if field(3) != "Exact" {
		score = 0.8
	}
	return Result{
		Point:      orb.Point{x, y},
		Score:      score,
		Precision:  sourcePrecision(address, geo.PrecisionInterpolated),
		Matched:    field(4),
		Candidates: 1,
		Detail:     fmt.Sprintf("tiger line %s side %s", field(6), field(7)),
	}
}
