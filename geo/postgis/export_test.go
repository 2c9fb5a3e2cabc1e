package postgis

// SecondaryIndexNames are the names of the indexes a bulk load drops.
func SecondaryIndexNames() []string {
	out := make([]string, len(secondaryIndexes))
	for i, ix := range secondaryIndexes {
		out[i] = ix.name
	}
	return out
}

// AreaDeltasApplied reports how many finished loads added their own area
// month sums instead of leaving their months to the refresh.
func (db *DB) AreaDeltasApplied() int64 { return db.areaApplies.Load() }
