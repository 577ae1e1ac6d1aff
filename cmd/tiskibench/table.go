package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Row is one figure of DESIGN §10 beside its floor or peer, measured in the
// same run. Floor and Ratio are nil when the target is absolute and there
// is nothing to divide by.
type Row struct {
	Name   string   `json:"name"`
	Value  float64  `json:"value"`
	Unit   string   `json:"unit"`
	Floor  *float64 `json:"floor"`
	Ratio  *float64 `json:"ratio"`
	Target string   `json:"target"`
	Pass   bool     `json:"pass"`
	// FloorIs says what the floor is, so the ratio can be read.
	FloorIs string `json:"floor_is,omitempty"`
	// Gate, for a row whose target an open issue raised and that does
	// not reach it yet, is the earlier target, which --gated (CI) holds
	// it to so that it cannot slip back; GatePass says whether it does.
	Gate     string `json:"gate,omitempty"`
	GatePass *bool  `json:"gate_pass,omitempty"`
}

// check is how a row passes: a bound on its ratio or on its value, or
// none for a figure reported beside one that has a target.
type check struct {
	on    string  // "ratio", "value" or "none"
	most  bool    // at most (≤) when true, at least (≥) when false
	bound float64 // the target
	why   string  // for "none": why there is no target
	gate  *check  // the earlier target, held with --gated
}

// gated adds to c the earlier target g, which --gated holds the row to
// while it misses c (see Row.Gate).
func (c check) gated(g check) check {
	c.gate = &g
	return c
}

func ratioAtMost(b float64) check  { return check{on: "ratio", most: true, bound: b} }
func ratioAtLeast(b float64) check { return check{on: "ratio", bound: b} }
func valueAtMost(b float64) check  { return check{on: "value", most: true, bound: b} }

// reportOnly is the check of a figure DESIGN §10 sets no target for; the
// row always passes and says why.
func reportOnly(why string) check { return check{on: "none", why: why} }

// row builds a Row from a value, an optional floor (NaN: none) and the
// check, and decides pass.
func row(name string, value float64, unit string, floor float64, floorIs string, c check) Row {
	r := Row{Name: name, Value: round(value), Unit: unit}
	ratio := math.NaN()
	if !math.IsNaN(floor) {
		f := round(floor)
		r.Floor, r.FloorIs = &f, floorIs
		if floor > 0 {
			ratio = value / floor
			q := round(ratio)
			r.Ratio = &q
		}
	}
	op := "≥"
	if c.most {
		op = "≤"
	}
	subject := value
	switch c.on {
	case "none":
		r.Target = "none: " + c.why
		r.Pass = !math.IsNaN(value)
		return r
	case "ratio":
		r.Target = fmt.Sprintf("ratio %s %g", op, c.bound)
		subject = ratio
	default:
		r.Target = fmt.Sprintf("%s %g %s", op, c.bound, unit)
	}
	if !math.IsNaN(subject) {
		r.Pass = (c.most && subject <= c.bound) || (!c.most && subject >= c.bound)
	}
	if c.gate != nil {
		g := row(name, value, unit, floor, floorIs, *c.gate)
		r.Gate, r.GatePass = g.Target, &g.Pass
	}
	return r
}

// failed is a row for a measurement that could not be made: it fails.
func failed(name, unit string, c check, err error) Row {
	r := row(name, math.NaN(), unit, math.NaN(), "", c)
	r.Value = 0
	r.Name = name + " — error: " + err.Error()
	return r
}

// nan is no floor.
func nan() float64 { return math.NaN() }

func round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*1000) / 1000
}

// writeTable prints the rows as an aligned table with a legend of floors.
func writeTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tfigure\tvalue\tfloor/peer\tratio\ttarget\tresult")
	for i, r := range rows {
		floor, ratio := "—", "—"
		if r.Floor != nil {
			floor = fmt.Sprintf("%s %s", num(*r.Floor), r.Unit)
		}
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.2f×", *r.Ratio)
		}
		result := "pass"
		switch {
		case !r.Pass && r.GatePass != nil && *r.GatePass:
			result = "FAIL (gate " + r.Gate + ": pass)"
		case !r.Pass:
			result = "FAIL"
		case strings.HasPrefix(r.Target, "none"):
			result = "info"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s %s\t%s\t%s\t%s\t%s\n", i+1, r.Name, num(r.Value), r.Unit, floor, ratio, r.Target, result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var legend []string
	for i, r := range rows {
		if r.FloorIs != "" {
			legend = append(legend, fmt.Sprintf("  %d. floor: %s", i+1, r.FloorIs))
		}
	}
	if len(legend) > 0 {
		_, err := fmt.Fprintln(w, "\n"+strings.Join(legend, "\n"))
		return err
	}
	return nil
}

func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// writeJSON prints one JSON object a row, one a line.
func writeJSON(w io.Writer, rows []Row) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// allPass reports whether every row passed; no rows is a failure. With
// gated, a row that has a gate need only pass that.
func allPass(rows []Row, gated bool) bool {
	for _, r := range rows {
		if gated && r.GatePass != nil {
			if !*r.GatePass {
				return false
			}
			continue
		}
		if !r.Pass {
			return false
		}
	}
	return len(rows) > 0
}
