package postgis

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
)

// Incidents go to COPY in PostgreSQL's binary format, encoded here rather
// than by pgx's CopyFrom: that one takes every row as a []any and looks up
// an encode plan per value, which was a sixth of a million-row load's Go
// time. The format is fixed by the column list (writeColumns), so each row
// is a run of appends into one buffer that is sent as it is.

// copyHeader starts a binary COPY stream: signature, flags, no extension.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// textOID is the element type of the flags text[] column.
const textOID = 25

// pgEpoch is PostgreSQL's zero for timestamps and dates.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// copyBufs reuses the batch buffers (a 4,000-row batch is about 1.5 MB).
var copyBufs = sync.Pool{New: func() any { return new([]byte) }}

// copyIncidents COPYs the picked staged incidents into table in
// writeColumns order, preceded by the stored id when ids is set, and
// returns the number of rows written.
func copyIncidents(ctx context.Context, tx pgx.Tx, table string, rows []staged, pick []int, ids []int64, now time.Time) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	b := append((*bp)[:0], copyHeader...)
	for i, p := range pick {
		var id *int64
		if ids != nil {
			id = &ids[i]
		}
		b = appendIncidentRow(b, &rows[p], id, now)
	}
	b = binary.BigEndian.AppendUint16(b, 0xffff) // trailer: -1 fields
	*bp = b
	cols := writeColumns
	if ids != nil {
		cols = append([]string{"id"}, cols...)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	sql := "COPY " + pgx.Identifier{table}.Sanitize() + " (" + strings.Join(quoted, ", ") + ") FROM STDIN (FORMAT binary)"
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, &byteReader{b: b}, sql)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// byteReader is bytes.Reader without its bookkeeping for seeking.
type byteReader struct{ b []byte }

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// appendIncidentRow appends one row of writeColumns (after id, when not
// nil) in binary COPY format.
func appendIncidentRow(b []byte, s *staged, id *int64, now time.Time) []byte {
	inc := &s.inc
	n := uint16(len(writeColumns))
	if id != nil {
		n++
	}
	b = binary.BigEndian.AppendUint16(b, n)
	if id != nil {
		b = appendInt8(b, *id)
	}
	b = appendText(b, inc.Source)
	b = appendText(b, inc.SourceID)
	b = appendText(b, string(inc.Kind))
	b = appendTimestamptz(b, inc.OccurredAt)
	b = appendBool(b, inc.TimeKnown)
	b = appendDate(b, inc.Day)
	if inc.Location == (orb.Point{}) {
		b = appendNull(b)
	} else {
		b = binary.BigEndian.AppendUint32(b, pointEWKBLen)
		b = appendPointEWKB(b, inc.Location)
	}
	b = appendText(b, string(inc.Precision))
	b = appendText(b, inc.Address)
	b = appendInt4(b, int32(inc.Victims))
	b = appendInt4(b, int32(inc.Naloxone))
	b = appendText(b, inc.Agency)
	b = appendInt8(b, int64(inc.Cell))
	// jsonb: a version byte, then the JSON text.
	b, at := beginField(b)
	b = append(b, 1)
	if s.areas != nil {
		b = append(b, s.areas...)
	} else {
		b = appendAreasJSON(b, inc.Areas)
	}
	b = endField(b, at)
	b = appendTextArray(b, inc.Flags)
	// raw is json (migration 00006): its binary form is the JSON text
	// itself, which PostgreSQL validates and stores as sent.
	if inc.Raw == nil {
		b = appendNull(b)
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(len(inc.Raw)))
		b = append(b, inc.Raw...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.hash)))
	b = append(b, s.hash...)
	b = appendTimestamptz(b, now)
	return appendTimestamptz(b, now)
}

// beginField reserves a field's length word; endField fills it in.
func beginField(b []byte) ([]byte, int) {
	return append(b, 0, 0, 0, 0), len(b) + 4
}

func endField(b []byte, at int) []byte {
	binary.BigEndian.PutUint32(b[at-4:at], uint32(len(b)-at))
	return b
}

func appendNull(b []byte) []byte { return binary.BigEndian.AppendUint32(b, 0xffffffff) }

func appendText(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	b = binary.BigEndian.AppendUint32(b, 1)
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendInt4(b []byte, v int32) []byte {
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}

func appendInt8(b []byte, v int64) []byte {
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

// appendTimestamptz writes microseconds since 2000-01-01 UTC, truncated as
// pgx truncates them.
func appendTimestamptz(b []byte, t time.Time) []byte {
	us := t.Unix()*1e6 + int64(t.Nanosecond())/1000 - pgEpoch.Unix()*1e6
	return appendInt8(b, us)
}

// appendDate writes the calendar date of t (in t's location, as pgx does)
// as days since 2000-01-01.
func appendDate(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	days := (time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() - pgEpoch.Unix()) / 86400
	return appendInt4(b, int32(days))
}

// appendTextArray writes a one-dimensional text[] without NULLs; empty
// (and nil) is the zero-dimensional empty array.
func appendTextArray(b []byte, vs []string) []byte {
	b, at := beginField(b)
	if len(vs) == 0 {
		b = binary.BigEndian.AppendUint32(b, 0) // dimensions
		b = binary.BigEndian.AppendUint32(b, 0) // has nulls
		b = binary.BigEndian.AppendUint32(b, textOID)
		return endField(b, at)
	}
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, textOID)
	b = binary.BigEndian.AppendUint32(b, uint32(len(vs)))
	b = binary.BigEndian.AppendUint32(b, 1) // lower bound
	for _, v := range vs {
		b = appendText(b, v)
	}
	return endField(b, at)
}

// pointEWKBLen is the size of a 2D point's EWKB with an SRID.
const pointEWKBLen = 25

// appendPointEWKB appends p as little-endian EWKB with SRID 4326, the
// bytes pointEWKB makes, without building a geometry first.
func appendPointEWKB(b []byte, p orb.Point) []byte {
	b = append(b, 1) // little endian
	b = binary.LittleEndian.AppendUint32(b, 1|0x20000000)
	b = binary.LittleEndian.AppendUint32(b, srid)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Lon()))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Lat()))
}

// checkCopied reports a COPY that wrote fewer rows than it was given.
func checkCopied(what string, n int64, want int) error {
	if int(n) != want {
		return fmt.Errorf("%s: %d of %d written", what, n, want)
	}
	return nil
}
