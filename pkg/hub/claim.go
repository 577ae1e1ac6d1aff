package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tiski-rx/tiski/pkg/record"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// The claims on journal prescriptions (issue 19): the last pack cannot be
// handed out twice.
//
// Each journal prescription has its own subject in TISKI_CLAIMS
// (ClaimSubject). Its last message is the prescription's claim state: the
// dispensings claimed against it, each with its quantity and counter, and
// their total. A counter reads the last message and publishes the next
// state with JetStream's expected last sequence per subject (0 when the
// subject has no message yet): a publish made on a state that another
// counter replaced in between is refused by the hub, and the counter reads
// again. Of two counters racing for the last pack, one publishes first;
// the other then reads a state in which nothing is left.

// ClaimState is a claim message: what is claimed against one journal
// prescription.
type ClaimState struct {
	Prescription string                `json:"prescription"`
	Total        int                   `json:"total"` // the running total: the sum of Claims
	Claims       map[string]ClaimEntry `json:"claims"`
	// Record and Counter name the dispensing this message claimed or
	// released, and the counter that wrote it.
	Record   string    `json:"record"`
	Counter  string    `json:"counter"`
	Released bool      `json:"released,omitempty"`
	At       time.Time `json:"at"`
}

// ClaimEntry is one dispensing's claim. Counter is "" for a dispensing the
// hub learnt of from another counter's journal (recorded while the hub was
// down, or together with its prescription).
type ClaimEntry struct {
	Quantity int    `json:"quantity"`
	Counter  string `json:"counter,omitempty"`
}

// maxClaimTries bounds the compare-and-set loop: each failed try means
// another counter changed the state in between, which a pharmacy's few
// counters cannot keep doing for long.
const maxClaimTries = 64

// lastClaim reads the claim state of a prescription and its sequence in
// the stream; 0 and an empty state when it has none yet.
func (c *Client) lastClaim(ctx context.Context, st jetstream.Stream, prescription string) (ClaimState, uint64, error) {
	cs := ClaimState{Prescription: prescription, Claims: map[string]ClaimEntry{}}
	m, err := st.GetLastMsgForSubject(ctx, ClaimSubject(prescription))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return cs, 0, nil
	}
	if err != nil {
		return cs, 0, fmt.Errorf("read the claims on journal prescription %s: %w", prescription, err)
	}
	if err := json.Unmarshal(m.Data, &cs); err != nil {
		return cs, 0, fmt.Errorf("the claims on journal prescription %s do not read: %w", prescription, err)
	}
	if cs.Claims == nil {
		cs.Claims = map[string]ClaimEntry{}
	}
	return cs, m.Sequence, nil
}

// putClaim publishes the next claim state, if the last is still seq.
func (c *Client) putClaim(ctx context.Context, cs ClaimState, seq uint64) error {
	cs.Total = 0
	for _, e := range cs.Claims {
		cs.Total += e.Quantity
	}
	cs.Counter, cs.At = c.opts.Counter, time.Now().UTC()
	b, err := json.Marshal(cs)
	if err != nil {
		return err
	}
	_, err = c.js.Publish(ctx, ClaimSubject(cs.Prescription), b, jetstream.WithExpectLastSequencePerSubject(seq))
	return err
}

