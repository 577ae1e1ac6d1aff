package herd

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// chartWidth and chartHeight are the plot area of a load chart: with the
// axis labels it fits 80 columns.
const (
	chartWidth  = 64
	chartHeight = 12
)

// WriteText writes the results side by side, one column a run, and under
// them a chart of each run's offered load over simulated time, with the
// capacity and 1.5× capacity marked. It fits 80 columns.
func WriteText(w io.Writer, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(name string, cell func(Result) string) {
		fmt.Fprint(tw, name+"\t")
		for _, r := range results {
			fmt.Fprint(tw, cell(r)+"\t")
		}
		fmt.Fprintln(tw)
	}
	r0 := results[0]
	fmt.Fprintf(w, "Reconnect storm: %d pharmacies × %d records against %g requests/s\n\n", r0.Clients, r0.Records, r0.CapacityRPS)
	row("jitter", func(r Result) string { return string(r.Jitter) })
	row("peak offered load (req/s)", func(r Result) string {
		return fmt.Sprintf("%d (%.2f×)", r.PeakRPS, float64(r.PeakRPS)/r.CapacityRPS)
	})
	row("peak at second", func(r Result) string { return fmt.Sprint(r.PeakSecond) })
	row("requests", func(r Result) string { return fmt.Sprint(r.Requests) })
	row("throttled (429)", func(r Result) string { return fmt.Sprint(r.Throttled) })
	row("drained in (simulated)", func(r Result) string {
		s := formatSeconds(r.DrainSeconds)
		if !r.Drained {
			s = "not in " + s
		}
		return s
	})
	row("lost", func(r Result) string { return fmt.Sprint(r.Lost) })
	row("still in the journals", func(r Result) string { return fmt.Sprint(r.Pending) })
	row("duplicates", func(r Result) string { return fmt.Sprint(r.Duplicates) })
	row("real time", func(r Result) string { return formatSeconds(r.WallSeconds) })
	if err := tw.Flush(); err != nil {
		return err
	}
	if r0.Pipes {
		fmt.Fprintf(w, "\n(So many pharmacies need more file descriptors than this process may open: they ran over in-memory pipes instead of loopback TCP, their journals releasing idle connections.)\n")
	}

	// Each chart has its own scales, so that a drain near the capacity is
	// not flattened under a storm of four times it, nor squeezed into a few
	// columns beside a storm that never ends; the table compares them. The
	// vertical scale reaches 1.5× capacity at least, the bound of DESIGN
	// §10, which is marked.
	for _, r := range results {
		top := max(r.CapacityRPS*1.5, float64(r.PeakRPS))
		perCol := max(1, (len(r.Load)+chartWidth-1)/chartWidth)
		fmt.Fprintf(w, "\n%s jitter: requests a simulated second (a column: the peak of %d s)\n", r.Jitter, perCol)
		writeChart(w, r, perCol, top)
	}
	return nil
}

// writeChart plots r's load: '#' the requests served, '+' those throttled,
// '-' the capacity, '.' 1.5× the capacity.
func writeChart(w io.Writer, r Result, perCol int, top float64) {
	top = max(top, 1)
	cols := (len(r.Load) + perCol - 1) / perCol
	peak := make([]Second, cols)
	for i, s := range r.Load {
		c := &peak[i/perCol]
		if s.Requests > c.Requests {
			*c = s
		}
	}
	height := func(v float64) int { return int(math.Round(v / top * chartHeight)) }
	capRow, boundRow := height(r.CapacityRPS), height(1.5*r.CapacityRPS)
	for row := chartHeight; row >= 1; row-- {
		label := ""
		switch {
		case row == chartHeight:
			label = fmt.Sprintf("%.0f", top)
		case row == boundRow:
			label = fmt.Sprintf("%.0f", 1.5*r.CapacityRPS)
		case row == capRow:
			label = fmt.Sprintf("%.0f", r.CapacityRPS)
		}
		var b strings.Builder
		for _, s := range peak {
			served, all := height(float64(s.Requests-s.Throttled)), height(float64(s.Requests))
			switch {
			case row <= served:
				b.WriteByte('#')
			case row <= all:
				b.WriteByte('+')
			case row == capRow:
				b.WriteByte('-')
			case row == boundRow:
				b.WriteByte('.')
			default:
				b.WriteByte(' ')
			}
		}
		line := b.String()
		switch {
		case row == capRow && len(line) < chartWidth:
			line += strings.Repeat("-", chartWidth-len(line))
		case row == boundRow && len(line) < chartWidth:
			line += strings.Repeat(".", chartWidth-len(line))
		}
		fmt.Fprintf(w, "%7s |%s\n", label, strings.TrimRight(line, " "))
	}
	fmt.Fprintf(w, "%7s +%s\n", "0", strings.Repeat("-", chartWidth))
	// The time axis: 0 s under the first column, the end under the last.
	end := fmt.Sprintf("%ds", len(r.Load))
	gap := max(1, min(cols, chartWidth)-2-len(end))
	fmt.Fprintf(w, "%7s  0s%s%s\n", "", strings.Repeat(" ", gap), end)
	fmt.Fprintf(w, "%7s  # served  + throttled (429)  - capacity  . 1.5× capacity\n", "")
}

func formatSeconds(s float64) string {
	if s < 120 {
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f s (%.1f min)", s, s/60)
}
