package hub

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// HubStatus is what `tiski hub status` and `tiski doctor` show of a hub:
// its streams, the counters' last words and each counter's lag. Its JSON
// keys are stable.
type HubStatus struct {
	URL       string           `json:"url"`    // the hub that answered
	Server    string           `json:"server"` // its server name
	Streams   []StreamStatus   `json:"streams"`
	Counters  []CounterState   `json:"counters"`
	Consumers []ConsumerStatus `json:"consumers"`
}

// StreamStatus is one of the pharmacy's streams at the hub.
type StreamStatus struct {
	Name     string `json:"name"`
	Present  bool   `json:"present"` // false: the hub does not have it
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	Replicas int    `json:"replicas"` // configured copies
	// Leader and Peers: in a cluster, the hub that takes the writes and
	// the others with their health; empty for a single hub.
	Leader string        `json:"leader,omitempty"`
	Peers  []ReplicaInfo `json:"peers,omitempty"`
	Error  string        `json:"error,omitempty"`
}

// ReplicaInfo is one copy of a stream, other than the leader's.
type ReplicaInfo struct {
	Name    string        `json:"name"`
	Current bool          `json:"current"` // up to date with the leader
	Offline bool          `json:"offline"`
	Lag     uint64        `json:"lag"` // operations behind the leader
	Active  time.Duration `json:"active_ns"`
}

// Healthy reports whether every copy of the stream is up to date.
func (s StreamStatus) Healthy() bool {
	if !s.Present {
		return false
	}
	for _, p := range s.Peers {
		if p.Offline || !p.Current {
			return false
		}
	}
	return s.Replicas <= 1 || s.Leader != ""
}

// ConsumerStatus is one counter's durable consumer: how far behind it is.
type ConsumerStatus struct {
	Name       string    `json:"name"`
	Counter    string    `json:"counter,omitempty"` // "" when no counter has announced this name
	NumPending uint64    `json:"num_pending"`       // records not yet delivered to it
	AckPending int       `json:"ack_pending"`       // delivered, not yet kept
	LastActive time.Time `json:"last_active,omitzero"`
}

// Lag is how many records the counter has not kept yet.
func (c ConsumerStatus) Lag() uint64 { return c.NumPending + uint64(c.AckPending) }

// statusStreams are the streams the status reports, in order.
var statusStreams = []string{RecordsStream, ClaimsStream, "KV_" + CountersBucket}

// Status reads the hub's streams, counters and consumers. A stream that is
// missing is reported as not present, not as an error; the error is for a
// hub that does not answer at all.
func (c *Client) Status(ctx context.Context) (*HubStatus, error) {
	st := &HubStatus{URL: c.nc.ConnectedUrlRedacted(), Server: c.nc.ConnectedServerName()}
	for _, name := range statusStreams {
		ss := StreamStatus{Name: name}
		s, err := c.js.Stream(ctx, name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
		case err != nil:
			ss.Error = err.Error()
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return nil, fmt.Errorf("hub status: %w", err)
			}
		default:
			info := s.CachedInfo()
			ss.Present = true
			ss.Messages, ss.Bytes, ss.Replicas = info.State.Msgs, info.State.Bytes, info.Config.Replicas
			if cl := info.Cluster; cl != nil {
				ss.Leader = cl.Leader
				for _, p := range cl.Replicas {
					ss.Peers = append(ss.Peers, ReplicaInfo{Name: p.Name, Current: p.Current, Offline: p.Offline, Lag: p.Lag, Active: p.Active})
				}
			}
			if name == RecordsStream {
				cons, err := consumers(ctx, s)
				if err != nil {
					ss.Error = err.Error()
				}
				st.Consumers = cons
			}
		}
		st.Streams = append(st.Streams, ss)
	}
	counters, err := c.Counters(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("hub status: the counters: %w", err)
	}
	sort.Slice(counters, func(i, j int) bool { return counters[i].Counter < counters[j].Counter })
	st.Counters = counters
	byConsumer := map[string]string{}
	for _, k := range counters {
		byConsumer[ConsumerName(k.Counter)] = k.Counter
	}
	for i := range st.Consumers {
		if k, ok := byConsumer[st.Consumers[i].Name]; ok {
			st.Consumers[i].Counter = k
		}
	}
	if st.Counters == nil {
		st.Counters = []CounterState{}
	}
	if st.Consumers == nil {
		st.Consumers = []ConsumerStatus{}
	}
	return st, nil
}

func consumers(ctx context.Context, s jetstream.Stream) ([]ConsumerStatus, error) {
	var out []ConsumerStatus
	l := s.ListConsumers(ctx)
	for info := range l.Info() {
		cs := ConsumerStatus{Name: info.Name, NumPending: info.NumPending, AckPending: info.NumAckPending}
		// The counter's name, as the consumer was made (client.go), for
		// a counter that never announced itself.
		if rest, ok := strings.CutPrefix(info.Config.Description, "tiski counter "); ok {
			cs.Counter, _, _ = strings.Cut(rest, ": the pharmacy's records")
		}
		if info.Delivered.Last != nil {
			cs.LastActive = info.Delivered.Last.UTC()
		}
		out = append(out, cs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, l.Err()
}

// Lag is this counter's own consumer: how many of the pharmacy's records it
// has not kept yet. ok is false when this counter has never read from the
// hub (it has no consumer yet).
func (c *Client) Lag(ctx context.Context) (cs ConsumerStatus, ok bool, err error) {
	cons, err := c.js.Consumer(ctx, RecordsStream, ConsumerName(c.opts.Counter))
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return cs, false, nil
	}
	if err != nil {
		return cs, false, err
	}
	info := cons.CachedInfo()
	cs = ConsumerStatus{Name: info.Name, Counter: c.opts.Counter, NumPending: info.NumPending, AckPending: info.NumAckPending}
	if info.Delivered.Last != nil {
		cs.LastActive = info.Delivered.Last.UTC()
	}
	return cs, true, nil
}