// wrongLastSequence reports whether a publish was refused because the
// subject's last message is no longer the one read: another counter came
// first. A replicated stream reports it with a code of its own.
func wrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Claim claims a dispensing's quantity of a journal prescription (see
// record.Claimer). The dispensings the counter's journal knows of join the
// hub's count, and those it knows were voided leave it, so the count is
// the union of what every counter that claimed knew. It errs towards
// refusing: a dispensing voided at a counter that has not shared the void
// yet still counts.
func (c *Client) Claim(ctx context.Context, req record.Claim) (record.ClaimResult, error) {
	st, err := c.js.Stream(ctx, ClaimsStream)
	if err != nil {
		return record.ClaimResult{}, fmt.Errorf("the hub's claims: %w", err)
	}
	for try := 1; ; try++ {
		cs, seq, err := c.lastClaim(ctx, st, req.Prescription)
		if err != nil {
			return record.ClaimResult{}, err
		}
		if _, ok := cs.Claims[req.Dispensing]; ok {
			return record.ClaimResult{OK: true, Claimed: sumExcept(cs.Claims, req.Dispensing)}, nil // claimed already
		}
		next := maps.Clone(cs.Claims)
		for id, q := range req.Known {
			if _, ok := next[id]; !ok {
				next[id] = ClaimEntry{Quantity: q}
			}
		}
		for _, id := range req.Voided {
			delete(next, id)
		}
		claimed := sumExcept(next, req.Dispensing)
		if claimed+req.Quantity > req.Limit {
			return record.ClaimResult{Claimed: claimed}, nil
		}
		next[req.Dispensing] = ClaimEntry{Quantity: req.Quantity, Counter: c.opts.Counter}
		cs.Claims, cs.Record, cs.Released = next, req.Dispensing, false
		err = c.putClaim(ctx, cs, seq)
		switch {
		case err == nil:
			return record.ClaimResult{OK: true, Claimed: claimed}, nil
		case wrongLastSequence(err) && try < maxClaimTries:
			continue // another counter claimed in between: read again
		case wrongLastSequence(err):
			return record.ClaimResult{}, rx.Errorf(rx.EUNAVAILABLE, "The claims on journal prescription %s kept changing under this counter (%d tries).", req.Prescription, try)
		}
		return record.ClaimResult{}, fmt.Errorf("claim against journal prescription %s: %w", req.Prescription, err)
	}
}

// Release takes back a dispensing's claim (see record.Claimer).
func (c *Client) Release(ctx context.Context, prescription, dispensing string) error {
	st, err := c.js.Stream(ctx, ClaimsStream)
	if err != nil {
		return fmt.Errorf("the hub's claims: %w", err)
	}
	for try := 1; ; try++ {
		cs, seq, err := c.lastClaim(ctx, st, prescription)
		if err != nil {
			return err
		}
		if _, ok := cs.Claims[dispensing]; !ok {
			return nil
		}
		delete(cs.Claims, dispensing)
		cs.Record, cs.Released = dispensing, true
		err = c.putClaim(ctx, cs, seq)
		if err == nil || !wrongLastSequence(err) {
			return err
		}
		if try >= maxClaimTries {
			return rx.Errorf(rx.EUNAVAILABLE, "The claims on journal prescription %s kept changing under this counter (%d tries).", prescription, try)
		}
	}
}

func sumExcept(claims map[string]ClaimEntry, id string) int {
	n := 0
	for k, e := range claims {
		if k != id {
			n += e.Quantity
		}
	}
	return n
}

// Claims is record.Claimer over the connection a counter or a command has
// to the hub now. A connection that is missing or down makes every claim
// fail at once, without waiting: the dispensing is then recorded as not
// checked across counters.
type Claims struct {
	// Client returns the connection now; nil while there is none.
	Client func() *Client
}

var _ record.Claimer = Claims{}

// errNoHub is a claim's error while the hub cannot be reached.
var errNoHub = rx.Errorf(rx.EUNAVAILABLE, "The pharmacy's hub cannot be reached.")

func (k Claims) client() (*Client, error) {
	var c *Client
	if k.Client != nil {
		c = k.Client()
	}
	if c == nil || !c.Connected() {
		return nil, errNoHub
	}
	return c, nil
}

// Claim claims at the hub; see record.Claimer.
func (k Claims) Claim(ctx context.Context, req record.Claim) (record.ClaimResult, error) {
	c, err := k.client()
	if err != nil {
		return record.ClaimResult{}, err
	}
	return c.Claim(ctx, req)
}

// Release releases at the hub; see record.Claimer.
func (k Claims) Release(ctx context.Context, prescription, dispensing string) error {
	c, err := k.client()
	if err != nil {
		return err
	}
	return c.Release(ctx, prescription, dispensing)
}

// Client is the sharer's connection to the hub: the counter claims over
// it.
func (s *Sharer) Client() *Client { return s.c }
