package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// noticeBody is the body of a notice record.
type noticeBody struct {
	Kind rx.NoticeKind `json:"kind"`
	From string        `json:"from"`
	To   string        `json:"to,omitempty"`
	Text string        `json:"text"`
	Ref  string        `json:"ref,omitempty"`
}

// noticeEndBody is the body of a notice_end record. The notice it ends is
// named in the body, not in refers_to: it may be another counter's record,
// which this counter's chain cannot refer to.
type noticeEndBody struct {
	Notice string `json:"notice"`
}

// NewNotice is one of Kela's notices to keep.
type NewNotice struct {
	Kind rx.NoticeKind
	From time.Time
	To   time.Time // zero: not known yet (only for a fault)
	Text string
	Ref  string
	By   string // the person who typed it in
}

// validate says, field by field, what is wrong with n.
func (n *NewNotice) validate() error {
	n.Text, n.Ref, n.By = strings.TrimSpace(n.Text), strings.TrimSpace(n.Ref), strings.TrimSpace(n.By)
	var v rx.ValidationError
	if !n.Kind.Valid() {
		v.Add("kind", "must be fault or maintenance, not %q", n.Kind)
	}
	if n.From.IsZero() {
		v.Add("from", "give the time the notice begins")
	}
	if n.Kind == rx.NoticeMaintenance && n.To.IsZero() {
		v.Add("to", "a planned break needs the time it ends")
	}
	if !n.To.IsZero() && !n.From.IsZero() && !n.To.After(n.From) {
		v.Add("to", "must be after the start (%s)", n.From.Local().Format("2006-01-02 15:04"))
	}
	if n.Text == "" {
		v.Add("text", "give the notice's text, as Kela published it")
	}
	if n.By == "" {
		v.Add("by", "name the person adding the notice")
	}
	return v.Err()
}

// AddNotice keeps one of Kela's notices: a notice record (never uploaded,
// shared with the other counters through the hub) and its row in notices,
// in one transaction. Bad input is refused with rx.EINVALID and nothing is
// written.
func (j *Journal) AddNotice(ctx context.Context, n NewNotice) (rx.Notice, error) {
	if err := n.validate(); err != nil {
		return rx.Notice{}, err
	}
	body, err := json.Marshal(noticeBody{Kind: n.Kind, From: ts(n.From), To: ts(n.To), Text: n.Text, Ref: n.Ref})
	if err != nil {
		return rx.Notice{}, err
	}
	var out rx.Notice
	err = j.writeRecords(ctx, "add notice", func(t *tx) error {
		rec, err := j.appendRecord(ctx, t, NewRecord{Kind: KindNotice, Pharmacist: n.By, Body: body})
		if err != nil {
			return err
		}
		if err := applyNotice(ctx, t, rec); err != nil {
			return err
		}
		out, err = getNotice(ctx, t, rec.ID)
		return err
	})
	return out, err
}

// EndNotice ends a notice by hand now: Kela announced its end, or it was
// typed in by mistake. id may be a unique prefix of the notice's id. A
// notice that is over already is refused with rx.ECONFLICT.
func (j *Journal) EndNotice(ctx context.Context, id, by string) (rx.Notice, error) {
	id, by = strings.TrimSpace(id), strings.TrimSpace(by)
	if by == "" {
		return rx.Notice{}, rx.Errorf(rx.EINVALID, "Name the person ending the notice.")
	}
	var out rx.Notice
	err := j.writeRecords(ctx, "end notice", func(t *tx) error {
		n, err := findNotice(ctx, t, id)
		if err != nil {
			return err
		}
		now := j.now()
		if n.Over(now) {
			return rx.Errorf(rx.ECONFLICT, "Notice %s is over already (it ended %s); nothing was changed.", short(n.ID), n.End().Local().Format("2006-01-02 15:04"))
		}
		body, err := json.Marshal(noticeEndBody{Notice: n.ID})
		if err != nil {
			return err
		}
		rec, err := j.appendRecord(ctx, t, NewRecord{Kind: KindNoticeEnd, Pharmacist: by, Body: body})
		if err != nil {
			return err
		}
		if err := applyNoticeEnd(ctx, t, rec); err != nil {
			return err
		}
		out, err = getNotice(ctx, t, n.ID)
		return err
	})
	return out, err
}

