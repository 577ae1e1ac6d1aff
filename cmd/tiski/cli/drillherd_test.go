package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/queue/herd"
)

func herdFactory() (*Factory, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Factory{IO: IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, configFlags: map[string]string{}}, &out, &errOut
}

func TestDrillHerdFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want *DrillHerdOptions // nil: a usage error
	}{
		{"defaults", nil, &DrillHerdOptions{Clients: 830, Records: 40, Capacity: 300, Jitter: "both", Outage: herd.DefaultOutage}},
		{"the issue's flags", []string{"--clients", "830", "--records", "40", "--capacity", "300", "--jitter", "full", "--outage", "5h", "--json"},
			&DrillHerdOptions{Clients: 830, Records: 40, Capacity: 300, Jitter: "full", Outage: herd.DefaultOutage, JSON: true}},
		{"unknown jitter", []string{"--jitter", "some"}, nil},
		{"no clients", []string{"--clients", "0"}, nil},
		{"negative outage", []string{"--outage", "-1h"}, nil},
		{"negative naive limit", []string{"--naive-limit", "-1m"}, nil},
		{"an argument", []string{"extra"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _, _ := herdFactory()
			var got *DrillHerdOptions
			cmd := newCmdDrillHerd(f, func(_ context.Context, o *DrillHerdOptions) error {
				got = o
				return nil
			})
			cmd.SetArgs(tt.args)
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.ExecuteContext(context.Background())
			if tt.want == nil {
				var ue usageError
				if !errors.As(err, &ue) {
					t.Fatalf("error %v, want a usage error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Clients != tt.want.Clients || got.Records != tt.want.Records || got.Capacity != tt.want.Capacity ||
				got.Jitter != tt.want.Jitter || got.Outage != tt.want.Outage || got.JSON != tt.want.JSON ||
				got.Limit != 30*time.Minute || got.NaiveLimit != 5*time.Minute {
				t.Fatalf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDrillHerdRun runs a small storm in both modes through the command:
// JSON with one object per mode, and the text report with both side by
// side and a chart each.
func TestDrillHerdRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two small simulations")
	}
	args := []string{"--clients", "12", "--records", "2", "--capacity", "4", "--limit", "30s"}
	f, out, errOut := herdFactory()
	cmd := NewCmdDrillHerd(f)
	cmd.SetArgs(append(args, "--json", "--dir", t.TempDir()))
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var byMode map[string]map[string]any
	if err := json.Unmarshal(out.Bytes(), &byMode); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, m := range []string{"full", "none"} {
		r := byMode[m]
		for _, k := range []string{"peak_rps", "capacity_rps", "throttled", "drain_seconds", "lost", "duplicates", "load"} {
			if _, ok := r[k]; !ok {
				t.Errorf("%s: no %q in %v", m, k, r)
			}
		}
		if r["lost"] != 0.0 || r["duplicates"] != 0.0 || r["capacity_rps"] != 4.0 {
			t.Errorf("%s: lost %v, duplicates %v, capacity %v", m, r["lost"], r["duplicates"], r["capacity_rps"])
		}
	}

	f, out, errOut = herdFactory()
	cmd = NewCmdDrillHerd(f)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	text := out.String()
	for _, want := range []string{"peak offered load", "full", "none", "full jitter: requests a simulated second", "none jitter: requests a simulated second", "- capacity"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
	for i, line := range strings.Split(text, "\n") {
		if n := len([]rune(line)); n > 80 {
			t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
		}
	}
	t.Logf("\n%s", text)
}
