package i18n

// Keys of the command line's human output (cmd/tiski/cli): the same
// languages and the same test as the counter's, so `tiski --lang sv doctor`
// speaks as the counter does. Add new ones before cliEnd, with a text in
// every language of catalogue_cli.go. JSON output never uses them: its keys
// and values are the same in every language.
const (
	cliBase Key = iota + 3000

	// Shared by several commands.
	CLIAgo
	CLINone
	CLINever
	CLIUnknownTime
	CLIReviewHint
	CLIUsageHint
	CLIHeldManually
	CLISince

	// tiski sync status.
	CLISyncMode
	CLISyncPending
	CLISyncSending
	CLISyncRetry
	CLISyncConflict
	CLISyncRejected
	CLISyncParked
	CLISyncVoided
	CLISyncDone
	CLISyncOldest
	CLISyncLastUpload
	CLISyncLastAttempt
	CLISyncLastError
	CLISyncErrorAt
	CLISyncRunSummary
	CLISyncProgress
	CLISyncWatch
	CLISyncWatchError

	// tiski sync run's progress bar on a terminal (issue 21).
	CLISyncBarUploaded  // %d of %d uploaded
	CLISyncBarConflicts // %d in conflict
	CLISyncBarRejected  // %d rejected
	CLISyncBarRetries   // %d transient failures retried
	CLISyncBarRate      // %s records a second (the number already formatted)
	CLISyncBarLeft      // about %s left
	CLISyncBarTook      // the run took %s

	// tiski journal verify and backup.
	CLIJournalIntact
	CLIJournalFailed
	CLIJournalFailedAt
	CLIJournalIntegrity
	CLIJournalKeepFile
	CLIJournalBackedUp

	// tiski doctor: the states, the checks' names and their findings. A
	// new check needs a name key (doctorNames in cmd/tiski/cli/doctor.go)
	// and a key per finding.
	CLIDoctorOK
	CLIDoctorWarn
	CLIDoctorFail
	CLIDoctorSkip
	CLIDoctorFailed
	CLIDoctorCheckConfiguration
	CLIDoctorCheckCertificates
	CLIDoctorCheckExpiry
	CLIDoctorCheckDNS
	CLIDoctorCheckTCP
	CLIDoctorCheckTLS
	CLIDoctorCheckCentre
	CLIDoctorCheckDisk
	CLIDoctorCheckJournal
	CLIDoctorCheckQueue
	CLIDoctorError
	CLIDoctorNoCentre
	CLIDoctorNoPharmacy
	CLIDoctorConfigOK
	CLIDoctorHTTPSNoCert
	CLIDoctorPlainHTTP
	CLIDoctorCentreDown
	CLIDoctorCentreOK
	CLIDoctorDiskUnknown
	CLIDoctorDiskLow
	CLIDoctorDiskOK
	CLIDoctorNoJournal
	CLIDoctorJournalBad
	CLIDoctorJournalOK
	CLIDoctorQueueReview
	CLIDoctorQueueWaiting
	CLIDoctorQueueEmpty
	CLIDoctorCertUnreadable
	CLIDoctorCertUnparsable
	CLIDoctorCertExpired
	CLIDoctorCertNotYet
	CLIDoctorCertExpiring
	CLIDoctorCertOK
	CLIDoctorCAUnreadable
	CLIDoctorCAEmpty
	CLIDoctorCertsOK
	CLIDoctorDNSFailed
	CLIDoctorDNSOK
	CLIDoctorTCPFailed
	CLIDoctorTCPOK
	CLIDoctorTLSPlain
	CLIDoctorTLSNoCerts
	CLIDoctorTLSFailed
	CLIDoctorTLSOK

	// tiski mode status.
	CLIModeHeld

	// tiski queue list and show.
	CLIQueueEmpty
	CLIQueueHeader
	CLIQueueWaitsFor
	CLIQueueShowRecord
	CLIQueueShowKind
	CLIQueueShowTime
	CLIQueueShowTimeValue
	CLIQueueShowPharmacist
	CLIQueueShowPharmacistValue
	CLIQueueShowPatient
	CLIQueueShowRules
	CLIQueueShowRefersTo
	CLIQueueShowState
	CLIQueueShowStateValue
	CLIQueueShowNext
	CLIQueueShowUpstream
	CLIQueueShowWaits
	CLIQueueShowConflict
	CLIQueueShowLastError
	CLIQueueShowLocal
	CLIQueueShowContent

	// tiski conflicts list, show and resolve.
	CLIConflictsEmpty
	CLIConflictsHeader
	CLIConflictsWaiting
	CLIConflShowConflict
	CLIConflShowDetail
	CLIConflShowRecord
	CLIConflShowRecordValue
	CLIConflShowPatient
	CLIConflShowContent
	CLIConflShowUpstream
	CLIConflShowUpstreamValue
	CLIConflShowLockedBy
	CLIConflShowUpstreamFailed
	CLIConflShowWaiting
	CLIConflShowResolve
	CLIConflResolved
	CLIConflVoided

	// tiski record.
	CLIRecordAlready
	CLIRecordDone
	CLIRecordWarning

	// tiski config show.
	CLIConfigFile
	CLIConfigHeader

	// tiski doctor's check of the pharmacy's identity (issue 18).
	CLIDoctorCheckPharmacy
	CLIDoctorPharmacyMissing
	CLIDoctorPharmacyOK

	// tiski doctor's check of the pharmacy's hub (issue 19).
	CLIDoctorCheckHub
	CLIDoctorCheckHubStreams
	CLIDoctorCheckHubLag
	CLIDoctorCheckSharing
	CLIDoctorHubDown
	CLIDoctorHubOK
	CLIDoctorHubStreamMissing
	CLIDoctorHubStreamDegraded
	CLIDoctorHubStreamsOK
	CLIDoctorHubLag
	CLIDoctorHubLagNone
	CLIDoctorHubNoConsumer
	CLIDoctorSharedAll
	CLIDoctorUnshared

	cliEnd
)
