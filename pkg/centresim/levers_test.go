package centresim

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/fhirschema"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// leverCalls pulls each lever through the Go API or the admin API, so that
// one table tests both.
type leverCalls struct {
	cancel   func(id string) error
	lock     func(id, by string) error
	unlock   func(id string) error
	dispense func(id string, qty int, pharmacy string) error
	issued   func(id string, day time.Time) error
	create   func(p rx.Prescription) (string, error)
}

// adminError turns an admin answer into the lever's error, by status.
func adminError(t *testing.T, a answer) error {
	t.Helper()
	var e struct{ Error string }
	_ = json.Unmarshal(a.body, &e)
	switch a.status {
	case 200:
		return nil
	case 404:
		return ErrUnknownPrescription
	case 409:
		return ErrRefused
	case 400:
		return ErrInvalid
	}
	return errors.New(e.Error)
}

func goLevers(s *Server) leverCalls {
	return leverCalls{s.CancelPrescription, s.LockPrescription, s.UnlockPrescription, s.DispenseElsewhere, s.SetPrescriptionIssued, s.CreatePrescription}
}

func httpLevers(t *testing.T, s *Server) leverCalls {
	post := func(method, path string, body any) answer {
		a := call(t, nil, method, s.AdminURL()+path, body)
		if a.status == 200 {
			var ok struct{ ID, Version string }
			if err := json.Unmarshal(a.body, &ok); err != nil || ok.ID == "" || ok.Version == "" {
				t.Errorf("admin answer %s", a.body)
			}
		}
		return a
	}
	return leverCalls{
		cancel: func(id string) error { return adminError(t, post("POST", "/prescriptions/"+id+"/cancel", nil)) },
		lock: func(id, by string) error {
			return adminError(t, post("POST", "/prescriptions/"+id+"/lock", map[string]any{"by": by}))
		},
		unlock: func(id string) error { return adminError(t, post("POST", "/prescriptions/"+id+"/unlock", nil)) },
		dispense: func(id string, qty int, pharmacy string) error {
			return adminError(t, post("POST", "/prescriptions/"+id+"/dispense-elsewhere", map[string]any{"quantity": qty, "pharmacy": pharmacy}))
		},
		issued: func(id string, day time.Time) error {
			return adminError(t, post("PUT", "/prescriptions/"+id+"/issued", map[string]any{"issued": day.Format(time.DateOnly)}))
		},
		create: func(p rx.Prescription) (string, error) {
			a := post("POST", "/prescriptions", map[string]any{"patient": p.Patient, "vnr": p.Medicine.Packages[0].VNR,
				"prescriber": map[string]any{"name": p.Prescriber.Name, "registration": p.Prescriber.Registration},
				"issued":     p.Issued.Format(time.DateOnly), "quantity": p.Quantity, "repeats": p.Repeats, "dosage": p.Dosage})
			var ok struct{ ID string }
			_ = json.Unmarshal(a.body, &ok)
			return ok.ID, adminError(t, a)
		},
	}
}

