package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// measureJournal measures durable appends (DESIGN §10: p99 within 2× the
// raw fsync floor of the same disk, in the same run; issue 20 raised it to
// 1.3×, appendP99).
//
// The floor writes as many bytes as one append adds to the WAL, measured in
// this run from the WAL's growth, at offsets it overwrites (as SQLite
// reuses its WAL after a checkpoint), and fsyncs them: SQLite's commit in
// WAL mode with synchronous=FULL is exactly that, a write of the
// transaction's frames and one fsync of the WAL (modernc.org/sqlite calls
// fsync, not fdatasync, on Linux). Appends and floor writes alternate one
// by one, so load from elsewhere on the machine weighs on both alike (in
// blocks of fifty, a burst of another process's I/O fell on one block and
// decided the 99th percentile).
// appendP99 bounds a durable append's 99th percentile, as a ratio to the
// fsync floor's (issue 20), and appendP99Gate is DESIGN §10's first bound,
// which CI holds (--gated) until the append reaches the issue's: on a quiet
// disk an append's 99th percentile is its median, about 1.6× the floor's
// (eight page writes and six lock calls around the same fsync; issue 20's
// note).
const (
	appendP99     = 1.3
	appendP99Gate = 2.0
)

func measureJournal(ctx context.Context, cfg config) []Row {
	// DESIGN §10 bounds the 99th percentile; the median is reported
	// beside it, against the floor's median.
	p50 := reportOnly("DESIGN §10 bounds p99")
	p99 := ratioAtMost(appendP99).gated(ratioAtMost(appendP99Gate))
	rows, err := journalRows(ctx, cfg, p50, p99, false)
	if err != nil {
		return []Row{failed("journal: durable append", "ms", p99, err)}
	}
	return rows
}