// Notices returns every notice kept, earliest start first.
func (j *Journal) Notices(ctx context.Context) ([]rx.Notice, error) {
	var out []rx.Notice
	err := j.read(ctx, "list notices", func(t *tx) error {
		rows, err := t.QueryContext(ctx, `SELECT `+noticeCols+` FROM notices ORDER BY starts, added_at`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			n, err := scanNotice(rows.Scan)
			if err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}

// PlannedBreak returns the maintenance notice in force at t, the one that
// began last when several overlap; ok is false when none is. The mode
// machine asks it at every tick.
func (j *Journal) PlannedBreak(ctx context.Context, at time.Time) (n rx.Notice, ok bool, err error) {
	err = j.read(ctx, "read planned breaks", func(t *tx) error {
		rows, err := t.QueryContext(ctx, `SELECT `+noticeCols+` FROM notices WHERE kind = 'maintenance' AND starts <= ?
			ORDER BY starts DESC`, ts(at))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanNotice(rows.Scan)
			if err != nil {
				return err
			}
			if c.InForce(at) {
				n, ok = c, true
				break
			}
		}
		return rows.Err()
	})
	return n, ok, err
}

const noticeCols = `id, kind, starts, ends, text, ref, counter, added_at, added_by, ended_at, ended_by`

func scanNotice(scan func(...any) error) (rx.Notice, error) {
	var n rx.Notice
	var kind, from, to, added, ended string
	if err := scan(&n.ID, &kind, &from, &to, &n.Text, &n.Ref, &n.Counter, &added, &n.AddedBy, &ended, &n.EndedBy); err != nil {
		return rx.Notice{}, err
	}
	n.Kind = rx.NoticeKind(kind)
	var err error
	for _, p := range []struct {
		s string
		t *time.Time
	}{{from, &n.From}, {to, &n.To}, {added, &n.AddedAt}, {ended, &n.EndedAt}} {
		if *p.t, err = parseTS(p.s); err != nil {
			return rx.Notice{}, err
		}
	}
	return n, nil
}

func getNotice(ctx context.Context, t *tx, id string) (rx.Notice, error) {
	return scanNotice(t.QueryRowContext(ctx, `SELECT `+noticeCols+` FROM notices WHERE id = ?`, id).Scan)
}

// findNotice finds the notice whose id is id, begins with it or ends
// with it (the short id tiski shows: ids are UUIDv7, and their beginning
// is the time they were made).
func findNotice(ctx context.Context, t *tx, id string) (rx.Notice, error) {
	if id == "" {
		return rx.Notice{}, rx.Errorf(rx.EINVALID, "Name the notice to end: its id, as tiski notice list shows it.")
	}
	rows, err := t.QueryContext(ctx, `SELECT `+noticeCols+` FROM notices WHERE substr(id, 1, length(?1)) = ?1 OR substr(id, -length(?1)) = ?1 LIMIT 2`, strings.ToLower(id))
	if err != nil {
		return rx.Notice{}, err
	}
	defer rows.Close()
	var found []rx.Notice
	for rows.Next() {
		n, err := scanNotice(rows.Scan)
		if err != nil {
			return rx.Notice{}, err
		}
		found = append(found, n)
	}
	if err := rows.Err(); err != nil {
		return rx.Notice{}, err
	}
	switch len(found) {
	case 0:
		return rx.Notice{}, rx.Errorf(rx.ENOTFOUND, "No notice %s: tiski notice list shows the notices and their ids.", id)
	case 1:
		return found[0], nil
	}
	return rx.Notice{}, rx.Errorf(rx.EINVALID, "More than one notice matches %s: give more of its id.", id)
}

// short is the end of an id, its random part: enough to tell notices
// apart (a UUIDv7 begins with the time it was made).
func short(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}

// ShortID is the end of a notice's id that tiski shows and `tiski notice
// end` accepts.
func ShortID(id string) string { return short(id) }

// applyNotice keeps the notice that record r (this counter's or another's)
// carries, and any end of it that arrived before it.
func applyNotice(ctx context.Context, t *tx, r Record) error {
	var b noticeBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return rx.Errorf(rx.EINVALID, "Notice record %s: %v.", r.ID, err)
	}
	if _, err := t.ExecContext(ctx, `INSERT INTO notices (id, kind, starts, ends, text, ref, counter, added_at, added_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		r.ID, string(b.Kind), b.From, b.To, b.Text, b.Ref, r.Terminal, ts(r.Time), r.Pharmacist); err != nil {
		return err
	}
	// An end made at a third counter may have come first: the hub keeps
	// each counter's order, not the order across counters.
	var by, at string
	err := t.QueryRowContext(ctx, `SELECT pharmacist, time FROM peer_records WHERE kind = 'notice_end' AND json_extract(body, '$.notice') = ?
		ORDER BY time LIMIT 1`, r.ID).Scan(&by, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	_, err = t.ExecContext(ctx, `UPDATE notices SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at = ''`, at, by, r.ID)
	return err
}

// applyNoticeEnd marks the notice that end record r names as ended; a
// notice not here yet takes it when it comes (applyNotice).
func applyNoticeEnd(ctx context.Context, t *tx, r Record) error {
	var b noticeEndBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return rx.Errorf(rx.EINVALID, "Notice end record %s: %v.", r.ID, err)
	}
	_, err := t.ExecContext(ctx, `UPDATE notices SET ended_at = ?, ended_by = ? WHERE id = ? AND ended_at = ''`, ts(r.Time), r.Pharmacist, b.Notice)
	return err
}

// applyPeerNotice keeps what another counter's notice or end of one says.
func applyPeerNotice(ctx context.Context, t *tx, r Record) error {
	switch r.Kind {
	case KindNotice:
		return applyNotice(ctx, t, r)
	case KindNoticeEnd:
		return applyNoticeEnd(ctx, t, r)
	}
	return nil
}
