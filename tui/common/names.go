package common

import (
	"github.com/tiski-rx/tiski/pkg/journal"
	"github.com/tiski-rx/tiski/queue"
	"github.com/tiski-rx/tiski/tui/i18n"
)

// The counter and the CLI name kinds of record, upload states and kinds
// of conflict with the same words; these are the one place that maps them.
// A value with no name (a mode change, a state a newer tiski wrote) shows
// as it is.

var (
	kindKeys = map[journal.Kind]i18n.Key{
		journal.KindDispensing:            i18n.QueueKindDispensing,
		journal.KindPaperPrescription:     i18n.QueueKindPaper,
		journal.KindTelephonePrescription: i18n.QueueKindTelephone,
		journal.KindVoid:                  i18n.QueueKindVoid,
		journal.KindResolution:            i18n.QueueKindResolution,
		journal.KindRenewal:               i18n.QueueKindRenewal,
	}
	stateKeys = map[journal.OutboxState]i18n.Key{
		journal.OutboxPending:  i18n.QueueStatePending,
		journal.OutboxSending:  i18n.QueueStateSending,
		journal.OutboxDone:     i18n.QueueStateDone,
		journal.OutboxRetry:    i18n.QueueStateRetry,
		journal.OutboxConflict: i18n.QueueStateConflict,
		journal.OutboxRejected: i18n.QueueStateRejected,
		journal.OutboxParked:   i18n.QueueStateParked,
		journal.OutboxVoided:   i18n.QueueStateVoided,
	}
	conflictKeys = map[queue.ConflictKind]i18n.Key{
		queue.DispensedElsewhere: i18n.ConflDispensedElsewhere,
		queue.OverDispensed:      i18n.ConflOverDispensed,
		queue.Cancelled:          i18n.ConflCancelled,
		queue.Locked:             i18n.ConflLocked,
		queue.Expired:            i18n.ConflExpired,
		queue.UnknownPatient:     i18n.ConflUnknownPatient,
		queue.PossibleDuplicate:  i18n.ConflPossibleDuplicate,
		queue.Rejected:           i18n.ConflRejected,
		queue.Configuration:      i18n.ConflConfiguration,
		queue.RenewalRefused:     i18n.ConflRenewalRefused,
	}
)

// KindName names a kind of journal record in l.
func KindName(l i18n.Lang, kind journal.Kind) string { return name(l, kindKeys, kind) }

// StateName names an upload (outbox) state in l.
func StateName(l i18n.Lang, s journal.OutboxState) string { return name(l, stateKeys, s) }

// ConflictName names a kind of conflict in the pharmacist's words in l.
func ConflictName(l i18n.Lang, kind queue.ConflictKind) string {
	return name(l, conflictKeys, kind)
}

func name[V ~string](l i18n.Lang, keys map[V]i18n.Key, v V) string {
	if k, ok := keys[v]; ok {
		return l.T(k)
	}
	return string(v)
}
