package i18n

// Keys of the patient's prescription summary (issue 23): `tiski summary`,
// the counter's summary key and tui/summary, which words the page. Add new
// ones before summaryEnd, with a text in every language of
// catalogue_summary.go.
const (
	summaryBase Key = iota + 8200

	SumTitle
	SumPatient
	SumCode
	SumPharmacy
	SumMade
	SumAbout
	SumAboutPrintout
	SumNote
	SumKeepSafe
	SumSecValid
	SumNone
	SumDosage
	SumPrescribed
	SumPrescribedRepeats
	SumLeft
	SumValidity
	SumPrescriber
	SumLocked
	SumFooter
	SumNameUnknown
	SumOutTitle
	SumOutBanner
	SumOutNote
	SumOutSec
	SumOutNone
	SumColTime
	SumColKind
	SumColMedicine
	SumColQuantity
	SumColPrescription
	SumNothingCurrent
	SumOfferCLI
	SumOfferCounter
	SumCounterNothing
	SumNoOutageRecords
	SumWritten
	SumOutWritten
	SumOpened
	SumFailed
	SumWorking
	HelpSummary

	summaryEnd
)
