package postgis

// SecondaryIndexNames are the names of the indexes a bulk load drops.
func SecondaryIndexNames() []string {
	out := make([]string, len(secondaryIndexes))
	for i, ix := range secondaryIndexes {
		out[i] = ix.name
	}
	return out
}
