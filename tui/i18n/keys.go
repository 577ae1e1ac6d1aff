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

	// Sign-in and the lock.
	SignInTitle
	SignInID
	SignInPIN
	SignInChecking
	SignInWrong
	SignInFailed
	SignInMissing
	LockTitle
	LockPrompt
	LockWarning
	OutageStarted
	OutageEnded
	OutageFailed

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
	SearchTimeout
	SearchOfferFault
	SearchFaultMode
	SearchFaultForced

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

// Keys returns every key of the catalogue.
func Keys() []Key {
	ks := make([]Key, 0, keyCount)
	for k := Key(0); k < keyCount; k++ {
		ks = append(ks, k)
	}
	return ks
}
