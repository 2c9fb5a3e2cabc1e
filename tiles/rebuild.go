package tiles

import (
	"context"
	"log/slog"
	"time"
)

// rebuildTimeout bounds one background rebuild; a store that hangs longer
// is treated as failed and the service falls back to rebuilding on demand.
const rebuildTimeout = 2 * time.Minute

// startRebuildLocked starts building version v's hex aggregates in the
// background. s.mu is held.
func (s *Service) startRebuildLocked(v int64) {
	type job struct {
		res int
		q   Query
	}
	var jobs []job
	for _, e := range s.hex {
		jobs = append(jobs, job{e.res, e.q})
	}
	s.rebuilding = true
	s.rebuilds.Add(1)
	go func() {
		defer s.rebuilds.Done()
		ctx, cancel := context.WithTimeout(context.Background(), rebuildTimeout)
		defer cancel()
		start := time.Now()
		next, end, err := func() (map[string]*hexEntry, time.Time, error) {
			end, err := s.queryDataEnd(ctx)
			if err != nil {
				return nil, end, err
			}
			next := make(map[string]*hexEntry, len(jobs))
			for _, j := range jobs {
				idx, err := s.buildHex(ctx, j.res, j.q, end)
				if err != nil {
					return nil, end, err
				}
				e := &hexEntry{version: v, res: j.res, q: j.q, idx: idx}
				e.once.Do(func() {}) // built: later callers must not build it again
				next[hexKey(j.res, j.q, end)] = e
			}
			return next, end, nil
		}()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.rebuilding = false
		s.switchLocked(v)
		if err != nil {
			// Requests rebuild on demand and report the store's error.
			s.cfg.Logger.Warn("tiles_rebuild_failed", slog.Int64("version", v), slog.Any("error", err))
			return
		}
		s.hex, s.dataEnd = next, &end
		s.cfg.Logger.Debug("tiles_rebuilt", slog.Int64("version", v), slog.Int("aggregates", len(next)),
			slog.Duration("duration", time.Since(start)))
	}()
}

// switchLocked makes v the served version and drops everything built for
// the previous one. s.mu is held.
func (s *Service) switchLocked(v int64) {
	s.cache.Purge()
	s.hex = map[string]*hexEntry{}
	clear(s.areas)
	clear(s.areaGeo)
	s.dataEnd = nil
	s.cfg.Logger.Debug("tiles_invalidated", slog.Int64("old_version", s.version), slog.Int64("version", v))
	s.version = v
}
