package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Records   int64    `json:"records"`             // records checked
	OK        bool     `json:"ok"`                  // the chain and the file are sound
	FirstBad  *Record  `json:"first_bad,omitempty"` // the first record where the chain breaks
	Problem   string   `json:"problem,omitempty"`   // what is wrong there, in words
	Integrity []string `json:"integrity,omitempty"` // integrity_check problems; none when sound
}

// Verify recomputes the hash chain over every record and runs PRAGMA
// integrity_check, in one read transaction. A broken chain or a failed
// integrity check is reported, not returned as an error.
func (j *Journal) Verify(ctx context.Context) (VerifyReport, error) {
	var rep VerifyReport
	err := j.read(ctx, "verify journal", func(t *tx) error {
		var err error
		if rep, err = verifyChain(ctx, t); err != nil {
			return err
		}
		rep.Integrity, err = integrityCheck(ctx, t)
		rep.OK = rep.FirstBad == nil && rep.Problem == "" && len(rep.Integrity) == 0
		return err
	})
	return rep, err
}

func verifyChain(ctx context.Context, t *tx) (VerifyReport, error) {
	var rep VerifyReport
	rows, err := t.QueryContext(ctx, `SELECT `+recordColumns+` FROM records ORDER BY seq`)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	var lastSeq int64
	prev := genesisHash
	bad := func(r Record, problem string) {
		rep.FirstBad, rep.Problem = &r, problem
	}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return rep, err
		}
		rep.Records++
		switch {
		case r.Seq != lastSeq+1 && r.PrevHash != prev:
			bad(r, fmt.Sprintf("the chain breaks before record %d (%s): the records after %d are missing", r.Seq, r.ID, lastSeq))
		case r.Seq != lastSeq+1:
			bad(r, fmt.Sprintf("record %d (%s) follows record %d: sequence numbers are missing", r.Seq, r.ID, lastSeq))
		case r.PrevHash != prev:
			bad(r, fmt.Sprintf("record %d (%s) does not chain to the record before it: a record was removed or changed", r.Seq, r.ID))
		case r.computeHash() != r.Hash:
			bad(r, fmt.Sprintf("record %d (%s) was changed after it was written: its content does not match its hash", r.Seq, r.ID))
		}
		if rep.FirstBad != nil {
			// Count the rest without judging them: the first break is
			// what the person needs.
			for rows.Next() {
				rep.Records++
			}
			return rep, rows.Err()
		}
		lastSeq, prev = r.Seq, r.Hash
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	// The chain cannot show records cut off its end; the sequence can.
	var used int64
	if err := t.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'records'), 0)`).Scan(&used); err != nil {
		return rep, err
	}
	if used > lastSeq {
		rep.Problem = fmt.Sprintf("the journal ends at record %d, but records up to %d were written: the last records are missing", lastSeq, used)
		return rep, nil
	}
	// Every record marked for upload that the outbox has taken in has its
	// entry there: one without would never be sent.
	var seq int64
	var id string
	err = t.QueryRowContext(ctx, lostEntryQuery).Scan(&seq, &id)
	switch {
	case err == nil:
		rep.Problem = fmt.Sprintf("record %d (%s) is to be uploaded, but the outbox has no entry for it, so it would never be sent: "+
			"keep this journal file as it is and report it to tiski's maintainers", seq, id)
	case !errors.Is(err, sql.ErrNoRows):
		return rep, err
	}
	return rep, nil
}

// lostEntryQuery finds the first record marked for upload, and taken in,
// without an outbox entry.
const lostEntryQuery = `SELECT r.seq, r.id FROM records r
	WHERE r.upload = 1 AND r.seq <= (SELECT through FROM outbox_intake WHERE id = 1)
		AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.record_seq = r.seq)
	ORDER BY r.seq LIMIT 1`

// Backup writes a consistent copy of the journal to the file to, with
// VACUUM INTO, while other connections keep writing. It refuses to overwrite
// an existing file. The copy is created with mode 0600.
func (j *Journal) Backup(ctx context.Context, to string) error {
	abs, err := filepath.Abs(to)
	if err != nil {
		return fmt.Errorf("back up journal: %w", err)
	}
	// Creating the file first makes the refusal to overwrite atomic and
	// the copy private; VACUUM INTO accepts an empty file.
	if err := createPrivate(abs); err != nil {
		if errors.Is(err, os.ErrExist) {
			return rx.Errorf(rx.ECONFLICT, "The backup file %s already exists. Choose another name.", abs)
		}
		return fmt.Errorf("back up journal: %w", err)
	}
	// VACUUM cannot run inside a transaction; VACUUM INTO reads in a
	// transaction of its own, so the copy is one consistent snapshot.
	if _, err = j.r.ExecContext(ctx, `VACUUM INTO ?`, fileURI(abs)); err != nil {
		err = fmt.Errorf("back up journal: %w", translate(err))
	} else {
		err = syncFile(abs)
	}
	if err != nil {
		removeDB(abs)
		return err
	}
	return nil
}

func syncFile(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sync backup: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync backup: %w", err)
	}
	return syncDir(filepath.Dir(name))
}
