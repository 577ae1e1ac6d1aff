package i18n

// Keys of the sync and conflicts screens. Add new ones before queueEnd,
// with a text in every language of catalogue_queue.go.
const (
	queueBase Key = iota + 2000

	// Outbox states and record kinds, as both screens name them.
	QueueStatePending
	QueueStateSending
	QueueStateDone
	QueueStateRetry
	QueueStateConflict
	QueueStateRejected
	QueueStateParked
	QueueStateVoided
	QueueKindDispensing
	QueueKindPaper
	QueueKindTelephone
	QueueKindVoid
	QueueKindResolution
	QueueLoading
	QueueLoadFailed
	QueueRecordSeq
	QueueAgo
	QueueNone

	// The sync screen.
	SyncTitle
	SyncColSeq
	SyncColKind
	SyncColState
	SyncColAttempts
	SyncColNext
	SyncColError
	SyncNow
	SyncAfter
	SyncIn
	SyncOpenOnly
	SyncShowingAll
	SyncEmpty
	SyncSummaryNone
	SyncViewOnly
	SyncDetailTitle
	SyncDetailRecord
	SyncDetailCreated
	SyncDetailUpdated
	SyncDetailLastAttempt
	SyncDetailUpstream
	SyncDetailDependsOn
	SyncDetailWhy
	SyncDetailConflict
	SyncWaitsFor
	SyncWaitsOrder
	SyncWaitsDone
	SyncNoWait
	SyncRetryHint
	SyncRetried
	SyncRetryFailed
	SyncRetryPending
	SyncRetrySending
	SyncRetryDone
	SyncRetryVoided
	SyncRetryReview

	// The conflicts screen.
	ConflTitle
	ConflCount
	ConflEmpty
	ConflColSeq
	ConflColConflict
	ConflColPatient
	ConflColPrescription
	ConflColTime
	ConflColDetail
	ConflDispensedElsewhere
	ConflOverDispensed
	ConflCancelled
	ConflLocked
	ConflExpired
	ConflUnknownPatient
	ConflPossibleDuplicate
	ConflRejected
	ConflConfiguration
	ConflDetailTitle
	ConflRecordSide
	ConflUpstreamSide
	ConflLabelRecord
	ConflLabelTime
	ConflLabelPharmacist
	ConflLabelPatient
	ConflLabelMedicine
	ConflLabelQuantity
	ConflLabelPrescription
	ConflLabelConflict
	ConflLabelAnswer
	ConflWaiting
	ConflUpstreamLoading
	ConflUpstreamFailed
	ConflUpstreamWrongPatient
	ConflUpstreamNone
	ConflResolution
	ConflActResubmit
	ConflActLink
	ConflActVoid
	ConflReason
	ConflPrescriptionID
	ConflApplyHint
	ConflChooseHint
	ConflNeedReason
	ConflNeedVoidReason
	ConflNeedPrescription
	ConflResolving
	ConflResolved
	ConflVoided
	ConflFailed
	ConflViewOnly

	// Renewal requests (issue 23): the record kind, its conflict, and the
	// prescription's open request on the prescriptions screen.
	QueueKindRenewal
	ConflRenewalRefused
	RxRenewalRequested
	RxDetailRenewal
	HelpRenewal
	RenewPrompt
	RenewRecording
	RenewLocal
	RenewSent
	RenewAlready
	RenewRefused
	RenewFailed

	queueEnd
)
