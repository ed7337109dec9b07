package sim

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// Chart layout, in SVG user units.
const (
	chartWidth, chartHeight = 900, 420
	chartLeft, chartRight   = 60, 170
	chartTop, chartBottom   = 40, 50
)

// stageColors are the chart's colours, by cohortStages' order.
var stageColors = []string{"#7aa6d8", "#59a14f", "#edc948", "#f28e2b", "#e15759"}

// WriteChart writes the report's weekly stages as an SVG of stacked areas:
// the customers signed up, by stage, at the start of each week. It is
// hand-written SVG, so the chart needs no plotting module.
func (r CohortReport) WriteChart(w io.Writer) error {
	var b strings.Builder
	plotW := float64(chartWidth - chartLeft - chartRight)
	plotH := float64(chartHeight - chartTop - chartBottom)
	weeks := len(r.Weekly)
	x := func(week int) float64 {
		if weeks <= 1 {
			return chartLeft
		}
		return chartLeft + plotW*float64(week)/float64(weeks-1)
	}
	top := max(1, r.Customers)
	y := func(n int) float64 { return chartTop + plotH*(1-float64(n)/float64(top)) }

	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
`, chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(&b, `<title>%s</title>
<rect width="100%%" height="100%%" fill="white"/>
<text x="%d" y="24" font-size="15">%s</text>
`, html.EscapeString(r.title()), chartLeft, html.EscapeString(r.title()))

	// Stacked areas, bottom to top in stage order: each band lies between
	// the running total before its stage and after it.
	below := make([]int, weeks)
	for i, stg := range cohortStages {
		upper := make([]int, weeks)
		for wk, s := range r.Weekly {
			upper[wk] = below[wk] + s.Stages[stg]
		}
		var pts []string
		for wk := range weeks {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(wk), y(upper[wk])))
		}
		for wk := weeks - 1; wk >= 0; wk-- {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(wk), y(below[wk])))
		}
		fmt.Fprintf(&b, `<polygon class="stage" data-stage="%s" points="%s" fill="%s" stroke="none"><title>%s</title></polygon>
`, stg, strings.Join(pts, " "), stageColors[i], stg)
		below = upper
	}

	// Axes, with the customers on the left and weeks along the bottom.
	fmt.Fprintf(&b, `<g stroke="#333" fill="none"><line x1="%d" y1="%d" x2="%d" y2="%d"/><line x1="%d" y1="%d" x2="%d" y2="%d"/></g>
`, chartLeft, chartTop, chartLeft, chartHeight-chartBottom, chartLeft, chartHeight-chartBottom, chartWidth-chartRight, chartHeight-chartBottom)
	for k := 0; k <= 4; k++ {
		n := top * k / 4
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%d</text>
`, chartLeft-6, y(n)+4, n)
	}
	step := max(1, (weeks+7)/8)
	for wk := 0; wk < weeks; wk += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>
`, x(wk), chartHeight-chartBottom+16, wk)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">week</text>
<text x="16" y="%.1f" transform="rotate(-90 16 %.1f)" text-anchor="middle">customers</text>
`, chartLeft+plotW/2, chartHeight-12, chartTop+plotH/2, chartTop+plotH/2)

	// The legend, top of the stack first, as the bands are drawn.
	for i := len(cohortStages) - 1; i >= 0; i-- {
		ly := chartTop + 20*(len(cohortStages)-1-i)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="14" height="14" fill="%s"/><text x="%d" y="%d">%s</text>
`, chartWidth-chartRight+16, ly, stageColors[i], chartWidth-chartRight+36, ly+11, cohortStages[i])
	}
	b.WriteString("</svg>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write the chart: %w", err)
	}
	return nil
}

func (r CohortReport) title() string {
	return fmt.Sprintf("%d customers by stage, weekly (seed %d, playbook %s)", r.Customers, r.Seed, r.Playbook)
}
