package journal

import (
	"context"
	"time"
)

// The outbox's intake (migration 0005).
//
// An append writes only the record, marked for upload (records.upload) with
// what it waits for (records.depends_on): the fewer pages a durable commit
// changes, the sooner the pharmacist sees "recorded" (DESIGN §10). The
// record is as safe as it was with its outbox entry beside it: both were
// in the same commit, and the mark is.
//
// Every write transaction that is not an append first takes the records
// marked since outbox_intake.through into the outbox, as pending entries,
// in sequence order (takeIn, from write): what it then does to the outbox
// finds every entry there. The upload worker's lease is such a write, so
// online a record is taken in by the lease that sends it. Until then the
// readers see it as a pending entry (the tail): Counts, Outbox, OutboxList
// and Dependents read it from the record.

// intakeSchema is the schema version that brought the intake. Tests make
// journals of earlier schemas with the outbox operations of today, which
// have no intake to run there.
const intakeSchema = 5

// intakeBatch bounds the records one transaction takes in, so that a long
// tail (a bulk import with no sender running) does not hold the write lock,
// and the counter's next append, for seconds: write takes it in over as
// many transactions as it needs before its own. A variable so that a test
// can make it small.
var intakeBatch int64 = 10000

// tailWhere selects the records marked for upload that the outbox has not
// taken in yet: a range of the records' primary key from its end.
const tailWhere = `seq > (SELECT through FROM outbox_intake WHERE id = 1) AND upload = 1`

// tailColumns reads a record of the tail as outboxColumns read an entry:
// pending and due since it was made, as takeIn enters it.
const tailColumns = `id, seq, kind, 'pending', 0, created_at, '', '', '', '', '', coalesce(depends_on, ''), '', created_at, created_at`

const (
	// intakeHeadQuery reads how far the outbox has taken in and the
	// last record.
	intakeHeadQuery = `SELECT through, (SELECT coalesce(max(seq), 0) FROM records) FROM outbox_intake WHERE id = 1`
	// intakeQuery enters the records after ?1, to ?2, marked for upload.
	// The order keeps a dependency's entry before its dependents'.
	intakeQuery = `INSERT INTO outbox (record_seq, record_id, kind, state, next_attempt, depends_on, created_at, updated_at)
		SELECT seq, id, kind, 'pending', created_at, depends_on, created_at, created_at FROM records
		WHERE seq > ?1 AND seq <= ?2 AND upload = 1 ORDER BY seq`
	// tailCountQuery counts the tail and reads when its oldest record was
	// made.
	tailCountQuery = `SELECT count(*), coalesce(min(created_at), '') FROM records WHERE ` + tailWhere
	// tailDependentsQuery lists the tail's records that wait for ?1.
	tailDependentsQuery = `SELECT ` + tailColumns + ` FROM records WHERE depends_on = ?1 AND ` + tailWhere + ` ORDER BY seq`
	// queuedQuery counts the outbox entries of record ?1, taken in or
	// not: what a dependent may wait for.
	queuedQuery = `SELECT (SELECT count(*) FROM outbox WHERE record_id = ?1) + (SELECT count(*) FROM records WHERE id = ?1 AND ` + tailWhere + `)`
)

// takeIn enters the tail into the outbox, in t, up to intakeBatch records;
// more reports that some are left.
func takeIn(ctx context.Context, t *tx) (more bool, err error) {
	var through, last int64
	if err := t.QueryRowContext(ctx, intakeHeadQuery).Scan(&through, &last); err != nil {
		return false, err
	}
	if last <= through {
		return false, nil
	}
	// Sequence numbers have no gaps: a range of intakeBatch numbers is at
	// most as many records.
	upTo := min(last, through+intakeBatch)
	if _, err := t.ExecContext(ctx, intakeQuery, through, upTo); err != nil {
		return false, err
	}
	if _, err := t.ExecContext(ctx, `UPDATE outbox_intake SET through = ? WHERE id = 1`, upTo); err != nil {
		return false, err
	}
	return upTo < last, nil
}

// tailCount returns how many records wait in the tail, and when the oldest
// of them was made (zero when none).
func tailCount(ctx context.Context, t *tx) (int64, time.Time, error) {
	var n int64
	var oldest string
	if err := t.QueryRowContext(ctx, tailCountQuery).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, err
	}
	at, err := parseTS(oldest)
	return n, at, err
}
