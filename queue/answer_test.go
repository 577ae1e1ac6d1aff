package queue_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/queue"
)

// A transaction the Prescription Centre stored, whose 2xx answer cannot be
// used (here: the answer does not carry the records' identifiers, as when
// a server rewrote them, issue 18), was not refused. Its records go to a
// pharmacist's review together; they are not sent again one by one, which
// would rely on the server having kept what it was sent.
func TestTransactionStoredButAnswerUnusable(t *testing.T) {
	e := newEnv(t)
	p, d := e.paper(eino, "burana-400mg-tabl", time.Now().AddDate(0, 0, -1), 1)

	var mu sync.Mutex
	var writes []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, e.sim.URL()+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if r.Method != http.MethodGet && !strings.HasSuffix(r.URL.Path, "/_search") { // a search by POST is a read
			mu.Lock()
			writes = append(writes, r.Method+" "+r.URL.Path)
			mu.Unlock()
			// The records' identifiers, as a server that rewrote them
			// would serve them back.
			answer = []byte(strings.NewReplacer("urn:uuid:"+p.ID, "MedicationRequest/x", "urn:uuid:"+d.ID, "MedicationDispense/y").Replace(string(answer)))
		}
		for k, vs := range resp.Header {
			if k != "Content-Length" {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	}))
	defer proxy.Close()

	drain(t, e.worker(e.client(proxy.URL, 0), fastConfig()), 20*time.Second)
	if len(writes) != 1 || writes[0] != "POST /" {
		t.Errorf("writes %v, want the one transaction", writes)
	}
	for _, rec := range []journal.Record{p, *d} {
		e.wantState(rec, journal.OutboxRejected, queue.Rejected)
		if n := e.upstream(rec); n != 1 {
			t.Errorf("record %s (%s) upstream %d times, want 1", rec.ID, rec.Kind, n)
		}
	}
}
