package journal

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Kind is what a record records.
type Kind string

// Record kinds (DESIGN §5).
const (
	KindPaperPrescription     Kind = "paper_prescription"
	KindTelephonePrescription Kind = "telephone_prescription"
	KindDispensing            Kind = "dispensing"
	KindVoid                  Kind = "void"         // cancels the record it refers to
	KindModeChange            Kind = "mode_change"  // the counter's mode changed; see ChangeMode
	KindResolution            Kind = "resolution"   // a pharmacist resolved a conflict of the record it refers to
	KindSignIn                Kind = "signin"       // a failed sign-in, a lockout or an unlock (audit only, never uploaded); see AdmitSignIn
	KindNotice                Kind = "notice"       // Kela's notice of a fault or a planned break (never uploaded; shared with the hub); see AddNotice
	KindNoticeEnd             Kind = "notice_end"   // a notice ended by hand; see EndNotice
	KindFaultReport           Kind = "fault_report" // a fault reported to the helpdesk or Kela (never uploaded; shared with the hub); see MarkFaultReported
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindPaperPrescription, KindTelephonePrescription, KindDispensing, KindVoid, KindModeChange, KindResolution, KindSignIn,
		KindNotice, KindNoticeEnd, KindFaultReport:
		return true
	}
	return false
}

// NewRecord is a record to append.
type NewRecord struct {
	ID         string          // UUID; generated when empty; the idempotency key upstream
	Kind       Kind            // required
	Pharmacist string          // sign-in id of the person; "" only for automatic mode changes and failed sign-ins
	Patient    string          // HETU, indexed for "this patient's records"; never logged
	Rules      []string        // policy rule ids applied
	RefersTo   string          // the record a void or resolution refers to
	Body       json.RawMessage // the record's content; stored as canonical JSON (compact, sorted keys); nil: {}
	Upload     bool            // the outbox sends it: pending from the moment it is appended (see intake.go)
	DependsOn  string          // outbox: the record that must be uploaded first (needs Upload)
	Time       time.Time       // when it happened; zero: now. A back-entered record carries its own time
	// Draws is, for a dispensing against a journal paper or telephone
	// prescription, that prescription's record id: the append refuses, in
	// its transaction, a dispensing of more than is left of it (draw.go).
	Draws string
}