func TestLevers(t *testing.T) {
	v := fhirschema.ForTest(t)
	for _, via := range []string{"go", "http"} {
		t.Run(via, func(t *testing.T) {
			s := startSim(t, Config{})
			l := goLevers(s)
			if via == "http" {
				l = httpLevers(t, s)
			}
			send := func(d map[string]any) (int, string) {
				a := call(t, nil, "POST", s.URL()+"/MedicationDispense", d)
				if a.status >= 400 {
					_, r, _, _ := reasonOf(t, a)
					return a.status, r
				}
				return a.status, ""
			}
			raised := func(id string, change func() error) {
				t.Helper()
				_, _, before := prescriptionState(t, s, id)
				if err := change(); err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				a := call(t, nil, "GET", s.URL()+"/MedicationRequest/"+id, nil)
				v.Check(t, id, a.body)
				if a.header.Get("ETag") == before {
					t.Errorf("%s: the version stayed %s", id, before)
				}
			}

			t.Run("cancel", func(t *testing.T) {
				raised("EP5", func() error { return l.cancel("EP5") })
				if st, r := send(dispensing(newUUID(), hetuAino, "EP5", "990011", 1, "Apteekki Yksi")); st != 422 || r != "cancelled" {
					t.Errorf("%d %s", st, r)
				}
			})
			t.Run("lock and unlock", func(t *testing.T) {
				raised("EP1", func() error { return l.lock("EP1", "Apteekki Muu") })
				if st, r := send(dispensing(newUUID(), hetuAino, "EP1", "990011", 1, "Apteekki Yksi")); st != 409 || r != "locked" {
					t.Errorf("locked: %d %s", st, r)
				}
				if st, _ := send(dispensing(newUUID(), hetuAino, "EP1", "990011", 1, "Apteekki Muu")); st != 201 {
					t.Errorf("the lock holder: %d", st)
				}
				raised("EP1", func() error { return l.unlock("EP1") })
				if st, _ := send(dispensing(newUUID(), hetuAino, "EP1", "990011", 1, "Apteekki Yksi")); st != 201 {
					t.Errorf("unlocked: %d", st)
				}
				if err := l.lock("EP1", " "); !errors.Is(err, ErrInvalid) {
					t.Errorf("lock by nobody: %v", err)
				}
			})
			t.Run("dispense elsewhere", func(t *testing.T) {
				if err := l.dispense("EPA", 11, "Apteekki Muu"); !errors.Is(err, ErrRefused) {
					t.Errorf("more than remains: %v", err)
				}
				raised("EPA", func() error { return l.dispense("EPA", 10, "Apteekki Muu") })
				if st, _, _ := prescriptionState(t, s, "EPA"); st != "completed" {
					t.Errorf("EPA %s", st)
				}
				if st, r := send(dispensing(newUUID(), hetuAino, "EPA", "990041", 10, "Apteekki Yksi")); st != 422 || r != "completed" {
					t.Errorf("%d %s", st, r)
				}
				if err := l.dispense("EPA", 1, "Apteekki Muu"); !errors.Is(err, ErrRefused) {
					t.Errorf("a completed one: %v", err)
				}
				if err := l.dispense("EP6", 1, "Apteekki Kolmas"); !errors.Is(err, ErrRefused) {
					t.Errorf("locked by a third: %v", err)
				}
				a := call(t, nil, "GET", s.URL()+"/MedicationDispense?patient.identifier=urn:oid:1.2.246.21|"+hetuAino+"&_count=500", nil)
				v.Check(t, "searchset", a.body)
				if !strings.Contains(string(a.body), `"display":"Apteekki Muu"`) {
					t.Errorf("the dispensing elsewhere is not served")
				}
			})
			t.Run("set issued: expired", func(t *testing.T) {
				raised("EP8", func() error { return l.issued("EP8", testNow.AddDate(-3, 0, 0)) })
				a := call(t, nil, "GET", s.URL()+"/MedicationRequest/EP8", nil)
				if !strings.Contains(string(a.body), `"authoredOn":"2023-11-22"`) || !strings.Contains(string(a.body), `"end":"2025-11-22"`) {
					t.Errorf("EP8 %s", a.body)
				}
				if st, r := send(dispensing(newUUID(), hetuMatti, "EP8", "990011", 1, "Apteekki Yksi")); st != 422 || r != "expired" {
					t.Errorf("%d %s", st, r)
				}
			})
			t.Run("create an e-prescription", func(t *testing.T) {
				p := rx.Prescription{Patient: hetuMatti, Prescriber: rx.Prescriber{Name: "Anna Korhonen", Registration: "10012345"},
					Medicine: rx.Medicine{Packages: []rx.Package{{VNR: "990012", Size: 100}}}, Issued: testNow.AddDate(0, 0, -2),
					Quantity: 100, Repeats: 1, Dosage: "1 tablet a day"}
				id, err := l.create(p)
				if err != nil || id != "EP90000001" {
					t.Fatalf("%q %v", id, err)
				}
				a := call(t, nil, "GET", s.URL()+"/MedicationRequest/"+id, nil)
				v.Check(t, id, a.body)
				m := a.json(t)
				if m["status"] != "active" || m["authoredOn"] != "2026-11-20" || a.header.Get("ETag") != `W/"1"` || m["reportedBoolean"] != nil ||
					!strings.Contains(string(a.body), `"code":"electronic"`) || !strings.Contains(string(a.body), `"value":200`) {
					t.Errorf("created: %s", a.body)
				}
				list := call(t, nil, "GET", s.URL()+"/MedicationRequest?patient.identifier=urn:oid:1.2.246.21|"+hetuMatti, nil)
				if !strings.Contains(string(list.body), id) {
					t.Errorf("not in the patient's list")
				}
				if st, _ := send(dispensing(newUUID(), hetuMatti, id, "990012", 100, "Apteekki Yksi")); st != 201 {
					t.Errorf("dispense: %d", st)
				}
				p.Patient = hetuNobody
				if _, err := l.create(p); !errors.Is(err, ErrInvalid) {
					t.Errorf("unknown patient: %v", err)
				}
			})
			t.Run("unknown prescription", func(t *testing.T) {
				for name, err := range map[string]error{
					"cancel": l.cancel("EPZZ"), "lock": l.lock("EPZZ", "x"), "unlock": l.unlock("EPZZ"),
					"dispense": l.dispense("EPZZ", 1, "x"), "issued": l.issued("EPZZ", testNow),
				} {
					if !errors.Is(err, ErrUnknownPrescription) {
						t.Errorf("%s: %v", name, err)
					}
				}
			})
		})
	}
	t.Run("the Go API names the existing id", func(t *testing.T) {
		s := startSim(t, Config{})
		_, err := s.CreatePrescription(rx.Prescription{ID: "EP1", Patient: hetuAino, Medicine: rx.Medicine{Packages: []rx.Package{{VNR: "990011", Size: 30}}}, Quantity: 30})
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%v", err)
		}
	})
}

