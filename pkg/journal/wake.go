package journal

import "context"

// wakeQuery makes the retry entries waiting past ?1 due at ?1, through the
// partial index outbox_open (see leaseQuery).
const wakeQuery = `UPDATE outbox SET next_attempt = ?1, updated_at = ?1
	WHERE state = 'retry' AND state NOT IN ('done', 'voided') AND next_attempt > ?1`

// WakeRetries makes every retry entry due now and returns how many it
// moved. queue/ calls it when the mode goes RECOVERING: a record whose
// backoff grew long during an outage is sent at once rather than minutes
// after the Prescription Centre answered again (DESIGN §10: the first upload
// within 2 s of a successful probe). It is one UPDATE in one write
// transaction, so it never races a lease.
func (j *Journal) WakeRetries(ctx context.Context) (int, error) {
	var n int64
	err := j.write(ctx, "wake retry entries", func(t *tx) error {
		now := ts(t.now)
		res, err := t.ExecContext(ctx, wakeQuery, now)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
