package geocode

import (
	"math"
	"strconv"
)

// repairRanges fixes the typo'd ranges found in the DOT data (KERMIT CT 2400
// block with toaddr 22498, an alley with toaddr 20320 or fraddr 4010000): a
// side is suspect when it spans more than two blocks at an implausible
// density of house numbers per metre. Digits are dropped from the endpoint
// farther from the block when that yields a plausible range; otherwise the
// endpoint is clamped to the other endpoint's block, in the written direction. Segments with all ranges zero but a
// known block number get that block as a block-only range.
func repairRanges(s *segment) bool {
	repaired := false
	for i := range s.ranges {
		r := &s.ranges[i]
		if r.empty() || !suspectRange(*r, s.block, s.length) {
			continue
		}
		*r = fixRange(*r, s.block, s.length)
		repaired = true
	}
	s.lo, s.hi = math.MaxInt32, -1
	for _, r := range s.ranges {
		if r.empty() {
			continue
		}
		s.lo, s.hi = min(s.lo, r.lo()), max(s.hi, r.hi())
	}
	if s.hi < 0 && s.block >= 0 {
		s.blockOnly = true
		s.lo, s.hi = s.block, s.block+99
		s.ranges[0] = addrRange{s.block, s.block + 99}
	}
	return repaired
}

// plausibleSpan is the widest range a segment of the given length can carry:
// Baltimore blocks run about 100 numbers per 80-150 m, so three numbers per
// metre with a floor of two blocks leaves room for short dense blocks.
func plausibleSpan(length float64) int32 {
	return int32(max(200, 3*length))
}

func suspectRange(r addrRange, block int32, length float64) bool {
	span := r.hi() - r.lo()
	if span > plausibleSpan(length) {
		return true
	}
	// A range nowhere near its own block number (1431-143 on a 1400 block).
	return block > 0 && (r.hi() < block-100 || r.lo() > block+2*plausibleSpan(length))
}

func fixRange(r addrRange, block int32, length float64) addrRange {
	anchor := block
	if anchor < 0 {
		anchor = min(r.from, r.to)
	}
	// The endpoint farther from the block is the typo.
	badIsTo := abs32(r.to-anchor) >= abs32(r.from-anchor)
	good, bad := r.from, r.to
	if !badIsTo {
		good, bad = r.to, r.from
	}
	// Typos insert digits. Try deleting a run of one to three digits and
	// keep a plausible result in the good endpoint's hundred-block, the
	// widest such range, as it loses the fewest real addresses (22498 on a
	// 2400 block becomes 2498, 20320 on a 2000 block 2032).
	best, bestSpan := int32(-1), int32(-1)
	digits := strconv.Itoa(int(bad))
	for run := 1; run <= 3; run++ {
		for i := 0; i+run <= len(digits) && run < len(digits); i++ {
			c, err := strconv.Atoi(digits[:i] + digits[i+run:])
			if err != nil || int32(c)%2 != good%2 || int32(c)/100 != good/100 {
				continue
			}
			cand := addrRange{good, int32(c)}
			if !badIsTo {
				cand = addrRange{int32(c), good}
			}
			if suspectRange(cand, block, length) {
				continue
			}
			if d := abs32(int32(c) - good); d > bestSpan {
				best, bestSpan = int32(c), d
			}
		}
	}
	if best < 0 {
		// Clamp to the good endpoint's block, keeping its parity.
		base := good / 100 * 100
		best = base + 98 + good%2
		if bad < good {
			best = base + good%2
		}
	}
	if badIsTo {
		return addrRange{good, best}
	}
	return addrRange{best, good}
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}