// TestRequestLogRecords: every request is logged at its arrival, including
// those a fault answers, with the records it is about.
func TestRequestLogRecords(t *testing.T) {
	s := startSim(t, Config{})
	if err := s.SetFault(Fault{Kind: FaultThrottle, Seconds: 3}); err != nil {
		t.Fatal(err)
	}
	rec := newUUID()
	start := time.Now()
	a := call(t, nil, "POST", s.URL()+"/MedicationDispense", dispensing(rec, hetuAino, "EP1", "990011", 1, "Apteekki Yksi"),
		"If-None-Exist", "identifier=urn:ietf:rfc:3986|urn:uuid:"+rec)
	if a.status != 429 || a.header.Get("Retry-After") != "3" {
		t.Fatalf("%d %s", a.status, a.header)
	}
	rxRec, dispRec := newUUID(), newUUID()
	call(t, nil, "POST", s.URL()+"/", transactionBundle(rxRec, dispRec, hetuMatti, 30, 30))
	if err := s.SetFault(Fault{Kind: FaultUp}); err != nil {
		t.Fatal(err)
	}
	a = call(t, nil, "POST", s.URL()+"/", transactionBundle(rxRec, dispRec, hetuMatti, 30, 30))
	if a.status != 200 {
		t.Fatalf("after the throttle: %d %s", a.status, a.body)
	}
	var resp struct {
		Entry []struct{ Resource map[string]any }
	}
	_ = json.Unmarshal(a.body, &resp)
	md := resp.Entry[1].Resource
	call(t, nil, "PUT", s.URL()+"/MedicationDispense/"+md["id"].(string), voided(md, "statusReasonCodeableConcept", ""))
	end := time.Now()

	log := s.Requests()
	if len(log) != 4 {
		t.Fatalf("%d requests logged: %+v", len(log), log)
	}
	want := []struct {
		status  int
		records []string
	}{
		{429, []string{"urn:uuid:" + rec}},
		{429, []string{"urn:uuid:" + rxRec, "urn:uuid:" + dispRec}},
		{200, []string{"urn:uuid:" + rxRec, "urn:uuid:" + dispRec}},
		{200, []string{"MedicationDispense/" + md["id"].(string), "urn:uuid:" + dispRec}},
	}
	for i, lr := range log {
		if lr.Status != want[i].status || strings.Join(lr.Records, " ") != strings.Join(want[i].records, " ") {
			t.Errorf("request %d: %d %v, want %d %v", i, lr.Status, lr.Records, want[i].status, want[i].records)
		}
		if lr.Time.Before(start) || lr.Time.After(end) || (i > 0 && lr.Time.Before(log[i-1].Time)) {
			t.Errorf("request %d arrived at %s, outside %s..%s or before the one before it", i, lr.Time, start, end)
		}
	}
	if strings.Contains(string(call(t, nil, "GET", s.AdminURL()+"/requests", nil).body), hetuMatti) {
		t.Error("an identity code in the request log")
	}
}
