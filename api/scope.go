package api

import (
	"context"
	"slices"
	"strings"

	"github.com/paulmach/orb/planar"

	"hotspots/geo"
)

// cellInScope refuses an outreach key limited to areas the series of a
// cell whose centre lies outside all of them, as the area series and
// indicators refuse other areas.
func (h *mapHandler) cellInScope(ctx context.Context, p geo.Principal, cell geo.Cell) error {
	if p.Role != geo.RoleOutreach || len(p.Areas) == 0 {
		return nil
	}
	centre := cell.Center()
	byLayer := map[string][]string{}
	for _, a := range p.Areas {
		layer, code, _ := strings.Cut(a, ":")
		byLayer[layer] = append(byLayer[layer], code)
	}
	for layer, codes := range byLayer {
		areas, err := h.s.cfg.Store.Areas(ctx, layer)
		if geo.ErrorCode(err) == geo.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		for _, a := range areas {
			if slices.Contains(codes, a.Code) && planar.MultiPolygonContains(a.Geometry, centre) {
				return nil
			}
		}
	}
	return geo.Errorf(geo.EFORBIDDEN, "cell %s is outside your team's areas", cell)
}
