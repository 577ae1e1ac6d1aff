package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Over-dispensing between counters (issue 19).
//
// A dispensing against a journal prescription claims its quantity at the
// pharmacy's hub first (pkg/record, pkg/hub). When the hub cannot be
// reached the counter records after a check of what it knows, and the
// dispensing carries RuleNotCrossChecked. Two such dispensings at two
// counters may together exceed the prescription; which is found only when
// one counter's record reaches the other. Nothing is merged or dropped
// then: CheckOverdrawn makes each counter's own dispensings against the
// prescription, not yet uploaded, over-dispensed conflicts, and a
// pharmacist reviews them on the conflicts screen.

// RuleNotCrossChecked is the rule id of a dispensing against a journal
// prescription recorded while the hub could not be reached: it was checked
// against this counter's journal only, "not checked across counters". It
// is in the record's rules, so it is hashed and shared with the record.
const RuleNotCrossChecked = "HUB-UNCHECKED"

// overdrawDispensings lists the dispensings against the journal
// prescription ?1 of the patient ?2 not voided, this counter's (0) and the
// other counters' (1), with their rules, counter and outbox state.
const overdrawDispensings = `SELECT d.id, d.body, d.rules, d.terminal, 0, coalesce(o.state, ''),
		EXISTS (SELECT 1 FROM records AS r WHERE r.refers_to = d.id AND r.kind = 'resolution')
	FROM records AS d LEFT JOIN outbox AS o ON o.record_id = d.id
	WHERE d.patient = ?2 AND d.patient <> '' AND d.kind = 'dispensing'
		AND json_extract(d.body, '$.prescription_record') = ?1
		AND NOT EXISTS (SELECT 1 FROM records AS v WHERE v.refers_to = d.id AND v.kind = 'void')
	UNION ALL SELECT d.id, d.body, d.rules, d.counter, 1, '', 0 FROM peer_records AS d
	WHERE d.patient = ?2 AND d.patient <> '' AND +d.kind = 'dispensing'
		AND json_extract(d.body, '$.prescription_record') = ?1
		AND NOT EXISTS (SELECT 1 FROM peer_records AS v WHERE v.refers_to = d.id AND +v.kind = 'void')`

// CheckOverdrawn looks at the journal prescription the dispensing r draws
// on, after r was kept from another counter or appended here: when the
// dispensings against it at every counter, not voided, exceed what it
// allows, and at least one of them was not checked across counters, this
// counter's own dispensings against it that still wait for upload (pending
// or retry) and that no pharmacist has resolved become over-dispensed
// conflicts. It returns their ids. It may run any number of times: an
// entry already in conflict, or resolved, is left as it is. A record that
// is not a dispensing against a journal prescription is no concern of it.
//
// Only this counter's own entries are marked: each counter's outbox is its
// own, and the other counter marks its own when this counter's record
// reaches it. A dispensing already uploaded, or being uploaded, is not
// marked; the Prescription Centre holds the prescription and refuses the
// other one as over-dispensed, which reaches review through the upload.
func (j *Journal) CheckOverdrawn(ctx context.Context, r Record) ([]string, error) {
	if r.Kind != KindDispensing || r.Patient == "" {
		return nil, nil
	}
	var d struct {
		PrescriptionRecord string `json:"prescription_record"`
	}
	if json.Unmarshal(r.Body, &d) != nil || d.PrescriptionRecord == "" {
		return nil, nil
	}
	var marked []string
	err := j.write(ctx, "check the dispensings of a journal prescription across counters", func(t *tx) error {
		marked = marked[:0]
		var body string
		var voided bool
		err := t.QueryRowContext(ctx, `SELECT p.body,
				EXISTS (SELECT 1 FROM records AS v WHERE v.refers_to = ?1 AND v.kind = 'void')
					OR EXISTS (SELECT 1 FROM peer_records AS v WHERE v.refers_to = ?1 AND +v.kind = 'void')
			FROM (SELECT body FROM records WHERE id = ?1 UNION ALL SELECT body FROM peer_records WHERE id = ?1) AS p LIMIT 1`,
			d.PrescriptionRecord).Scan(&body, &voided)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // the prescription has not arrived yet; its arrival brings no dispensing to check
		}
		if err != nil {
			return err
		}
		var p rx.Prescription
		if voided || json.Unmarshal([]byte(body), &p) != nil || p.Quantity <= 0 {
			return nil
		}
		type draw struct {
			id, counter, state string
			quantity           int
			unchecked, peer    bool
			resolved           bool
		}
		rows, err := t.QueryContext(ctx, overdrawDispensings, d.PrescriptionRecord, r.Patient)
		if err != nil {
			return err
		}
		draws, err := appendRows(nil, rows, func(s scanner) (draw, error) {
			var x draw
			var body, rules string
			if err := s.Scan(&x.id, &body, &rules, &x.counter, &x.peer, &x.state, &x.resolved); err != nil {
				return x, err
			}
			var b struct {
				Quantity int `json:"quantity"`
			}
			_ = json.Unmarshal([]byte(body), &b)
			x.quantity = b.Quantity
			var ids []string
			_ = json.Unmarshal([]byte(rules), &ids)
			x.unchecked = slices.Contains(ids, RuleNotCrossChecked)
			return x, nil
		})
		if err != nil {
			return err
		}
		total, unchecked := 0, false
		for _, x := range draws {
			total += x.quantity
			unchecked = unchecked || x.unchecked
		}
		if total <= p.Total() || !unchecked {
			return nil
		}
		var parts []string
		for _, x := range draws {
			s := fmt.Sprintf("%s: %d at %s", x.id, x.quantity, x.counter)
			if x.unchecked {
				s += ", not checked across counters"
			}
			parts = append(parts, s)
		}
		reason := fmt.Sprintf("over-dispensed: %d dispensed against journal prescription %s, which allows %d, at the pharmacy's counters together (%s). "+
			"They were recorded while the pharmacy's hub could not be reached; nothing was merged. Keep what was handed out, void a dispensing entered in error, or resubmit with a reason.",
			total, d.PrescriptionRecord, p.Total(), strings.Join(parts, "; "))
		for _, x := range draws {
			if x.peer || x.resolved || (x.state != string(OutboxPending) && x.state != string(OutboxRetry)) {
				continue
			}
			res, err := t.ExecContext(ctx, `UPDATE outbox SET state = 'conflict', conflict = ?, next_attempt = '', lease_owner = '', lease_expires = '',
					updated_at = ? WHERE record_id = ? AND state IN ('pending', 'retry')`, reason, ts(t.now), x.id)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				marked = append(marked, x.id)
			}
		}
		return nil
	})
	return marked, err
}
