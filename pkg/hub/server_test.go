package hub

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startHub runs a hub on a free loopback port for one test.
func startHub(t *testing.T, dir string) *Server {
	t.Helper()
	s, err := Start(t.Context(), Options{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestRecordSubjectTakesOneMessageForEver: a record published again, even
// long after the first (no dedupe window), is refused by the stream.
func TestRecordSubjectTakesOneMessageForEver(t *testing.T) {
	s := startHub(t, t.TempDir())
	nc, err := nats.Connect(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	subj := RecordSubject("kassa-1", "0195f000-0000-7000-8000-000000000001")
	if _, err := js.Publish(ctx, subj, []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, subj, []byte(`{"n":2}`)); err == nil {
		t.Fatal("a second message on one record's subject was taken")
	}
	st, err := js.Stream(ctx, RecordsStream)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
}

func TestToken(t *testing.T) {
	for in, want := range map[string]string{"kassa-1": "kassa-1", "a.b": "a_2eb", "x y": "x_20y", "*": "_2a", "": "_", "a_2eb": "a_5f2eb"} {
		if got := Token(in); got != want {
			t.Errorf("Token(%q) = %q, want %q", in, got, want)
		}
	}
}
