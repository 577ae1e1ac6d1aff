package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiski-rx/tiski/pkg/centre"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/queue"
)

// measureDrain measures reconciliation (DESIGN §10): the real queue.Worker
// drains a journal of essential dispensings to the simulator over loopback,
// at no less than 0.8 of the simulator's own conditional-create throughput
// (issue 20; DESIGN §10 first asked for half), measured with a plain
// concurrent HTTP loop (kept-alive connections, the same concurrency) on a
// simulator of its own, before and after the drain. It is
// queue/bench_test.go's BenchmarkDrain10k.
//
// The floor is the same work upstream: the same conditional creates of the
// same resource, and the simulator answers both with the stored resource
// (it does so whatever the Prefer header), and the loop reads every
// answer whole. Its simulator runs in this process as the drain's does, so
// the two compete for the same CPUs.
func measureDrain(ctx context.Context, cfg config) []Row {
	// Issue 20's target; CI holds DESIGN §10's first one, 0.5, until the
	// drain reaches it on a loaded machine too: with the CPUs saturated
	// the ratio is about the simulator's CPU over the simulator's and the
	// client's, 0.65 (issue 20's note).
	c := ratioAtLeast(0.8).gated(ratioAtLeast(0.5))
	name := fmt.Sprintf("drain: %d records over loopback", cfg.drainRecords)
	if cfg.drainRecords != 10000 {
		name += ", not the design's 10,000"
	}
	r, err := drainRow(ctx, cfg, name, c)
	if err != nil {
		return []Row{failed(name, "records/s", c, err)}
	}
	return []Row{r}
}

func drainRow(ctx context.Context, cfg config, name string, c check) (Row, error) {
	before, err := floorCreates(ctx, cfg)
	if err != nil {
		return Row{}, fmt.Errorf("floor: %w", err)
	}
	dir, err := os.MkdirTemp("", "tiskibench-drain-")
	if err != nil {
		return Row{}, err
	}
	defer os.RemoveAll(dir)
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: filepath.Join(dir, "centre"), Seed: 7})
	if err != nil {
		return Row{}, err
	}
	defer sim.Close()
	path := filepath.Join(dir, "journal.db")
	j, err := journal.Open(ctx, path, journal.Options{Terminal: "kassa-1"})
	if err != nil {
		return Row{}, err
	}
	if err := fillJournal(ctx, j, cfg.drainRecords, 500, true); err != nil {
		j.Close()
		return Row{}, err
	}
	// Closing copies the fill's WAL into the journal file, as a counter's
	// idle checkpoint would have long before a sync; left in the WAL, it
	// was copied by SQLite's own checkpoint inside one of the drain's
	// writes, which timed the fill, not the drain.
	if err := j.Close(); err != nil {
		return Row{}, err
	}
	if j, err = journal.Open(ctx, path, journal.Options{Terminal: "kassa-1"}); err != nil {
		return Row{}, err
	}
	defer j.Close()
	client, err := centre.New(centre.Config{BaseURL: sim.URL(), Timeout: 10 * time.Second, ConnectTimeout: time.Second, Pharmacy: benchPharmacy})
	if err != nil {
		return Row{}, err
	}
	defer client.Close()
	w := queue.New(j, client, nil, queue.Config{Concurrency: cfg.drainWorkers, Rate: -1, LeaseTTL: time.Minute})
	dctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	start := time.Now()
	s, err := w.Drain(dctx, false)
	elapsed := time.Since(start)
	if err != nil {
		return Row{}, err
	}
	if s.Uploaded != cfg.drainRecords {
		return Row{}, fmt.Errorf("drained %d of %d (%+v)", s.Uploaded, cfg.drainRecords, s)
	}
	rate := float64(cfg.drainRecords) / elapsed.Seconds()
	if cfg.drainFloorOnce {
		floorIs := fmt.Sprintf("the simulator's conditional creates/s from a plain loop of %d goroutines, before the drain; drain took %s",
			cfg.drainWorkers, elapsed.Round(time.Millisecond))
		return row(name, rate, "records/s", before, floorIs, c), nil
	}
	after, err := floorCreates(ctx, cfg)
	if err != nil {
		return Row{}, fmt.Errorf("floor: %w", err)
	}
	floorIs := fmt.Sprintf("the simulator's conditional creates/s from a plain loop of %d goroutines (%.0f before, %.0f after); drain took %s",
		cfg.drainWorkers, before, after, elapsed.Round(time.Millisecond))
	return row(name, rate, "records/s", (before+after)/2, floorIs, c), nil
}

