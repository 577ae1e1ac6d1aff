package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// ClientOptions configure a counter's connection to its hub.
type ClientOptions struct {
	URL     string // hub.url: nats://HOST:PORT, or several separated by commas (a cluster)
	Counter string // the counter's name (the terminal key)
	// Credentials for a hub beyond loopback: a TLS client certificate and
	// key with the CA that signed the hub's certificate, or an NKey seed
	// file.
	Cert, Key, CA string
	NKeySeed      string
	// ConnectTimeout bounds the first connection; 0: 2 s.
	ConnectTimeout time.Duration
	Logf           func(format string, args ...any)
}

// Client is a counter's connection to the pharmacy's hub.
type Client struct {
	opts ClientOptions
	nc   *nats.Conn
	js   jetstream.JetStream

	mu   sync.Mutex
	cons jetstream.Consumer
}

// Connect connects to the hub. It fails within the connect timeout when no
// hub answers; once connected, the connection reconnects by itself.
func Connect(ctx context.Context, o ClientOptions) (*Client, error) {
	if strings.TrimSpace(o.URL) == "" {
		return nil, rx.Errorf(rx.ECONFIG, "No hub is configured: set hub.url (TISKI_HUB_URL, --hub).")
	}
	if strings.TrimSpace(o.Counter) == "" {
		return nil, rx.Errorf(rx.ECONFIG, "This counter has no name: set the terminal key (TISKI_TERMINAL) so the other counters can tell its records apart.")
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 2 * time.Second
	}
	nopts := []nats.Option{
		nats.Name("tiski " + o.Counter),
		nats.Timeout(o.ConnectTimeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.ReconnectJitter(250*time.Millisecond, time.Second),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.NoCallbacksAfterClientClose(),
	}
	if o.Cert != "" || o.CA != "" {
		if o.Cert != "" {
			nopts = append(nopts, nats.ClientCert(o.Cert, o.Key))
		}
		if o.CA != "" {
			nopts = append(nopts, nats.RootCAs(o.CA))
		}
	}
	if o.NKeySeed != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKeySeed)
		if err != nil {
			return nil, rx.Errorf(rx.ECONFIG, "The hub's NKey seed file %s cannot be used: %v. Check hub.nkey_seed.", o.NKeySeed, err)
		}
		nopts = append(nopts, opt)
	}
	if o.Logf != nil {
		logf := o.Logf
		nopts = append(nopts,
			nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
				if err != nil {
					logf("hub: disconnected: %v", err)
				}
			}),
			nats.ReconnectHandler(func(nc *nats.Conn) { logf("hub: reconnected to %s", nc.ConnectedUrlRedacted()) }))
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(o.URL, nopts...)
		done <- result{nc, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
	if r.err != nil {
		if refused(r.err) {
			return nil, rx.Errorf(rx.EUNAVAILABLE, "The pharmacy's hub at %s refused this counter: %v. Check its credentials: hub.cert, hub.key and hub.ca (a client certificate signed by the CA the hub trusts, and that CA for the hub's own certificate) or hub.nkey_seed (a seed whose public key the hub lists). Records are kept here and shared once it lets this counter in.", o.URL, r.err)
		}
		return nil, rx.Errorf(rx.EUNAVAILABLE, "The pharmacy's hub at %s cannot be reached: %v. Records are kept here and shared when it answers; IT can check it with tiski doctor.", o.URL, r.err)
	}
	js, err := jetstream.New(r.nc)
	if err != nil {
		r.nc.Close()
		return nil, err
	}
	return &Client{opts: o, nc: r.nc, js: js}, nil
}

// refused reports whether a connection failed because the hub did not
// accept this counter's credentials (or their absence), rather than
// because nothing answered: the fix is in the configuration (see auth.go).
func refused(err error) bool {
	if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrSecureConnRequired) || errors.Is(err, nats.ErrAuthExpired) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "tls:") || strings.Contains(msg, "tls error") || strings.Contains(msg, "x509:")
}

// Close closes the connection.
func (c *Client) Close() {
	if c != nil && c.nc != nil {
		c.nc.Close()
	}
}

// Connected reports whether the connection is up now.
func (c *Client) Connected() bool { return c != nil && c.nc != nil && c.nc.IsConnected() }

// Counter is the name of this counter.
func (c *Client) Counter() string { return c.opts.Counter }

// JetStream is the JetStream context, for the claims and the status.
func (c *Client) JetStream() jetstream.JetStream { return c.js }

// Publish shares the journal's share lane with the hub, oldest first, in
// batches, until the lane is empty or an error stops it, and marks what
// it shared in the journal. A record the hub holds already (published
// before a crash, before its mark was written) is refused by its
// subject's limit and counts as shared. It returns how many records it
// shared.
func (c *Client) Publish(ctx context.Context, j *journal.Journal) (int, error) {
	through, n, err := c.publishAfter(ctx, j, 0)
	if through > 0 {
		if merr := j.MarkShared(context.WithoutCancel(ctx), through); merr != nil && err == nil {
			err = merr
		}
	}
	return n, err
}

