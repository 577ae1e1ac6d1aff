package centre

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/centresim"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// These tests run the client against the real simulator over loopback.

func startSim(t *testing.T, tlsDir string) *centresim.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := centresim.Start(ctx, centresim.Config{
		Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", DataDir: t.TempDir(), Seed: 1, TLSDir: tlsDir,
	})
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.Pharmacy.OID == "" {
		cfg.Pharmacy = testPharmacy
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

var (
	fixturesOnce sync.Once
	fixtures     *rx.Fixtures
	fixturesErr  error
)

func loadFixtures(t *testing.T) *rx.Fixtures {
	t.Helper()
	fixturesOnce.Do(func() { fixtures, fixturesErr = rx.LoadFixtures(tiski.Fixtures(), time.Now()) })
	if fixturesErr != nil {
		t.Fatal(fixturesErr)
	}
	return fixtures
}

func fixturePrescription(t *testing.T, id string) rx.Prescription {
	t.Helper()
	for _, p := range loadFixtures(t).Prescriptions {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no fixture prescription %s", id)
	return rx.Prescription{}
}

func fixtureMedicine(t *testing.T, id string) rx.Medicine {
	t.Helper()
	m, ok := loadFixtures(t).Medicine(id)
	if !ok {
		t.Fatalf("no fixture medicine %s", id)
	}
	return m
}

func mtlsDir(t *testing.T, opts centresim.CertOptions) string {
	t.Helper()
	dir := t.TempDir()
	if err := centresim.WriteCerts(dir, opts); err != nil {
		t.Fatalf("write certs: %v", err)
	}
	return dir
}

func tlsFiles(dir string) *TLSConfig {
	return &TLSConfig{
		CertFile: filepath.Join(dir, "client.crt"), KeyFile: filepath.Join(dir, "client.key"),
		CAFile: filepath.Join(dir, "ca.crt"),
	}
}

// TestLookupAndListing reads patients and prescriptions over plain HTTP and
// over mutual TLS, and checks every decoded prescription against the
// fixtures the simulator was seeded from.
func TestLookupAndListing(t *testing.T) {
	t.Parallel()
	dir := mtlsDir(t, centresim.CertOptions{})
	transports := []struct {
		name   string
		tlsDir string
		tls    *TLSConfig
	}{
		{"http", "", nil},
		{"mtls", dir, tlsFiles(dir)},
	}
	fx := loadFixtures(t)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			srv := startSim(t, tr.tlsDir)
			if tr.tls != nil && !strings.HasPrefix(srv.URL(), "https://") {
				t.Fatalf("simulator with TLS serves %s", srv.URL())
			}
			c := newClient(t, Config{BaseURL: srv.URL(), TLS: tr.tls, PageSize: 4})
			ctx := context.Background()
			if err := c.Probe(ctx); err != nil {
				t.Fatalf("probe: %v", err)
			}
			if tr.tls != nil {
				if exp, ok := c.CertificateExpiry(); !ok || exp.Before(time.Now()) {
					t.Errorf("certificate expiry %v %v", exp, ok)
				}
			}

			t.Run("find patient", func(t *testing.T) {
				p, err := c.FindPatient(ctx, "140348-901w")
				if err != nil {
					t.Fatal(err)
				}
				if p != (rx.Patient{HETU: "140348-901W", Family: "Korhonen", Given: "Matti"}) {
					t.Errorf("got %+v", p)
				}
			})
			t.Run("unknown patient", func(t *testing.T) {
				_, err := c.FindPatient(ctx, "010101A999X") // a valid test code no fixture uses
				var ce *Error
				if !errors.As(err, &ce) || ce.Class != Permanent || !errors.Is(err, ErrNotFound) || rx.ErrorCode(err) != rx.ENOTFOUND {
					t.Fatalf("got %v", err)
				}
				if strings.Contains(err.Error(), "010101A999X") || !strings.Contains(err.Error(), "010101A***X") {
					t.Errorf("identity code not masked: %q", err)
				}
			})
			t.Run("prescriptions match the fixtures", func(t *testing.T) {
				for _, pat := range fx.Patients {
					got, err := c.Prescriptions(ctx, pat.HETU)
					if err != nil {
						t.Fatalf("list %s: %v", pat.Name(), err)
					}
					var want []rx.Prescription
					for _, p := range fx.Prescriptions {
						if p.Patient == pat.HETU {
							want = append(want, p)
						}
					}
					if len(got) != len(want) {
						t.Errorf("%s: %d prescriptions, want %d", pat.Name(), len(got), len(want))
					}
					for _, w := range want {
						i := slices.IndexFunc(got, func(p rx.Prescription) bool { return p.ID == w.ID })
						if i < 0 {
							t.Errorf("%s: %s missing", pat.Name(), w.ID)
							continue
						}
						comparePrescription(t, got[i], w)
					}
				}
			})
			t.Run("paging follows next links", func(t *testing.T) {
				before := len(srv.Requests())
				got, err := c.Prescriptions(ctx, "140348-901W")
				if err != nil {
					t.Fatal(err)
				}
				pages := len(srv.Requests()) - before
				if want := (len(got) + 3) / 4; len(got) < 5 || pages != want {
					t.Errorf("%d prescriptions in %d requests, want %d pages of 4", len(got), pages, want)
				}
			})
			t.Run("one prescription with its version", func(t *testing.T) {
				p, err := c.Prescription(ctx, "EP26000701", patientOf(t, "EP26000701"))
				if err != nil {
					t.Fatal(err)
				}
				comparePrescription(t, p, fixturePrescription(t, "EP26000701"))
				if p.Version == "" {
					t.Error("no version from the ETag")
				}
			})
			t.Run("unknown prescription", func(t *testing.T) {
				// A search by _id that finds nothing (issue 18: one request).
				_, err := c.Prescription(ctx, "EP99999999", testHETU)
				var ce *Error
				if !errors.As(err, &ce) || ce.Class != Permanent || !errors.Is(err, ErrNotFound) || rx.ErrorCode(err) != rx.ENOTFOUND ||
					!strings.Contains(err.Error(), "no prescription EP99999999") {
					t.Fatalf("got %v", err)
				}
				if !slices.ContainsFunc(srv.Requests(), func(r centresim.LoggedRequest) bool { return r.RequestID == ce.RequestID && r.Status == 200 }) {
					t.Errorf("request id %q not in the simulator's log", ce.RequestID)
				}
			})
		})
	}
}

