package i18n

// Key names one message of the catalogue.
type Key int

// Keys of the catalogue. Add new ones before keyCount, and give each a
// text in every language of catalogue.go.
const (
	// The status line.
	ModeOnline Key = iota
	ModeFault
	ModeRecovering
	ModeUnknown
	StatusPending
	StatusLastUpload
	StatusNever
	StatusOldest
	StatusPharmacy
	StatusTerminal
	StatusPharmacist
	StatusNobody
	StatusTraining
	StatusStudent
	StatusReview
	StatusJournalError
	StatusJournalDamaged
	StatusDrillTask
	StatusIdentityMissing

	// Durations, short.
	AgeSeconds
	AgeMinutes
	AgeHours
	AgeDays

	// Keys' help.
	HelpQuit
	HelpOutage
	HelpHelp
	HelpBack
	HelpSubmit
	HelpUp
	HelpDown
	HelpNextField
	HelpPrevField
	HelpSort
	HelpFilter
	HelpDetail
	HelpSearch
	HelpLock
	HelpForceFault
	HelpConfirmDispense
	HelpVoid
	HelpDispense
	HelpPaper
	HelpTelephone
	HelpEssential
	HelpSync
	HelpConflicts
	HelpRetryNow

	// Sign-in and the lock.
	SignInTitle
	SignInID
	SignInPIN
	SignInChecking
	SignInWrong
	SignInFailed
	SignInMissing
	SignInWrongLeft // a wrong id or PIN, and the tries left before the lock (%d)
	SignInTooSoon   // wait %d seconds before the next try
	SignInLocked    // the id (%[1]s) is locked until IT unlocks it
	LockTitle
	LockPrompt
	LockWarning
	OutageStarted
	OutageEnded
	OutageFailed
	NeedPatient
	EssentialOnlyInFault

	// Patient search.
	SearchTitle
	SearchPrompt
	SearchHint
	SearchInvalid
	SearchValid
	SearchLoading
	SearchCancelled
	SearchNotFound
	SearchFailed
	SearchWrongPatient
	SearchTimeout
	SearchOfferFault
	SearchFaultMode
	SearchFaultForced
	SearchOutageRecords
	SearchOutageNone
	SearchOutageFailed
	SearchFormsHint
	RecordEssential

	// Prescriptions.
	RxTitle
	RxColMedicine
	RxColStrength
	RxColDosage
	RxColRemaining
	RxColValidity
	RxColStatus
	RxColPrescriber
	RxNone
	RxFilterPrompt
	RxSortedBy
	RxCount
	RxValid
	RxInGrace
	RxExpired
	RxActive
	RxCompleted
	RxCancelled
	RxLocked
	RxDetailTitle
	RxDetailID
	RxDetailForm
	RxDetailIssued
	RxDetailValidUntil
	RxDetailQuantity
	RxDetailRepeats
	RxDetailDispensed
	RxDetailReason
	RxDetailLockedBy
	RxFormElectronic
	RxFormPaper
	RxFormTelephone
	RxViewOnly

	// Dispense.
	DispTitle
	DispPrescription
	DispPackage
	DispPackOf
	DispQuantity
	DispRemaining
	DispEssential
	DispBasis
	DispBasisSheet
	DispBasisSummary
	DispBasisLabel
	DispUnitsPerDay
	DispDecisions
	DispNoDecisions
	DispConfirmHint
	DispRecording
	DispRecordedLocally
	DispWaitingUpload
	DispRecordedCentre
	DispHandOver
	DispRefused
	DispDoNotHand
	DispNotRecorded
	DispStateFailed
	DispViewOnly
	DispNumber

	keyCount
)

// keyRanges are the blocks of keys, each past its base: this file's, and
// one per file of screens whose keys are kept apart (keys_forms.go,
// keys_queue.go), and the command line's (keys_cli.go).
var keyRanges = [][2]Key{{0, keyCount}, {formsBase + 1, formsEnd}, {queueBase + 1, queueEnd}, {cliBase + 1, cliEnd}, {hubBase + 1, hubEnd}, {pageBase + 1, pageEnd}, {faultBase + 1, faultEnd}, {noticeBase + 1, noticeEnd}, {reportBase + 1, reportEnd}, {triageBase + 1, triageEnd},
	{reportedBase + 1, reportedEnd}, {summaryBase + 1, summaryEnd}, {catalogueBase + 1, catalogueEnd},
	{recordcatBase + 1, recordcatEnd}, {medicineBase + 1, medicineEnd}}

// Keys returns every key of the catalogue.
func Keys() []Key {
	var ks []Key
	for _, r := range keyRanges {
		for k := r[0]; k < r[1]; k++ {
			ks = append(ks, k)
		}
	}
	return ks
}
