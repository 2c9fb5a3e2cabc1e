package tiles

import (
	"fmt"
	"os"
	"testing"
)

// BenchmarkGzipTile compares the two gzip encoders on the golden hex tiles
// (2.5, 8.9 and 12.2 KB), reporting the output size as a share of the
// input: the figures behind GzipFixedMaxBytes.
func BenchmarkGzipTile(b *testing.B) {
	for _, name := range []string{"14-4705-6244", "13-2352-3122", "11-588-780"} {
		raw, err := os.ReadFile("testdata/" + name + ".mvt")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/fixed", name), func(b *testing.B) {
			var out []byte
			for b.Loop() {
				out = appendGzipFixed(out[:0], raw)
			}
			b.ReportMetric(float64(len(out))/float64(len(raw)), "ratio")
		})
		b.Run(fmt.Sprintf("%s/klauspost", name), func(b *testing.B) {
			var out []byte
			for b.Loop() {
				if out, err = Gzip(raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(out))/float64(len(raw)), "ratio")
		})
	}
}
