package geo

import "hash/fnv"

// UpsertBuckets is how many lock buckets a store splits each source's keys
// into. A store serialises upserts that share a (source, bucket), so the
// rows of one key are always applied in order, while upserts whose keys
// fall in different buckets may run side by side.
const UpsertBuckets = 16

// UpsertBucket returns the lock bucket of an incident key. A writer that
// wants concurrent upserts of one source sends each batch with keys from
// one class of UpsertBucket modulo its lane count (a divisor of
// UpsertBuckets), so batches of different lanes never wait for each other.
func UpsertBucket(source, sourceID string) int {
	h := fnv.New32a()
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(sourceID))
	return int(h.Sum32() % UpsertBuckets)
}
