package ingest

import (
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress reports how far a load is. On a terminal it draws a bar (bytes
// of a file when its size is known, else a row counter); elsewhere (CI,
// docker logs, cron) it writes one slog line every few seconds, since
// redrawn bars turn log files into noise.
type Progress struct {
	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	log     *slog.Logger
	label   string
	total   int64
	bytes   int64
	rows    int
	last    time.Time
	every   time.Duration
	started time.Time
}

// NewProgress returns a progress reporter writing to w. total is the input
// size in bytes, or -1 when unknown.
func NewProgress(w io.Writer, label string, total int64, logger *slog.Logger) *Progress {
	if logger == nil {
		logger = slog.Default()
	}
	p := &Progress{log: logger, label: label, total: total, every: 5 * time.Second, started: time.Now()}
	p.last = p.started
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100 * time.Millisecond),
			progressbar.OptionClearOnFinish(),
		}
		if total > 0 {
			opts = append(opts, progressbar.OptionShowBytes(true))
		} else {
			opts = append(opts, progressbar.OptionSpinnerType(14), progressbar.OptionSetItsString("rows"), progressbar.OptionShowIts())
		}
		p.bar = progressbar.NewOptions64(total, opts...)
	}
	return p
}

// Reader wraps r so that bytes read advance the bar.
func (p *Progress) Reader(r io.Reader) io.Reader {
	if p == nil || p.total <= 0 {
		return r
	}
	return &countingReader{r: r, p: p}
}

type countingReader struct {
	r io.Reader
	p *Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.p.addBytes(int64(n))
	}
	return n, err
}

func (p *Progress) addBytes(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes += n
	if p.bar != nil {
		_ = p.bar.Add64(n)
	}
}

// Rows counts rows read; it is the Options.Progress callback.
func (p *Progress) Rows(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rows += n
	if p.bar != nil {
		if p.total <= 0 {
			_ = p.bar.Add(n)
		}
		return
	}
	if now := time.Now(); now.Sub(p.last) >= p.every {
		p.last = now
		attrs := []any{slog.String("source", p.label), slog.Int("rows", p.rows),
			slog.Float64("rows_per_s", float64(p.rows)/now.Sub(p.started).Seconds())}
		if p.total > 0 {
			attrs = append(attrs, slog.Int64("bytes", p.bytes), slog.Int64("total_bytes", p.total))
		}
		p.log.Info("ingest_progress", attrs...)
	}
}

// Finish clears the bar.
func (p *Progress) Finish() {
	if p == nil || p.bar == nil {
		return
	}
	_ = p.bar.Finish()
}
