package journal

import (
	"context"
	"time"
)

// faultLogSchema is the schema that brought the fault log (migration 0009).
const faultLogSchema = 9

// FaultLogKeep is how many calls the fault log keeps: about a day of a
// busy counter's calls. Older rows are pruned as new ones are written.
const FaultLogKeep = 20000

// FaultCall is one call to the Prescription Centre in the fault log. It
// holds no patient data, identifier or URL.
type FaultCall struct {
	At      time.Time     `json:"at"`
	Op      string        `json:"op"`      // read, search, write, probe
	Outcome string        `json:"outcome"` // ok, refused, silent, timeout, tls, dns, cut, throttled, 5xx, 4xx, bad, network
	Status  int           `json:"status"`  // HTTP status; 0: no answer
	Latency time.Duration `json:"latency"`
}

// LogCalls writes a batch of calls to the fault log in one transaction and
// prunes the log to its last FaultLogKeep rows. It is for a batching
// writer off the hot path (pkg/triage's Recorder): one call per batch,
// never one per call. It takes no part in the outbox's intake.
func (j *Journal) LogCalls(ctx context.Context, calls []FaultCall) error {
	if len(calls) == 0 || j.schema < faultLogSchema {
		return nil
	}
	return j.writeWith(ctx, "write the fault log", func(t *tx) error {
		for _, c := range calls {
			if _, err := t.ExecContext(ctx, `INSERT INTO fault_log (at_ms, op, outcome, status, latency_us) VALUES (?, ?, ?, ?, ?)`,
				c.At.UnixMilli(), c.Op, c.Outcome, c.Status, c.Latency.Microseconds()); err != nil {
				return err
			}
		}
		_, err := t.ExecContext(ctx, `DELETE FROM fault_log WHERE seq <= (SELECT max(seq) FROM fault_log) - ?`, FaultLogKeep)
		return err
	})
}

// FaultCalls returns the fault log's calls sent at or after since, oldest
// first, at most limit of the newest (0: all kept).
func (j *Journal) FaultCalls(ctx context.Context, since time.Time, limit int) ([]FaultCall, error) {
	if j.schema < faultLogSchema {
		return nil, nil
	}
	if limit <= 0 {
		limit = FaultLogKeep
	}
	var out []FaultCall
	err := j.read(ctx, "read the fault log", func(t *tx) error {
		rows, err := t.QueryContext(ctx, `SELECT at_ms, op, outcome, status, latency_us FROM
			(SELECT seq, at_ms, op, outcome, status, latency_us FROM fault_log WHERE at_ms >= ? ORDER BY seq DESC LIMIT ?)
			ORDER BY seq`, since.UnixMilli(), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c FaultCall
			var at, lat int64
			if err := rows.Scan(&at, &c.Op, &c.Outcome, &c.Status, &lat); err != nil {
				return err
			}
			c.At, c.Latency = time.UnixMilli(at).UTC(), time.Duration(lat)*time.Microsecond
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}