// publishAfter publishes the lane's records after seq after (and after
// the journal's own mark), without marking them: the Sharer marks them
// in the journal now and then (run.go), not once per record, so that the
// lane costs the pharmacist's appends no fsync of its own. through is the
// last record the hub confirmed, 0 when none.
func (c *Client) publishAfter(ctx context.Context, j *journal.Journal, after int64) (through int64, n int, err error) {
	for {
		tail, err := j.ShareTailAfter(ctx, max(after, through), 256)
		if err != nil || len(tail) == 0 {
			return through, n, err
		}
		acks := make([]jetstream.PubAckFuture, 0, len(tail))
		for _, sr := range tail {
			b, err := json.Marshal(sr)
			if err != nil {
				return through, n, err
			}
			f, err := c.js.PublishAsync(RecordSubject(c.opts.Counter, sr.ID), b)
			if err != nil {
				return through, n, fmt.Errorf("share record %d: %w", sr.Seq, err)
			}
			acks = append(acks, f)
		}
		var stop error
	wait:
		for i, f := range acks {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				if !alreadyShared(err) {
					stop = fmt.Errorf("share record %d: %w", tail[i].Seq, err)
					break wait
				}
			case <-ctx.Done():
				stop = ctx.Err()
				break wait
			case <-time.After(5 * time.Second):
				stop = rx.Errorf(rx.EUNAVAILABLE, "The hub did not confirm record %d within 5 s.", tail[i].Seq)
				break wait
			}
			through = tail[i].Seq
			n++
		}
		if stop != nil {
			return through, n, stop
		}
	}
}

// alreadyShared reports whether a publish was refused because the
// record's subject holds it already.
func alreadyShared(err error) bool {
	return err != nil && strings.Contains(err.Error(), "maximum messages per subject exceeded")
}

// consumer returns this counter's durable consumer on the records,
// creating it the first time.
func (c *Client) consumer(ctx context.Context) (jetstream.Consumer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cons != nil {
		return c.cons, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cons, err := c.js.CreateOrUpdateConsumer(ctx, RecordsStream, jetstream.ConsumerConfig{
		Durable:       ConsumerName(c.opts.Counter),
		Description:   "tiski counter " + c.opts.Counter + ": the pharmacy's records",
		FilterSubject: RecordsSubjects,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		// Keeping a record takes milliseconds. A hub killed with -9 can
		// lose acknowledgements; what it lost comes again after this wait
		// (kept once), and until then a catch-up finds it pending.
		AckWait:       5 * time.Second,
		MaxAckPending: 4096,
	})
	if err != nil {
		return nil, fmt.Errorf("the hub's consumer for this counter: %w", err)
	}
	c.cons = cons
	return cons, nil
}

// keep commits one message's record to the journal's peer records, then
// acknowledges it. A record that is not valid (its hash does not match,
// it contradicts one kept) is terminated: it would never become valid by
// being delivered again, and the log says why.
func (c *Client) keep(ctx context.Context, j *journal.Journal, m jetstream.Msg) (added bool, err error) {
	var sr journal.SharedRecord
	if err := json.Unmarshal(m.Data(), &sr); err != nil {
		c.logf("hub: message on %s is not a record: %v; set aside", m.Subject(), err)
		return false, m.Term()
	}
	if want := RecordSubject(sr.Terminal, sr.ID); m.Subject() != want {
		c.logf("hub: record %s of counter %s came on %s, not %s; set aside", sr.ID, sr.Terminal, m.Subject(), want)
		return false, m.Term()
	}
	added, err = j.AddPeer(ctx, sr)
	if rx.ErrorCode(err) == rx.EINVALID {
		c.logf("hub: %v", err)
		return false, m.Term()
	}
	if err == nil {
		// Two dispensings not checked across counters may together
		// exceed their prescription (journal/overdraw.go). Checked on a
		// redelivery too, so a check that failed is made again.
		_, err = j.CheckOverdrawn(ctx, sr.Record)
	}
	if err != nil {
		_ = m.NakWithDelay(time.Second)
		return false, err
	}
	return added, m.Ack()
}

// Receive keeps the records the hub holds for this counter, up to max in
// one fetch, waiting at most wait for them (0: take what is there now).
// It returns how many were new here.
func (c *Client) Receive(ctx context.Context, j *journal.Journal, max int, wait time.Duration) (int, error) {
	cons, err := c.consumer(ctx)
	if err != nil {
		return 0, err
	}
	var batch jetstream.MessageBatch
	if wait <= 0 {
		batch, err = cons.FetchNoWait(max) // what is there now, without waiting for max
	} else {
		batch, err = cons.Fetch(max, jetstream.FetchMaxWait(wait))
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for m := range batch.Messages() {
		added, err := c.keep(ctx, j, m)
		if err != nil {
			return n, err
		}
		if added {
			n++
		}
	}
	return n, batch.Error()
}

// Pending is how many records the hub holds that this counter's
// consumer has not delivered yet. Records delivered and not yet
// acknowledged are not counted: another process of this counter (its
// screen's sharer) is keeping them, or, if it died, the hub delivers them
// again after the acknowledgement wait.
func (c *Client) Pending(ctx context.Context) (uint64, error) {
	cons, err := c.consumer(ctx)
	if err != nil {
		return 0, err
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending, nil
}

// SyncResult is what one catch-up did.
type SyncResult struct {
	Shared   int  // records of this counter the hub now has
	Received int  // records of other counters kept here
	Complete bool // the lane is empty and nothing is left to receive
}

// CatchUp shares the journal's lane and receives what the other counters
// shared, within the context's deadline: what every command that opens a
// journal with a hub configured does first.
func (c *Client) CatchUp(ctx context.Context, j *journal.Journal) (SyncResult, error) {
	var r SyncResult
	n, err := c.Publish(ctx, j)
	r.Shared = n
	if err != nil {
		return r, err
	}
	for {
		left, err := c.Pending(ctx)
		if err != nil {
			return r, err
		}
		if left == 0 {
			r.Complete = true
			return r, nil
		}
		n, err := c.Receive(ctx, j, 512, 0)
		r.Received += n
		if err != nil && !errors.Is(err, nats.ErrTimeout) {
			return r, err
		}
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		if n == 0 {
			// Pending, yet nothing delivered now (another process of
			// this counter holds the consumer's window): look again soon.
			select {
			case <-ctx.Done():
				return r, ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
}

func (c *Client) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}
