package spatial

import (
	"math"

	"hotspots/geo"
)

// EarthRadiusM is the sphere radius, in metres, distances are measured on:
// H3's authalic Earth radius, so a band distance agrees with H3's own
// great-circle distance.
const EarthRadiusM = 6371007.180918475

// DistanceBand builds the fixed-distance-band graph: two study cells are
// neighbours when the great-circle distance between their centres is at most
// metres (ArcGIS's "fixed distance" conceptualisation with binary weights).
// Cells must be valid, distinct and of one resolution.
//
// Pairs are found by hashing cell centres into cubes on the unit sphere's
// 3-D embedding, whose side is the chord of the band: any pair within the
// band lies in adjacent cubes, so the search is exact and works at any
// latitude, including across the antimeridian.
func DistanceBand(cells []geo.Cell, metres float64) (*Graph, error) {
	if !(metres > 0) || math.IsInf(metres, 0) {
		return nil, geo.Errorf(geo.EINVALID, "graph: distance band %g m, want a positive finite distance", metres)
	}
	if _, err := checkCells(cells); err != nil {
		return nil, err
	}
	pts := make([][3]float64, len(cells))
	for i, c := range cells {
		p := c.Center() // lon, lat in degrees
		pts[i] = unitVector(p.Lat(), p.Lon())
	}
	theta := metres / EarthRadiusM // band as a central angle
	if theta >= math.Pi {
		theta = math.Pi
	}
	// cube side: the chord of the band, slightly enlarged so rounding in the
	// embedding can never split a qualifying pair across non-adjacent cubes
	side := 2*math.Sin(theta/2)*(1+1e-9) + 1e-12
	buckets := map[[3]int64][]int32{}
	key := func(p [3]float64) [3]int64 {
		return [3]int64{int64(math.Floor(p[0] / side)), int64(math.Floor(p[1] / side)), int64(math.Floor(p[2] / side))}
	}
	for i, p := range pts {
		k := key(p)
		buckets[k] = append(buckets[k], int32(i))
	}
	var edges []Edge
	for i, p := range pts {
		k := key(p)
		for dx := int64(-1); dx <= 1; dx++ {
			for dy := int64(-1); dy <= 1; dy++ {
				for dz := int64(-1); dz <= 1; dz++ {
					for _, j := range buckets[[3]int64{k[0] + dx, k[1] + dy, k[2] + dz}] {
						if int(j) > i && centralAngle(p, pts[j]) <= theta {
							edges = append(edges, Edge{i, int(j)})
						}
					}
				}
			}
		}
	}
	return NewGraph(len(cells), edges)
}

// GreatCircleM is the great-circle distance in metres between two points
// given as latitude and longitude in degrees, on the EarthRadiusM sphere.
func GreatCircleM(lat1, lon1, lat2, lon2 float64) float64 {
	return centralAngle(unitVector(lat1, lon1), unitVector(lat2, lon2)) * EarthRadiusM
}

func unitVector(latDeg, lonDeg float64) [3]float64 {
	lat, lon := latDeg*math.Pi/180, lonDeg*math.Pi/180
	return [3]float64{math.Cos(lat) * math.Cos(lon), math.Cos(lat) * math.Sin(lon), math.Sin(lat)}
}

// centralAngle is the angle between two unit vectors, by atan2 of the cross
// and dot products, which is accurate for tiny and near-antipodal angles alike.
func centralAngle(a, b [3]float64) float64 {
	cx := a[1]*b[2] - a[2]*b[1]
	cy := a[2]*b[0] - a[0]*b[2]
	cz := a[0]*b[1] - a[1]*b[0]
	dot := a[0]*b[0] + a[1]*b[1] + a[2]*b[2]
	return math.Atan2(math.Sqrt(cx*cx+cy*cy+cz*cz), dot)
}
