package conflicts

import (
	"strings"
	"testing"
	"time"

	tiski "github.com/tiski-rx/tiski"
	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
	"github.com/tiski-rx/tiski/tui/internal/tuitest"
)

// TestPeerPrescription (issue 19): a dispensing made here against a paper
// prescription recorded at another counter, refused upstream because that
// counter voided it there, names that counter where the pharmacist
// reviews it; the dispensing itself is this counter's.
func TestPeerPrescription(t *testing.T) {
	env := tuitest.New(t)
	peer := env.Peer(t, "kassa-2")
	fx, err := rx.LoadFixtures(tiski.Fixtures(), env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	med, _ := fx.Medicine("panadol-500mg-tabl")
	pack, _ := med.SmallestPackage()
	p := rx.Prescription{Patient: tuitest.Matti, Prescriber: fx.Prescribers[0], Medicine: med, Issued: env.Clock.Now(),
		Dosage: "1 tablet a day", Quantity: pack.Size, Repeats: 1, Reason: "the health centre's system was down"}
	rc, err := peer.Recorder.Paper(t.Context(), tuitest.PeerPharmacist, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	peer.Share(t)
	env.Clock.Advance(time.Minute)
	d := rx.Dispensing{PrescriptionRecord: rc.Record.ID, Patient: tuitest.Matti, Medicine: med, VNR: pack.VNR, Quantity: pack.Size, Time: env.Clock.Now()}
	disp, err := env.Services.Dispense(t.Context(), tuitest.Pharmacist, d, record.DispenseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The other counter uploads its prescription, then voids it there as
	// entered in error: this counter's dispensing, sent after, is refused
	// upstream. (Sent before the prescription is upstream, it would wait
	// for it: another counter's prescription is that counter's to send.)
	pw := queue.New(peer.Journal, env.Client, nil, queue.Config{Owner: "tuitest-kassa-2", Now: env.Clock.Now, Rate: -1})
	if _, err := pw.Drain(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.Recorder.Void(t.Context(), tuitest.PeerPharmacist, rc.Record.ID, "entered in error"); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Drain(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	env.Drain(t)
	m := open(t, env, i18n.EN, 120, 40, tuitest.Pharmacist)
	items := m.Items()
	if len(items) != 1 || items[0].Entry.RecordID != disp.Record.ID {
		t.Fatalf("items %v, want the dispensing %s", ids(items), disp.Record.ID)
	}
	if it := items[0]; it.PrescriptionCounter != "kassa-2" || it.Counter() != "" {
		t.Errorf("item: prescription's counter %q, record's counter %q", it.PrescriptionCounter, it.Counter())
	}
	m = review(t, m, disp.Record.ID)
	if v := m.View(); !strings.Contains(v, "paper prescription (counter kassa-2)") {
		t.Errorf("the review does not name the prescription's counter:\n%s", v)
	}
}
