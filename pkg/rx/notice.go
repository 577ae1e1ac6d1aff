package rx

import "time"

// NoticeKind is what Kela's notice announces (issue 22).
type NoticeKind string

// Notice kinds.
const (
	// NoticeFault is Kela's notice of a fault in its service: a FAULT
	// in its time is announced, and needs no fault report of its own.
	NoticeFault NoticeKind = "fault"
	// NoticeMaintenance is a planned maintenance break, announced two
	// weeks ahead: every counter is in FAULT from its start to its end.
	NoticeMaintenance NoticeKind = "maintenance"
)

// Valid reports whether k is a known kind.
func (k NoticeKind) Valid() bool { return k == NoticeFault || k == NoticeMaintenance }

// Notice is one of Kela's notices as kept in the journal: typed in at one
// counter by the pharmacy's IT, and shared with every counter of the
// pharmacy through its hub.
type Notice struct {
	ID      string     `json:"id"`          // the notice record's id
	Kind    NoticeKind `json:"kind"`        // fault or maintenance
	From    time.Time  `json:"from"`        // when it begins
	To      time.Time  `json:"to,omitzero"` // when it ends; zero: not known yet (a fault)
	Text    string     `json:"text"`        // Kela's words, for the pharmacists
	Ref     string     `json:"ref"`         // Kela's reference, when it has one
	Counter string     `json:"counter"`
	AddedAt time.Time  `json:"added_at"`
	AddedBy string     `json:"added_by"`
	EndedAt time.Time  `json:"ended_at,omitzero"` // zero: not ended by hand
	EndedBy string     `json:"ended_by"`
}

// End is when the notice stops being in force: the earlier of its To and
// the moment someone ended it; zero when neither is known.
func (n Notice) End() time.Time {
	switch {
	case n.EndedAt.IsZero():
		return n.To
	case n.To.IsZero() || n.EndedAt.Before(n.To):
		return n.EndedAt
	}
	return n.To
}

// InForce reports whether the notice holds at t: from its start up to,
// not including, its end.
func (n Notice) InForce(t time.Time) bool {
	end := n.End()
	return !t.Before(n.From) && (end.IsZero() || t.Before(end))
}

// Over reports whether the notice has ended by t.
func (n Notice) Over(t time.Time) bool {
	end := n.End()
	return !end.IsZero() && !t.Before(end)
}
