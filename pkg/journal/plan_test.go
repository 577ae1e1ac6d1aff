package journal

import (
	"context"
	"strings"
	"testing"
)

// TestQueryPlans checks that the queries of every append, lease, wake and
// status read use an index rather than read a whole table: on a journal of
// a million records a scan costs seconds (DESIGN §10). The partial indexes
// of migration 3 serve only queries that repeat their WHERE in so many
// words, which is easy to lose in an edit.
func TestQueryPlans(t *testing.T) {
	j := openTest(t, nil)
	ctx := context.Background()
	tests := []struct {
		name, query, index string
		args               []any
		// scans names a table the plan may scan: ORDER BY seq DESC LIMIT
		// 1 on the rowid reads one row from the end, which the plan shows
		// as a SCAN.
		scans string
	}{
		{"mode", modeQuery, "records_kind", nil, ""},
		{"mode and chain head", headQuery, "records_kind", nil, "records"},
		{"fault periods", faultPeriodsQuery, "records_kind", []any{""}, ""},
		{"lease", leaseQuery, "outbox_open", []any{"", 1}, ""},
		{"status", statusQuery, "outbox_open", nil, ""},
		{"wake", wakeQuery, "outbox_open", []any{""}, ""},
		// The tail is a range of the records' primary key from its end.
		{"tail count", tailCountQuery, "SEARCH records USING INTEGER PRIMARY KEY (rowid>?)", nil, ""},
		{"tail dependents", tailDependentsQuery, "SEARCH records USING INTEGER PRIMARY KEY (rowid>?)", []any{""}, ""},
		{"intake", intakeQuery, "SEARCH records USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)", []any{0, 0}, ""},
		{"intake head", intakeHeadQuery, "SEARCH outbox_intake USING INTEGER PRIMARY KEY (rowid=?)", nil, ""},
		// A dispensing against a journal prescription: the prescription by
		// its id, the patient's dispensings by records_patient, voids by
		// records_refers_to.
		{"draw", drawQuery, "USING INDEX records_patient", []any{"", ""}, ""},
		{"draw, peers", drawQuery, "USING INDEX peer_records_patient", []any{"", ""}, ""},
		{"queued", queuedQuery, "SEARCH records USING INDEX sqlite_autoindex_records_1 (id=?)", []any{""}, ""},
		{"resolutions after a record", `SELECT seq FROM records WHERE kind IN (?) AND kind <> 'dispensing' AND seq > ? ORDER BY seq`,
			"records_kind", []any{"resolution", 0}, ""},
		{"outbox for review", `SELECT record_id FROM outbox WHERE state IN (?) AND state NOT IN ('done', 'voided') ORDER BY record_seq`,
			"outbox_open", []any{"conflict"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := j.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+tt.query, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notUsed int
				var detail string
				if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "; ")
			if !strings.Contains(all, tt.index) {
				t.Errorf("plan does not use %s: %s", tt.index, all)
			}
			for _, step := range plan {
				if tt.scans != "" && step == "SCAN "+tt.scans {
					continue
				}
				if (strings.HasPrefix(step, "SCAN records") || strings.HasPrefix(step, "SCAN outbox")) && !strings.Contains(step, "INDEX") {
					t.Errorf("plan scans a table: %s", all)
				}
			}
		})
	}
}
