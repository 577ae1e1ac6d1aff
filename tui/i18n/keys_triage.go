package i18n

// Keys of the triage's findings (pkg/triage Messages, issue 22), by message
// id: TriageMessage words a step's Msg and Args in a language. Add new ones
// before triageEnd, with a text in every language of catalogue_triage.go.
const (
	triageBase Key = iota + 9200

	TriageDnsResolved
	TriageCaBundleHoldsNo
	TriageCallsFailed
	TriageCallsNone
	TriageCallsOk
	TriageCallsSlow
	TriageCallsWrongPatient
	TriageCannotAskHub
	TriageCannotConnect
	TriageCannotParseClientCertificate
	TriageCannotReadClientCertificate
	TriageCannotReadFaultLog
	TriageCannotReadFreeSpace
	TriageCannotResolve
	TriageClientCertificateExpiredOn
	TriageClientCertificateValidOnly
	TriageClientCertificateValidUntil
	TriageConnected
	TriageMetadataAnswered
	TriageMetadataThrottled
	TriageMibFree
	TriageNoAnswerMetadata
	TriageNoClientCertificateConfigured
	TriageNoClientCertificateConfigured2
	TriageNoHubOtherCounters
	TriageNoJournalNoFault
	TriageNoOtherCounterHas
	TriageNoUsableCertificatesShake
	TriageNoneOtherCountersFault
	TriageNotAskedWayService
	TriageOtherCountersFault
	TriagePlainHttpNoTls
	TriagePrescriptionCentresUrlNot
	TriageRequestFailed
	TriageServerCertificateValidUntil
	TriageServiceSentNoDate
	TriageThisPcsClockOff
	TriageTlsHandshakeFailed
	TriageWithinServicesClock
	TriageBesides

	triageEnd
)

// triageIDs maps pkg/triage's message ids to their keys.
var triageIDs = map[string]Key{
	"dns-resolved":                       TriageDnsResolved,
	"ca-bundle-holds-no":                 TriageCaBundleHoldsNo,
	"calls-failed":                       TriageCallsFailed,
	"calls-none":                         TriageCallsNone,
	"calls-ok":                           TriageCallsOk,
	"calls-slow":                         TriageCallsSlow,
	"calls-wrong-patient":                TriageCallsWrongPatient,
	"cannot-ask-hub":                     TriageCannotAskHub,
	"cannot-connect":                     TriageCannotConnect,
	"cannot-parse-client-certificate":    TriageCannotParseClientCertificate,
	"cannot-read-client-certificate":     TriageCannotReadClientCertificate,
	"cannot-read-fault-log":              TriageCannotReadFaultLog,
	"cannot-read-free-space":             TriageCannotReadFreeSpace,
	"cannot-resolve":                     TriageCannotResolve,
	"client-certificate-expired-on":      TriageClientCertificateExpiredOn,
	"client-certificate-valid-only":      TriageClientCertificateValidOnly,
	"client-certificate-valid-until":     TriageClientCertificateValidUntil,
	"connected":                          TriageConnected,
	"metadata-answered":                  TriageMetadataAnswered,
	"metadata-throttled":                 TriageMetadataThrottled,
	"mib-free":                           TriageMibFree,
	"no-answer-metadata":                 TriageNoAnswerMetadata,
	"no-client-certificate-configured":   TriageNoClientCertificateConfigured,
	"no-client-certificate-configured-2": TriageNoClientCertificateConfigured2,
	"no-hub-other-counters":              TriageNoHubOtherCounters,
	"no-journal-no-fault":                TriageNoJournalNoFault,
	"no-other-counter-has":               TriageNoOtherCounterHas,
	"no-usable-certificates-shake":       TriageNoUsableCertificatesShake,
	"none-other-counters-fault":          TriageNoneOtherCountersFault,
	"not-asked-way-service":              TriageNotAskedWayService,
	"other-counters-fault":               TriageOtherCountersFault,
	"plain-http-no-tls":                  TriagePlainHttpNoTls,
	"prescription-centres-url-not":       TriagePrescriptionCentresUrlNot,
	"request-failed":                     TriageRequestFailed,
	"server-certificate-valid-until":     TriageServerCertificateValidUntil,
	"service-sent-no-date":               TriageServiceSentNoDate,
	"this-pcs-clock-off":                 TriageThisPcsClockOff,
	"tls-handshake-failed":               TriageTlsHandshakeFailed,
	"within-services-clock":              TriageWithinServicesClock,
}

// TriageMessage words a triage finding (pkg/triage's Message: its Msg and
// Args) in l; ok is false for an id it does not know, whose English Detail
// the caller then shows.
func TriageMessage(l Lang, id string, args []string) (string, bool) {
	k, ok := triageIDs[id]
	if !ok {
		return "", false
	}
	as := make([]any, len(args))
	for i, a := range args {
		as[i] = a
	}
	return l.T(k, as...), true
}