// Record is a journal record as stored.
type Record struct {
	Seq        int64           `json:"seq"`  // 1, 2, 3… without gaps
	ID         string          `json:"id"`   // UUID
	Kind       Kind            `json:"kind"` //
	Time       time.Time       `json:"time"` // when it happened
	CreatedAt  time.Time       `json:"created_at"`
	Pharmacist string          `json:"pharmacist"`
	Terminal   string          `json:"terminal"`
	Mode       rx.Mode         `json:"mode"` // the mode in force when it was made (for a mode change: before it)
	Rules      []string        `json:"rules"`
	RefersTo   string          `json:"refers_to,omitempty"`
	Patient    string          `json:"patient,omitempty"`
	Body       json.RawMessage `json:"body"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
	// Peer marks a record of another counter of the pharmacy, kept from
	// the hub (share.go); its Terminal is that counter. Not stored, not
	// hashed: where the record was read from.
	Peer bool `json:"peer,omitempty"`
}

// NewID returns a new record id: a UUID of version 7, whose first bits are
// the time. Ids made one after another sort one after another, so each
// append adds to the end of the records' id index, a page already in
// memory, rather than to a page anywhere in it (tiskibench: the 99th
// percentile of a durable append 1.65-1.79x its floor with these, 1.75-1.93x
// with random ones). The id is the record's idempotency key upstream; its
// 74 random bits keep it unique.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// genesisHash is the previous hash of the first record.
var genesisHash = strings.Repeat("0", 64)

// Append appends a record, marked for upload when asked, in one
// transaction. When it returns without error the record is durable, and so
// is its place in the outbox. The record's Mode is the mode in force when it
// was written.
func (j *Journal) Append(ctx context.Context, nr NewRecord) (Record, error) {
	if rec, done, err := j.appendOnHead(ctx, nr); done {
		return rec, err
	}
	var rec Record
	err := j.writeRecords(ctx, "append record", func(t *tx) error {
		var err error
		rec, err = j.appendRecord(ctx, t, nr)
		return err
	})
	return rec, err
}

// appendOnHead appends nr after the chain's head as this process last wrote
// it, in one autocommit statement (an INSERT), without
// a transaction of its own or a read of the head. done is false when it did
// not append and Append must take the transaction: no head is known (none
// written yet, or a mode change), or the statement failed on a constraint.
//
// The head can be stale only if another process (another terminal's sync,
// `tiski journal`) appended since. Sequence numbers have no gaps, so that
// process took this head's next number, and the insert fails on the
// primary key and changes nothing; the transaction then reads the head
// afresh. A constraint on the record itself (a duplicate id, a void of a
// record not in the journal) fails here the same way, and the transaction
// reports it in words.
func (j *Journal) appendOnHead(ctx context.Context, nr NewRecord) (rec Record, done bool, err error) {
	if nr.Kind == KindModeChange {
		return Record{}, false, nil // ChangeMode's business: it changes the head's mode
	}
	if nr.DependsOn != "" || nr.Draws != "" {
		return Record{}, false, nil // the transaction checks that what it waits for is queued, and what is left
	}
	j.headMu.Lock()
	defer j.headMu.Unlock()
	h := j.head
	if h == nil {
		return Record{}, false, nil
	}
	rec, args, err := j.newRecord(nr, h, j.now())
	if err != nil {
		return Record{}, true, fmt.Errorf("append record: %w", err)
	}
	// A head is known only after a write went through write, which waits
	// for a background integrity check: it has passed.
	if err := ctx.Err(); err != nil {
		return Record{}, true, fmt.Errorf("append record: %w", err)
	}
	// Once begun, the statement is not interrupted: with a context that
	// can end, the driver watches it from a goroutine of its own for every
	// statement: a tenth of an append's CPU time in a profile.
	err = j.whileBusy(ctx, func() error {
		_, err := j.execWriter(context.WithoutCancel(ctx), insertRecord, args...)
		return err
	})
	switch {
	case err == nil:
		j.head = &txHead{mode: h.mode, seq: rec.Seq, hash: rec.Hash}
		j.ckpt.wrote(1)
		return rec, true, nil
	case isConstraint(err, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY), isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE),
		isConstraint(err, sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY):
		j.head = nil
		return Record{}, false, nil
	default:
		j.head = nil
		return Record{}, true, fmt.Errorf("append record: %w", translate(err))
	}
}

// noteHead remembers the chain's head after a committed write transaction
// that appended records (t.head nil after a mode change: read it next
// time), or forgets it when the transaction failed.
func (j *Journal) noteHead(t *tx, committed bool) {
	if t.records == 0 {
		return
	}
	j.headMu.Lock()
	defer j.headMu.Unlock()
	j.head = nil
	if committed && t.head != nil {
		h := *t.head
		j.head = &h
	}
}

// AppendAll appends several records in one transaction: all are durable
// when it returns, or none is stored. A record may depend on or refer to
// one earlier in the same call, as a dispensing does on the paper
// prescription it was made against.
func (j *Journal) AppendAll(ctx context.Context, nrs ...NewRecord) ([]Record, error) {
	recs := make([]Record, 0, len(nrs))
	err := j.writeRecords(ctx, "append records", func(t *tx) error {
		recs = recs[:0]
		for _, nr := range nrs {
			rec, err := j.appendRecord(ctx, t, nr)
			if err != nil {
				return err
			}
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// insertRecord appends a record, marked for upload when upload is 1: one
// statement, its own transaction in autocommit mode (the outbox takes the
// record in later, see intake.go).
const insertRecord = `INSERT INTO records (seq, id, kind, time, created_at, pharmacist, terminal, mode, rules, refers_to, patient, body, prev_hash, hash,
		upload, depends_on)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (j *Journal) appendRecord(ctx context.Context, t *tx, nr NewRecord) (Record, error) {
	// Within one write transaction nothing else writes, so the mode and
	// the chain's head are read once and carried from record to record
	// (AppendAll of thousands of records read them once).
	if t.head == nil {
		h, err := readHead(ctx, t)
		if err != nil {
			return Record{}, err
		}
		t.head = h
	}
	rec, args, err := j.newRecord(nr, t.head, t.now)
	if err != nil {
		return Record{}, err
	}
	if nr.RefersTo != "" {
		var n int
		if err := t.QueryRowContext(ctx, `SELECT count(*) FROM records WHERE id = ?`, nr.RefersTo).Scan(&n); err != nil {
			return Record{}, err
		}
		if n == 0 {
			return Record{}, rx.Errorf(rx.ENOTFOUND, "The record %s referred to is not in the journal.", nr.RefersTo)
		}
	}
	if nr.DependsOn != "" {
		var n int
		if err := t.QueryRowContext(ctx, queuedQuery, nr.DependsOn).Scan(&n); err != nil {
			return Record{}, err
		}
		if n == 0 {
			return Record{}, rx.Errorf(rx.ENOTFOUND, "The record %s this one depends on is not waiting for upload.", nr.DependsOn)
		}
	}
	if nr.Draws != "" {
		if err := checkDraw(ctx, t, nr); err != nil {
			return Record{}, err
		}
	}
	_, err = t.ExecContext(ctx, insertRecord, args...)
	if isConstraint(err, sqlite3.SQLITE_CONSTRAINT_UNIQUE) {
		return Record{}, rx.Errorf(rx.ECONFLICT, "A record with id %s is already in the journal.", rec.ID)
	} else if err != nil {
		return Record{}, err
	}
	t.records++
	t.head.seq, t.head.hash = rec.Seq, rec.Hash
	if nr.Kind == KindModeChange {
		t.head = nil // the mode changed: ChangeMode knows the new one, the next append reads it
	}
	return rec, nil
}

// newRecord checks nr and makes the record that follows head, written at
// now, with insertRecord's arguments.
func (j *Journal) newRecord(nr NewRecord, head *txHead, now time.Time) (Record, []any, error) {
	v := &rx.ValidationError{}
	id := nr.ID
	if id == "" {
		id = NewID()
	} else if u, err := uuid.Parse(id); err != nil {
		v.Add("id", "is not a UUID")
	} else {
		id = u.String()
	}
	if !nr.Kind.Valid() {
		v.Add("kind", "unknown record kind %q", nr.Kind)
	}
	if nr.Pharmacist == "" && nr.Kind != KindModeChange && nr.Kind != KindSignIn {
		v.Add("pharmacist", "every record names the pharmacist who made it")
	}
	if (nr.Kind == KindVoid || nr.Kind == KindResolution) && nr.RefersTo == "" {
		v.Add("refers_to", "a %s must name the record it refers to", nr.Kind)
	}
	if nr.DependsOn != "" && !nr.Upload {
		v.Add("depends_on", "only a record to upload can wait for another")
	}
	body, err := canonicalJSON(nr.Body)
	if err != nil {
		v.Add("body", "is not valid JSON: %v", err)
	}
	if err := v.Err(); err != nil {
		return Record{}, nil, err
	}
	when := nr.Time
	if when.IsZero() {
		when = now
	}
	rules := nr.Rules
	if rules == nil {
		rules = []string{}
	}
	rec := Record{
		Seq:        head.seq + 1,
		ID:         id,
		Kind:       nr.Kind,
		Time:       roundTrip(when),
		CreatedAt:  roundTrip(now),
		Pharmacist: nr.Pharmacist,
		Terminal:   j.terminal,
		Mode:       head.mode.Mode,
		Rules:      rules,
		RefersTo:   nr.RefersTo,
		Patient:    nr.Patient,
		Body:       body,
		PrevHash:   head.hash,
	}
	rec.Hash = rec.computeHash()
	rulesJSON, _ := json.Marshal(rec.Rules)
	upload := 0
	if nr.Upload {
		upload = 1
	}
	return rec, []any{rec.Seq, rec.ID, string(rec.Kind), ts(rec.Time), ts(rec.CreatedAt), rec.Pharmacist, rec.Terminal, string(rec.Mode),
		string(rulesJSON), nullable(rec.RefersTo), rec.Patient, string(rec.Body), rec.PrevHash, rec.Hash, upload, nullable(nr.DependsOn)}, nil
}

// headQuery reads in one statement what an append needs of the records
// before it: the last mode change (as modeQuery), the last record's
// sequence number and hash, and the highest sequence number ever handed
// out (sqlite_sequence remembers it, so a number is never reused). It was
// three statements, and each costs an append a round trip through
// database/sql and the driver.
const headQuery = `SELECT m.seq, m.time, m.body, h.seq, h.hash, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'records'), 0)
	FROM (SELECT 1) AS one
	LEFT JOIN (` + modeQuery + `) AS m
	LEFT JOIN (SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1) AS h`

// readHead returns the mode in force and the chain's head.
func readHead(ctx context.Context, t *tx) (*txHead, error) {
	var modeSeq, lastSeq sql.NullInt64
	var modeTime, modeBody, lastHash sql.NullString
	var used int64
	if err := t.QueryRowContext(ctx, headQuery).Scan(&modeSeq, &modeTime, &modeBody, &lastSeq, &lastHash, &used); err != nil {
		return nil, err
	}
	h := &txHead{mode: rx.ModeState{Mode: rx.ModeOnline}, seq: max(lastSeq.Int64, used), hash: genesisHash}
	if modeSeq.Valid {
		var err error
		if h.mode, err = modeStateOf(modeSeq.Int64, modeTime.String, modeBody.String); err != nil {
			return nil, err
		}
	}
	if lastSeq.Valid {
		h.hash = lastHash.String
	}
	return h, nil
}

// roundTrip returns t as it reads back from the file: UTC, no monotonic
// reading, so the hash computed now equals the one recomputed later.
func roundTrip(t time.Time) time.Time {
	back, _ := parseTS(ts(t))
	return back
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// hashVersion names the encoding computeHash uses; a new encoding gets a new
// name, so old records still verify.
const hashVersion = "tiski-record-v1"

// computeHash returns the record's hash: SHA-256 over a JSON array of every
// stored column but the hash, in a fixed order, the previous hash among
// them. Times are in their stored form. Strings in a JSON array of strings
// and integers encode one way only, so the encoding is canonical.
func (r *Record) computeHash() string {
	rules, _ := json.Marshal(r.Rules)
	fields := []any{
		hashVersion, r.Seq, r.ID, string(r.Kind), ts(r.Time), ts(r.CreatedAt), r.Pharmacist, r.Terminal,
		string(r.Mode), string(rules), r.RefersTo, r.Patient, string(r.Body), r.PrevHash,
	}
	enc, err := json.Marshal(fields)
	if err != nil {
		panic(err) // strings and integers always encode
	}
	sum := sha256.Sum256(enc)
	return hex.EncodeToString(sum[:])
}

const recordColumns = `seq, id, kind, time, created_at, pharmacist, terminal, mode, rules, coalesce(refers_to, ''), patient, body, prev_hash, hash`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(s scanner) (Record, error) {
	var r Record
	var kind, tm, created, mode, rules, body string
	if err := s.Scan(&r.Seq, &r.ID, &kind, &tm, &created, &r.Pharmacist, &r.Terminal, &mode, &rules, &r.RefersTo, &r.Patient, &body, &r.PrevHash, &r.Hash); err != nil {
		return Record{}, err
	}
	r.Kind, r.Mode, r.Body = Kind(kind), rx.Mode(mode), json.RawMessage(body)
	var err error
	if r.Time, err = parseTS(tm); err != nil {
		return Record{}, err
	}
	if r.CreatedAt, err = parseTS(created); err != nil {
		return Record{}, err
	}
	if err := json.Unmarshal([]byte(rules), &r.Rules); err != nil {
		return Record{}, fmt.Errorf("record %d: rules: %w", r.Seq, err)
	}
	return r, nil
}

// Get returns the record with the id; rx.ENOTFOUND when there is none.
func (j *Journal) Get(ctx context.Context, id string) (Record, error) {
	var rec Record
	err := j.read(ctx, "get record", func(t *tx) error {
		var err error
		rec, err = getRecord(ctx, t, id)
		return err
	})
	return rec, err
}

func getRecord(ctx context.Context, t *tx, id string) (Record, error) {
	rec, err := scanRecord(t.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM records WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, rx.Errorf(rx.ENOTFOUND, "There is no record %s in the journal.", id)
	}
	return rec, err
}

// Filter selects records for List. Zero fields select everything.
type Filter struct {
	Since    time.Time // records that happened at or after this time
	Kinds    []Kind    // of these kinds
	Patient  string    // of this patient (HETU)
	RefersTo string    // that refer to this record: its voids and resolutions
	AfterSeq int64     // with a sequence number above this, for paging
	Limit    int       // at most this many; 0: no limit
	// Peers adds the records of the pharmacy's other counters kept from
	// the hub (Record.Peer), and orders all by when they happened. It
	// cannot be used with AfterSeq: sequence numbers are per counter.
	Peers bool
}

// List returns the records the filter selects, in sequence order.
func (j *Journal) List(ctx context.Context, f Filter) ([]Record, error) {
	var recs []Record
	err := j.read(ctx, "list records", func(t *tx) error {
		var err error
		recs, err = listRecords(ctx, t, f)
		return err
	})
	return recs, err
}

func listRecords(ctx context.Context, t *tx, f Filter) ([]Record, error) {
	var where []string
	var args []any
	if !f.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, ts(f.Since))
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN (?"+strings.Repeat(", ?", len(f.Kinds)-1)+")")
		for _, k := range f.Kinds {
			args = append(args, string(k))
		}
		if !slices.Contains(f.Kinds, KindDispensing) {
			// Lets SQLite use the partial index records_kind.
			where = append(where, "kind <> 'dispensing'")
		}
	}
	if f.Patient != "" {
		where = append(where, "patient = ? AND patient <> ''")
		args = append(args, f.Patient)
	}
	if f.RefersTo != "" {
		where = append(where, "refers_to = ?")
		args = append(args, f.RefersTo)
	}
	if f.AfterSeq > 0 {
		if f.Peers {
			return nil, errNoPeers
		}
		where = append(where, "seq > ?")
		args = append(args, f.AfterSeq)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	q := `SELECT ` + recordColumns + `, 0 FROM records` + cond
	if f.Peers {
		q += ` UNION ALL SELECT ` + recordColumns + `, 1 FROM peer_records` + strings.ReplaceAll(cond, "kind <> 'dispensing'", "1")
		args = append(args, args...)
		q += " ORDER BY time, created_at"
	} else {
		q += " ORDER BY seq"
	}
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := t.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return appendRows(nil, rows, func(s scanner) (Record, error) {
		var peer int
		r, err := scanRecord(scanFunc(func(dest ...any) error { return s.Scan(append(dest, &peer)...) }))
		r.Peer = peer == 1
		return r, err
	})
}
