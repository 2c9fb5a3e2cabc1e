package indicator

// Definition explains one indicator in plain language, for the public
// methods page and the API description. It lives beside the code that
// computes the indicator so the two change together.
type Definition struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Plain   string `json:"definition"`
	Formula string `json:"formula"`
	Notes   string `json:"notes,omitempty"`
}

// Definitions lists every indicator Compute and Targets produce.
func Definitions() []Definition {
	return []Definition{
		{"count", "Count",
			"How many incidents of the chosen kinds happened in the area during the period, by the local calendar date they happened on.",
			"count = number of incidents with area = A and day in [start, end)",
			"Incidents are placed in areas by their coordinates when loaded. Points just outside every polygon of a layer (on the city line or the shore) go to the nearest area within 150 m. Incidents in no area of a layer are reported in an 'In no area' row, and counted in the city total."},
		{"victims", "Victims",
			"How many people were hurt or killed in those incidents; one shooting can have several victims.",
			"victims = sum of victims over the incidents counted", ""},
		{"rate_per_1k", "Rate per 1,000 residents",
			"Incidents per 1,000 people living in the area, for the period (not per year).",
			"rate_per_1k = count / population * 1,000",
			"Undefined (empty), never infinite, when the population is zero (parks, industrial areas) or unknown. Rates resting on fewer than 20 incidents are marked unstable: a single incident more or less changes them a lot."},
		{"rate_per_10k", "Rate per 10,000 residents",
			"Incidents per 10,000 people living in the area, for the period.",
			"rate_per_10k = count / population * 10,000", "Same caveats as the rate per 1,000."},
		{"change_prev", "Change from the previous period",
			"How the count compares with the period just before (last month, last week...).",
			"change_prev = count - prev; change_prev_pct = (count - prev) / prev * 100",
			"Empty when the previous count is 0 or outside the data. For a period still in progress, the same number of days of the previous period is compared."},
		{"change_year_ago", "Change from a year before",
			"How the count compares with the same period one year earlier, which removes seasonal swings.",
			"change_year_ago = count - year_ago; change_year_ago_pct = (count - year_ago) / year_ago * 100",
			"Weeks are compared with the week 52 weeks earlier, so weekdays line up."},
		{"baseline_3y", "3-year baseline",
			"The average count in the same period of the three years before, and how far the current count is above or below it.",
			"baseline_3y = (c[y-1] + c[y-2] + c[y-3]) / 3; change_baseline_pct = (count - baseline_3y) / baseline_3y * 100",
			"Empty when the data do not reach back three years."},
		{"trend", "Trend",
			"Whether counts have been going steadily up or down over the periods shown, tested with the Mann-Kendall test.",
			"S = sum over i<j of sign(c[j] - c[i]); tau_b = S / D; p from the exact distribution (short series without ties) or the normal approximation with continuity correction",
			"Reported as increasing or decreasing when p < 0.05, otherwise no trend. Needs at least 4 whole periods; a period still in progress is left out."},
		{"rank", "Rank",
			"The area's position among all areas of the layer, 1 being the highest count (rank_rate: the highest rate).",
			"rank = 1 + number of areas with a higher count",
			"Areas marked excluded (such as the jail polygon) are not ranked. Ties share a rank."},
		{"share", "Share of the city total",
			"The area's fraction of all incidents of the period in the city.",
			"share = count / city total",
			"The city total includes incidents in no area and in excluded areas."},
		{"target", "Progress toward the reduction target",
			"Whether the area is on course for the city's goal of cutting fatal and non-fatal shootings by 15% a year from the baseline year.",
			"target(Y) = baseline * (1 - r)^(Y - baseline_year); target_to_date = target(Y) * days elapsed / days in Y; on_track = actual <= target_to_date",
			"The kinds, baseline year and yearly reduction come from the city configuration and can be changed per request."},
		{"suppression", "Small numbers withheld from the public",
			"Counts above zero but below the publication threshold are not shown publicly, so no one can be identified; a few other cells are withheld too so the hidden ones cannot be worked out by subtraction from totals.",
			"hide 1 <= n < suppress_below; then hide the next-smallest cell of any row or column (with its total) hiding exactly one; then close any hidden value still derivable by combining rows and columns",
			"Rates, changes, ranks and trends built on a withheld count are withheld as well. Signed-in staff of the health department see all values."},
	}
}
