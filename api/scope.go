package api

import (
	"context"

	"hotspots/geo"
)

// cellInScope refuses an outreach key limited to areas the series of a
// cell whose centre lies outside all of them, as the area series and
// indicators refuse other areas.
func (h *mapHandler) cellInScope(ctx context.Context, p geo.Principal, cell geo.Cell) error {
	if p.Role != geo.RoleOutreach || len(p.Areas) == 0 {
		return nil
	}
	areas, err := geo.GrantedAreas(ctx, h.s.cfg.Store.Areas, p.Areas)
	if err != nil {
		return err
	}
	if geo.ContainsPoint(areas, cell.Center()) {
		return nil
	}
	return geo.Errorf(geo.EFORBIDDEN, "cell %s is outside your team's areas", cell)
}
