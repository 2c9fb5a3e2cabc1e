package evaluate

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strings"
)

// Plot layout, in pixels. Text is drawn with a built-in 3x5 font scaled by
// fontScale, so the plot needs nothing beyond the standard library.
const (
	fontScale = 2
	charW     = 4 * fontScale
	rowH      = 34
	labelW    = 150
	panelW    = 240
	gap       = 30
	plotW     = labelW + 3*(panelW+gap) + 20
)

var (
	white = color.RGBA{255, 255, 255, 255}
	ink   = color.RGBA{30, 30, 30, 255}
	grid  = color.RGBA{220, 220, 220, 255}
	// one colour per measure
	barColours = [3]color.RGBA{{46, 125, 50, 255}, {21, 101, 192, 255}, {198, 40, 40, 255}}
)

// WritePNG draws the results as a PNG: per background, one row per
// detector with three bar panels, sensitivity (0-100%), median days to
// detection (0 to duration plus lag) and false alarms per month (0 to the
// largest), each bar labelled with its value.
func WritePNG(w io.Writer, results ...*Result) error {
	h := 20
	for _, r := range results {
		h += 70 + rowH*len(r.Rows)
	}
	img := image.NewRGBA(image.Rect(0, 0, plotW, h))
	draw.Draw(img, img.Bounds(), &image.Uniform{white}, image.Point{}, draw.Src)
	y := 15
	for _, r := range results {
		o := r.Options
		text(img, 10, y, fmt.Sprintf("%s: %d outbreaks, %d cases, %.0f m, %d days", r.Background, o.Trials, o.Size, o.RadiusM, o.Duration), ink)
		y += 25
		maxDays := float64(o.Duration + o.Lag)
		maxFA := 1.0
		for _, row := range r.Rows {
			maxFA = math.Max(maxFA, row.FalseAlarmsPerMonth)
		}
		heads := []string{"sensitivity", "median days", "false alarms/month"}
		for p, hd := range heads {
			text(img, labelW+p*(panelW+gap), y, hd, barColours[p])
		}
		y += 20
		for _, row := range r.Rows {
			text(img, 10, y+8, row.Detector, ink)
			vals := [3]float64{row.Sensitivity, row.MedianDays, row.FalseAlarmsPerMonth}
			tops := [3]float64{1, maxDays, maxFA}
			labels := [3]string{fmt.Sprintf("%.0f%%", 100*row.Sensitivity), "-", fmt.Sprintf("%.1f", row.FalseAlarmsPerMonth)}
			if !math.IsNaN(row.MedianDays) {
				labels[1] = fmt.Sprintf("%.1f", row.MedianDays)
			}
			for p := range 3 {
				x0 := labelW + p*(panelW+gap)
				fill(img, image.Rect(x0, y, x0+panelW, y+rowH-8), grid)
				if v := vals[p]; !math.IsNaN(v) && tops[p] > 0 {
					bw := int(math.Round(math.Min(1, v/tops[p]) * float64(panelW)))
					fill(img, image.Rect(x0, y, x0+bw, y+rowH-8), barColours[p])
				}
				text(img, x0+4, y+8, labels[p], ink)
			}
			y += rowH
		}
		y += 25
	}
	return png.Encode(w, img)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

// text draws s (upper-cased) with its top-left corner at x, y.
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, ch := range strings.ToUpper(s) {
		g, ok := glyphs[ch]
		if !ok {
			g = glyphs['?']
		}
		for row, bits := range g {
			for col := range 3 {
				if bits[col] != '#' {
					continue
				}
				fill(img, image.Rect(x+col*fontScale, y+row*fontScale, x+(col+1)*fontScale, y+(row+1)*fontScale), c)
			}
		}
		x += charW
	}
}

// glyphs is a 3x5 pixel font: enough for detector names, numbers and
// titles.
var glyphs = map[rune][5]string{
	'A': {".#.", "#.#", "###", "#.#", "#.#"}, 'B': {"##.", "#.#", "##.", "#.#", "##."},
	'C': {".##", "#..", "#..", "#..", ".##"}, 'D': {"##.", "#.#", "#.#", "#.#", "##."},
	'E': {"###", "#..", "##.", "#..", "###"}, 'F': {"###", "#..", "##.", "#..", "#.."},
	'G': {".##", "#..", "#.#", "#.#", ".##"}, 'H': {"#.#", "#.#", "###", "#.#", "#.#"},
	'I': {"###", ".#.", ".#.", ".#.", "###"}, 'J': {"..#", "..#", "..#", "#.#", ".#."},
	'K': {"#.#", "#.#", "##.", "#.#", "#.#"}, 'L': {"#..", "#..", "#..", "#..", "###"},
	'M': {"#.#", "###", "###", "#.#", "#.#"}, 'N': {"##.", "#.#", "#.#", "#.#", "#.#"},
	'O': {".#.", "#.#", "#.#", "#.#", ".#."}, 'P': {"##.", "#.#", "##.", "#..", "#.."},
	'Q': {".#.", "#.#", "#.#", "##.", ".##"}, 'R': {"##.", "#.#", "##.", "#.#", "#.#"},
	'S': {".##", "#..", ".#.", "..#", "##."}, 'T': {"###", ".#.", ".#.", ".#.", ".#."},
	'U': {"#.#", "#.#", "#.#", "#.#", "###"}, 'V': {"#.#", "#.#", "#.#", "#.#", ".#."},
	'W': {"#.#", "#.#", "###", "###", "#.#"}, 'X': {"#.#", "#.#", ".#.", "#.#", "#.#"},
	'Y': {"#.#", "#.#", ".#.", ".#.", ".#."}, 'Z': {"###", "..#", ".#.", "#..", "###"},
	'0': {"###", "#.#", "#.#", "#.#", "###"}, '1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"##.", "..#", ".#.", "#..", "###"}, '3': {"##.", "..#", ".#.", "..#", "##."},
	'4': {"#.#", "#.#", "###", "..#", "..#"}, '5': {"###", "#..", "##.", "..#", "##."},
	'6': {".##", "#..", "###", "#.#", "###"}, '7': {"###", "..#", ".#.", ".#.", ".#."},
	'8': {"###", "#.#", "###", "#.#", "###"}, '9': {"###", "#.#", "###", "..#", "##."},
	' ': {"...", "...", "...", "...", "..."}, '.': {"...", "...", "...", "...", ".#."},
	',': {"...", "...", "...", ".#.", "#.."}, ':': {"...", ".#.", "...", ".#.", "..."},
	'%': {"#.#", "..#", ".#.", "#..", "#.#"}, '/': {"..#", "..#", ".#.", "#..", "#.."},
	'-': {"...", "...", "###", "...", "..."}, '_': {"...", "...", "...", "...", "###"},
	'(': {".#.", "#..", "#..", "#..", ".#."}, ')': {".#.", "..#", "..#", "..#", ".#."},
	'+': {"...", ".#.", "###", ".#.", "..."}, '*': {"#.#", ".#.", "#.#", "...", "..."},
	'?': {"##.", "..#", ".#.", "...", ".#."},
}
