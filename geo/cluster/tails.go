package cluster

import "math"

// poissonTail returns P(Y >= k) for Y ~ Poisson(lam), accurate in relative
// terms far into the upper tail: above the mean it sums the tail terms
// outward from k, below it subtracts the (then small) lower sum from 1.
func poissonTail(k int64, lam float64) float64 {
	switch {
	case k <= 0:
		return 1
	case lam <= 0:
		return 0
	}
	logTerm := func(j int64) float64 {
		lg, _ := math.Lgamma(float64(j) + 1)
		return -lam + float64(j)*math.Log(lam) - lg
	}
	if float64(k) > lam {
		term := math.Exp(logTerm(k))
		sum := term
		for j := k + 1; term > sum*1e-17; j++ {
			term *= lam / float64(j)
			sum += term
		}
		return sum
	}
	term := math.Exp(logTerm(k - 1))
	sum := term
	for j := k - 1; j > 0 && term > sum*1e-17; j-- {
		term *= float64(j) / lam
		sum += term
	}
	return math.Max(0, 1-sum)
}

// hyperTail returns P(X >= k) for X the number of successes in n draws
// without replacement from N items of which K are successes (R's
// phyper(k-1, K, N-K, n, lower.tail = FALSE)).
func hyperTail(k, K, N, n int64) float64 {
	lo, hi := max(0, n-(N-K)), min(n, K)
	switch {
	case k <= lo:
		return 1
	case k > hi:
		return 0
	}
	lchoose := func(a, b int64) float64 {
		x, _ := math.Lgamma(float64(a) + 1)
		y, _ := math.Lgamma(float64(b) + 1)
		z, _ := math.Lgamma(float64(a-b) + 1)
		return x - y - z
	}
	pmf := func(j int64) float64 { return math.Exp(lchoose(K, j) + lchoose(N-K, n-j) - lchoose(N, n)) }
	mean := float64(n) * float64(K) / float64(N)
	if float64(k) > mean {
		term := pmf(k)
		sum := term
		for j := k; j < hi && term > sum*1e-17; j++ {
			term *= float64(K-j) * float64(n-j) / (float64(j+1) * float64(N-K-n+j+1))
			sum += term
		}
		return sum
	}
	term := pmf(k - 1)
	sum := term
	for j := k - 1; j > lo && term > sum*1e-17; j-- {
		term *= float64(j) * float64(N-K-n+j) / (float64(K-j+1) * float64(n-j+1))
		sum += term
	}
	return math.Max(0, 1-sum)
}