// journalRows measures the durable appends; with shared, a hub runs
// beside them and the counter's Sharer shares each record as the counter
// does (kicked after every append), so the rows measure the append with
// the share lane enabled (issue 19).
func journalRows(ctx context.Context, cfg config, c50, c99 check, shared bool) (rows []Row, err error) {
	dir, err := os.MkdirTemp("", "tiskibench-journal-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "journal.db")
	j, err := journal.Open(ctx, path, journal.Options{Terminal: "kassa-1"})
	if err != nil {
		return nil, err
	}
	defer j.Close()
	kick, prefix := func() {}, "journal: durable append"
	if shared {
		l, lerr := startLane(ctx, filepath.Join(dir, "hub"), j)
		if lerr != nil {
			return nil, lerr
		}
		defer l.stop()
		kick, prefix = l.sharer.Kick, "journal: durable append with the share lane"
		defer func() {
			// The rows hold only if the lane really was shared beside
			// the appends: a sharer that did nothing would flatter them.
			if err == nil {
				err = l.drained(ctx, j)
			}
		}()
	}

	nr := func() journal.NewRecord {
		d := benchDispensing(journal.NewID(), patients[0], time.Now())
		body, _ := json.Marshal(record.DispensingBody{Dispensing: d, UnitsPerDay: 3, FaultReference: "tiskibench"})
		return journal.NewRecord{ID: d.ID, Kind: journal.KindDispensing, Pharmacist: benchPharmacist.ID, Patient: d.Patient,
			Rules: []string{"essential.quantity", "essential.basis"}, Body: body, Upload: true}
	}
	// The WAL's growth per append while it grows (before its first
	// checkpoint): the bytes one commit writes. These appends also warm
	// the journal up to its steady state: a WAL file that is written over
	// after each checkpoint rather than grown. An fsync that grows a file
	// also commits its new size and costs about twice as much. A counter
	// is there after its first idle checkpoint (64 records); appends back
	// to back, as here, never idle, so SQLite's own checkpoint at 16,000
	// pages is the first: about 4,000 appends of four pages. The warm-up
	// lasts until the WAL has not grown for steady appends in a row.
	const steady, maxWarmup = 200, 20000
	var growth []int64
	last, same := int64(0), 0
	for n := 0; same < steady || len(growth) == 0; n++ {
		if n == maxWarmup {
			return nil, fmt.Errorf("the WAL still grew after %d appends", maxWarmup)
		}
		if _, err := j.Append(ctx, nr()); err != nil {
			return nil, err
		}
		kick()
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			return nil, err
		}
		same++
		if d := fi.Size() - last; d > 0 {
			if last > 0 {
				growth = append(growth, d)
			}
			same = 0
		}
		last = fi.Size()
	}
	slices.Sort(growth)
	commitBytes := growth[len(growth)/2]

	floorFile, err := os.OpenFile(filepath.Join(dir, "floor"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	defer floorFile.Close()
	const slots = 64
	block := make([]byte, commitBytes)
	for i := range block {
		block[i] = byte(i)
	}
	for i := range slots {
		if _, err := floorFile.WriteAt(block, int64(i)*commitBytes); err != nil {
			return nil, err
		}
	}
	if err := floorFile.Sync(); err != nil {
		return nil, err
	}

	// SQLite's own floor, beside ours (without the lane only): a commit of
	// one short row into a table with no index, the same pragmas, its WAL
	// reused as the journal's is. The gap between it and the floor is
	// SQLite's (two writes a frame, four lock calls, its bytecode); the
	// gap between it and the append is the journal's (the record's pages
	// and indexes, the hash chain, the outbox row).
	flushDisks()
	appends := make([]time.Duration, 0, cfg.appends)
	floors := make([]time.Duration, 0, cfg.appends)
	for len(appends) < cfg.appends {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		{
			rec := nr()
			start := time.Now()
			if _, err := j.Append(ctx, rec); err != nil {
				return nil, err
			}
			appends = append(appends, time.Since(start))
			kick()
		}
		{
			off := int64(len(floors)%slots) * commitBytes
			start := time.Now()
			if _, err := floorFile.WriteAt(block, off); err != nil {
				return nil, err
			}
			if err := floorFile.Sync(); err != nil {
				return nil, err
			}
			floors = append(floors, time.Since(start))
		}
	}
	// The reference in a pass of its own after the appends, alternating
	// with floor writes as they did: interleaved with the appends, its
	// writes weighed on theirs (the append's p99 went from 1.6× to 2.6×
	// the floor in a full run).
	var bare *bareSQLite
	if !shared {
		if bare, err = openBareSQLite(ctx, filepath.Join(dir, "bare.db"), cfg.appends+1000); err != nil {
			return nil, err
		}
		defer bare.close()
		flushDisks()
	}
	bares := make([]time.Duration, 0, cfg.appends)
	bareFloors := make([]time.Duration, 0, cfg.appends)
	for bare != nil && len(bares) < cfg.appends {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		start := time.Now()
		if err := bare.commit(ctx); err != nil {
			return nil, err
		}
		bares = append(bares, time.Since(start))
		off := int64(len(bareFloors)%slots) * commitBytes
		start = time.Now()
		if _, err := floorFile.WriteAt(block, off); err != nil {
			return nil, err
		}
		if err := floorFile.Sync(); err != nil {
			return nil, err
		}
		bareFloors = append(bareFloors, time.Since(start))
	}
	floorIs := fmt.Sprintf("write %d B (one append's WAL frames) + fsync, same folder, interleaved", commitBytes)
	n := fmt.Sprintf("%d", cfg.appends)
	rows = []Row{
		row(prefix+" p50 ("+n+")", ms(quantile(appends, 0.50)), "ms", ms(quantile(floors, 0.50)), floorIs, c50),
		row(prefix+" p99 ("+n+")", ms(quantile(appends, 0.99)), "ms", ms(quantile(floors, 0.99)), floorIs, c99),
	}
	if bare != nil {
		rows = append(rows, row("journal: SQLite's own commit of one short row p99 ("+n+")", ms(quantile(bares, 0.99)), "ms",
			ms(quantile(bareFloors, 0.99)), floorIs+"; this commit writes one page, not the append's", reportOnly("a reference: SQLite's own share of the append's ratio")))
	}
	return rows, nil
}

// bareSQLite is a database of one table and no index, opened as the
// journal opens its own (WAL, synchronous=FULL), for the reference row.
type bareSQLite struct {
	db  *sql.DB
	ins *sql.Stmt
}

func openBareSQLite(ctx context.Context, path string, warm int) (*bareSQLite, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(wal)&_pragma=synchronous(full)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	b := &bareSQLite{db: db}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		b.close()
		return nil, err
	}
	if b.ins, err = db.PrepareContext(ctx, `INSERT INTO t (v) VALUES ('tiskibench')`); err != nil {
		b.close()
		return nil, err
	}
	// Grow the WAL past what the run writes, then checkpoint it whole:
	// the commits that follow overwrite it from its start, as the
	// journal's do (a WAL that grows costs an fsync of its size too).
	for range warm {
		if err := b.commit(ctx); err != nil {
			b.close()
			return nil, err
		}
	}
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(RESTART)`); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

func (b *bareSQLite) commit(ctx context.Context) error {
	_, err := b.ins.ExecContext(ctx)
	return err
}

func (b *bareSQLite) close() { b.db.Close() }

// quantile returns the q-quantile of the samples (nearest rank).
func quantile(samples []time.Duration, q float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// The people and patients of the measurements: the bundled fixtures'.
var (
	benchPharmacist = rx.Pharmacist{ID: "aino", Name: "Aino Apteekkari", Registration: "10100012345", Role: rx.RolePharmacist}
	benchPharmacy   = rx.Pharmacy{Name: "Apteekki Tiski", OID: "1.2.246.10.12345678.10.0"}
	patients        = []string{"140348-901W", "131052-902Y", "210731Y903A"}
)

// benchMedicine is the bundled fixtures' Panadol 500 mg.
var benchMedicine = func() rx.Medicine {
	fx, err := rx.LoadFixtures(tiski.Fixtures(), time.Now())
	if err != nil {
		panic(err) // the bundled fixtures are tested; this cannot fail
	}
	m, ok := fx.Medicine("panadol-500mg-tabl")
	if !ok {
		panic("no panadol-500mg-tabl in the bundled fixtures")
	}
	return m
}()

// benchDispensing is an essential-medication dispensing on the previous
// package's label: it needs no prescription upstream, so it suits bulk.
func benchDispensing(id, patient string, when time.Time) rx.Dispensing {
	return rx.Dispensing{ID: id, Patient: patient, Medicine: benchMedicine, VNR: "990011", Quantity: 30, Time: when,
		Pharmacist: benchPharmacist, Pharmacy: benchPharmacy, Essential: true, Basis: rx.BasisPreviousLabel}
}