// fillJournal appends n essential dispensings for upload in transactions
// of batch records: the counter appends one at a time, which takes longer
// and measures nothing of interest here.
func fillJournal(ctx context.Context, j *journal.Journal, n, batch int, upload bool) error {
	now := time.Now().Truncate(time.Second)
	for i := 0; i < n; i += batch {
		nrs := make([]journal.NewRecord, 0, batch)
		for k := i; k < min(n, i+batch); k++ {
			d := benchDispensing(journal.NewID(), patients[k%len(patients)], now)
			body, err := json.Marshal(record.DispensingBody{Dispensing: d, UnitsPerDay: 3, FaultReference: "tiskibench"})
			if err != nil {
				return err
			}
			nrs = append(nrs, journal.NewRecord{ID: d.ID, Kind: journal.KindDispensing, Pharmacist: benchPharmacist.ID,
				Patient: d.Patient, Body: body, Upload: upload, Time: now})
		}
		if _, err := j.AppendAll(ctx, nrs...); err != nil {
			return err
		}
	}
	return nil
}

// floorCreates measures the simulator's conditional creates a second: a
// plain loop of concurrent goroutines POSTing new essential dispensings
// with If-None-Exist over kept-alive connections.
func floorCreates(ctx context.Context, cfg config) (float64, error) {
	dir, err := os.MkdirTemp("", "tiskibench-floor-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	sim, err := centresim.Start(ctx, centresim.Config{DataDir: dir, Seed: 7})
	if err != nil {
		return 0, err
	}
	defer sim.Close()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.drainWorkers * 2}}
	defer client.CloseIdleConnections()
	when := time.Now().Format(time.RFC3339)
	body := func(id string) []byte {
		return fmt.Appendf(nil, `{"resourceType":"MedicationDispense",
 "identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:uuid:%s"}],
 "status":"completed",
 "type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"EM","display":"Emergency Supply"}]},
 "medicationCodeableConcept":{"coding":[{"system":"urn:oid:1.2.246.537.6.55","code":"990011"},{"system":"urn:oid:1.2.246.537.6.32","code":"N02BE01","display":"paracetamol"}],"text":"Panadol 500 mg tablet"},
 "subject":{"type":"Patient","identifier":{"system":"urn:oid:1.2.246.21","value":"%s"}},
 "performer":[{"actor":{"type":"Practitioner","identifier":{"system":"urn:oid:1.2.246.537.26","value":"10100012345"},"display":"Aino Apteekkari"}},
  {"actor":{"type":"Organization","identifier":{"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.246.10.12345678.10.0"},"display":"Apteekki Tiski"}}],
 "quantity":{"value":30,"unit":"tablet"},
 "whenHandedOver":"%s",
 "note":[{"text":"Essential medication, basis: previous package's dosage label"}],
 "extension":[{"url":"https://tiski-rx.github.io/fhir/StructureDefinition/essential-basis","valueCode":"previous-label"}]}`, id, patients[0], when)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var failure error
	start := time.Now()
	for range cfg.drainWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(cfg.drainRecords) && ctx.Err() == nil {
				id := journal.NewID()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, sim.URL()+"/MedicationDispense", bytes.NewReader(body(id)))
				if err != nil {
					once.Do(func() { failure = err })
					return
				}
				req.Header.Set("Content-Type", "application/fhir+json")
				req.Header.Set("If-None-Exist", "identifier=urn:ietf:rfc:3986|urn:uuid:"+id)
				resp, err := client.Do(req)
				if err != nil {
					once.Do(func() { failure = err })
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					once.Do(func() { failure = fmt.Errorf("create answered %d", resp.StatusCode) })
					return
				}
			}
		}()
	}
	wg.Wait()
	if failure != nil {
		return 0, failure
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return float64(cfg.drainRecords) / time.Since(start).Seconds(), nil
}
