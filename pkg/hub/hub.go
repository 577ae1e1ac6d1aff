// Package hub is the pharmacy's hub (issue 19): an embedded NATS server
// with JetStream file storage that spreads the journal records of every
// counter of one pharmacy to the others. It wraps NATS the way pkg/journal
// wraps SQLite; nothing else in tiski imports NATS.
//
// Each counter's SQLite journal stays the source of truth and the durable
// buffer: the hub only spreads records between counters. A counter without
// a hub works exactly as before.
//
// # What lives in the hub
//
//   - Stream TISKI_RECORDS, subjects tiski.rec.<counter>.<record id>: one
//     message per journal record of any counter, at most one per subject,
//     with discard-new per subject, so a record published again after a
//     crash is refused for ever, not only within a dedupe window. The
//     message is the record as JSON (journal.Record), with its counter,
//     its sequence number in that counter's chain and its hash; a receiver
//     recomputes the hash before it keeps the record.
//   - Stream TISKI_CLAIMS, subjects tiski.claim.<prescription record id>:
//     the running total dispensed against one journal prescription,
//     written with a compare-and-set on the subject's last sequence, so
//     that of two counters racing for the last pack exactly one wins.
//   - Key-value bucket tiski_counters, one key per counter: its mode, its
//     unshared and pending counts and when it was last in contact.
//
// Durable consumers on TISKI_RECORDS are named after the counter that
// reads with them ("c-" + counter). Streams have 3 replicas when the hub
// runs as a cluster of three (--routes), else 1.
package hub

import (
	"fmt"
	"strings"
)

// Stream, subject and bucket names: the contract between counters and
// hubs of every version.
const (
	RecordsStream   = "TISKI_RECORDS"
	RecordsSubjects = "tiski.rec.>"
	ClaimsStream    = "TISKI_CLAIMS"
	ClaimsSubjects  = "tiski.claim.>"
	CountersBucket  = "tiski_counters"
)

// RecordSubject is the subject of one record of one counter.
func RecordSubject(counter, recordID string) string {
	return "tiski.rec." + Token(counter) + "." + Token(recordID)
}

// ClaimSubject is the subject of the claims on one journal prescription.
func ClaimSubject(prescriptionRecord string) string {
	return "tiski.claim." + Token(prescriptionRecord)
}

// ConsumerName is the durable consumer with which counter reads the
// pharmacy's records.
func ConsumerName(counter string) string { return "c-" + Token(counter) }

// Token makes s one subject token: NATS subjects split on '.', and '*',
// '>' and white space have meanings of their own. Letters, digits, '-' and
// '_' stay; any other byte becomes '_' followed by its hex value, so that
// two different names never share a token.
func Token(s string) string {
	if s == "" {
		return "_"
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String()
}