// comparePrescription checks what the counter shows of a prescription.
func comparePrescription(t *testing.T, got, want rx.Prescription) {
	t.Helper()
	type view struct {
		ID, Patient, Prescriber, Registration, Dosage, Locked string
		Form                                                  rx.Form
		Status                                                rx.Status
		Issued                                                string
		Quantity, Repeats, Dispensed                          int
		Name, ATC, Strength, MedForm, Unit                    string
		Narcotic, PKV, PackOK                                 bool
	}
	mk := func(p rx.Prescription, pack bool) view {
		return view{p.ID, p.Patient, p.Prescriber.Name, p.Prescriber.Registration, p.Dosage, p.LockedBy, p.Form, p.Status,
			p.Issued.Format(dateLayout), p.Quantity, p.Repeats, p.Dispensed,
			p.Medicine.Name, p.Medicine.ATC, p.Medicine.Strength, p.Medicine.Form, p.Medicine.Unit, p.Medicine.Narcotic, p.Medicine.PKV, pack}
	}
	packOK := len(got.Medicine.Packages) == 1
	if packOK {
		pk, ok := want.Medicine.Package(got.Medicine.Packages[0].VNR)
		packOK = ok && pk.Size == got.Medicine.Packages[0].Size
	}
	if g, w := mk(got, packOK), mk(want, true); g != w {
		t.Errorf("%s:\n got  %+v\n want %+v", want.ID, g, w)
	}
}
