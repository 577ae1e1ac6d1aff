package hub

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tiski-rx/tiski/pkg/journal"
)

// Sharer shares and receives continuously while the counter or `tiski
// sync watch` runs: the share lane drains to the hub with backoff, like
// uploads, and the pharmacy's records are kept as they arrive.
type Sharer struct {
	c    *Client
	j    *journal.Journal
	kick chan struct{}

	// Poll is how often the lane is looked at when nothing kicks it
	// (another process may append to the journal); 0: 250 ms.
	Poll time.Duration
	// OnStatus, when set, is called after every change of what Status
	// returns: the counter's status line.
	OnStatus func(Status)

	mu sync.Mutex
	st Status
}

// Status is the sharing at a glance, for the status line and sync status.
type Status struct {
	Connected bool      `json:"connected"`
	Unshared  int64     `json:"unshared"` // records this counter has not shared yet
	LastShare time.Time `json:"last_share,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// NewSharer returns a sharer of j over c.
func NewSharer(c *Client, j *journal.Journal) *Sharer {
	return &Sharer{c: c, j: j, kick: make(chan struct{}, 1)}
}

// Kick asks the sharer to look at the lane now: the counter calls it after
// it appends.
func (s *Sharer) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Status returns the sharing at a glance.
func (s *Sharer) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *Sharer) update(fn func(*Status)) {
	s.mu.Lock()
	before := s.st
	fn(&s.st)
	st := s.st
	s.mu.Unlock()
	if st != before && s.OnStatus != nil {
		s.OnStatus(st)
	}
}

// markEvery is how often a busy Sharer writes how far it has shared.
const markEvery = time.Second

// gatherFor is how long a kicked Sharer waits for more records before it
// publishes: a little of the share latency (issue 19: p99 within 25 ms)
// for fewer fsyncs at the hub.
const gatherFor = 5 * time.Millisecond

// Run shares and receives until ctx ends.
func (s *Sharer) Run(ctx context.Context) error {
	poll := s.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.receive(ctx) }()
	go func() { defer wg.Done(); s.heartbeat(ctx) }()
	defer wg.Wait()

	// published is how far the hub has the lane; marked, how far the
	// journal says so. The mark is a write with an fsync of its own, so it
	// moves once the lane is idle, or every markEvery while records keep
	// coming, not once per record: at the counter it would double the
	// fsyncs of the pharmacist's appends. A record published again after a
	// crash before its mark is refused by the hub as shared already.
	var published, marked int64
	lastMark := time.Now()
	mark := func() {
		if published > marked {
			if err := s.j.MarkShared(context.WithoutCancel(ctx), published); err == nil {
				marked, lastMark = published, time.Now()
			}
		}
	}
	defer mark()

	failures := 0
	for {
		through, n, err := s.c.publishAfter(ctx, s.j, published)
		published = max(published, through)
		if n == 0 || time.Since(lastMark) >= markEvery {
			mark()
		}
		st, serr := s.j.Share(context.WithoutCancel(ctx))
		s.update(func(x *Status) {
			x.Connected = s.c.Connected()
			if serr == nil {
				x.Unshared = st.Last - max(st.Through, published)
			}
			if n > 0 {
				x.LastShare = time.Now()
			}
			x.LastError = ""
			if err != nil && ctx.Err() == nil {
				x.LastError = err.Error()
			}
		})
		wait := poll
		if err != nil && ctx.Err() == nil {
			failures++
			// Full-jitter backoff, 250 ms doubling to 10 s, as uploads.
			ceil := min(10*time.Second, 250*time.Millisecond<<min(failures, 6))
			wait = time.Duration(rand.Int64N(int64(ceil))) + 50*time.Millisecond
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
			// Gather what else is appended in the next few
			// milliseconds into one publish: each publish is an fsync at
			// the hub, which on the same disk would slow the counter's
			// own appends (tiskibench's hub rows).
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(gatherFor):
			}
		case <-time.After(wait):
		}
	}
}

// receive keeps the pharmacy's records as they arrive.
func (s *Sharer) receive(ctx context.Context) {
	for ctx.Err() == nil {
		cons, err := s.c.consumer(ctx)
		if err != nil {
			s.sleep(ctx, time.Second)
			continue
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			if _, err := s.c.keep(ctx, s.j, m); err != nil && ctx.Err() == nil {
				s.c.logf("hub: keep a record: %v", err)
			}
		}, jetstream.PullMaxMessages(256), jetstream.PullExpiry(5*time.Second))
		if err != nil {
			s.sleep(ctx, time.Second)
			continue
		}
		<-ctx.Done()
		cc.Stop()
		return
	}
}

func (s *Sharer) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// CounterState is what a counter tells the others about itself in the
// hub's counters bucket.
type CounterState struct {
	Counter   string    `json:"counter"`
	Mode      string    `json:"mode"`
	ModeSince time.Time `json:"mode_since,omitzero"`
	Unshared  int64     `json:"unshared"`
	Pending   int64     `json:"pending"` // records waiting for upload
	At        time.Time `json:"at"`      // when it said so

	// UploadedThrough: its records up to here in its chain are done or
	// voided; a counter adopting its uploads sends none of them again
	// (tiski sync adopt). 0 when unknown.
	UploadedThrough int64 `json:"uploaded_through,omitempty"`
}

// heartbeat tells the others this counter's state every 2 s.
func (s *Sharer) heartbeat(ctx context.Context) {
	for {
		if err := s.c.Announce(ctx, s.j); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			s.c.logf("hub: announce: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// Announce puts this counter's state into the hub's counters bucket.
func (c *Client) Announce(ctx context.Context, j *journal.Journal) error {
	st := CounterState{Counter: c.opts.Counter, At: time.Now().UTC()}
	if m, err := j.Mode(ctx); err == nil {
		st.Mode, st.ModeSince = string(m.Mode), m.Since
	}
	if sh, err := j.Share(ctx); err == nil {
		st.Unshared = sh.Unshared
	}
	if n, err := j.Counts(ctx); err == nil {
		st.Pending = n.Pending + n.Retry + n.Sending
	}
	if n, err := j.UploadedThrough(ctx); err == nil {
		st.UploadedThrough = n
	}
	b, _ := json.Marshal(st)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	kv, err := c.js.KeyValue(ctx, CountersBucket)
	if err != nil {
		return err
	}
	_, err = kv.Put(ctx, Token(c.opts.Counter), b)
	return err
}

// Counters reads every counter's last announced state.
func (c *Client) Counters(ctx context.Context) ([]CounterState, error) {
	kv, err := c.js.KeyValue(ctx, CountersBucket)
	if err != nil {
		return nil, err
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []CounterState
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var st CounterState
		if json.Unmarshal(e.Value(), &st) == nil {
			out = append(out, st)
		}
	}
	return out, nil
}
