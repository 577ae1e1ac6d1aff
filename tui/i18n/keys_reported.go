package i18n

// Keys of the fault-report mark (issue 22): `tiski fault reported` and
// `tiski fault reports`, and what a drill's printable report says of the
// faults reported and of Kela's notices. Add new ones before reportedEnd,
// with a text in every language of catalogue_reported.go.
const (
	reportedBase Key = iota + 8800

	// `tiski fault reported` and `tiski fault reports`.
	CLIFaultReportedHelpdesk // marked: the fault was reported to the helpdesk (%s, %s)
	CLIFaultReportedKela     // marked: the fault was reported to Kela's technical support (%s, %s)
	CLIFaultToHelpdesk       // the helpdesk, as a column's value
	CLIFaultToKela           // Kela's technical support, as a column's value
	CLIFaultReportsEmpty
	CLIFaultReportsHeader

	// The drill's printable report.
	PageDrillReporting        // the table's caption
	PageDrillReportingNote    // the duty
	PageDrillColReport        // the column
	PageDrillReportedHelpdesk // reported to the helpdesk at %s, %s after FAULT
	PageDrillReportedKela     // reported to Kela's technical support at %s, %s after FAULT
	PageDrillNotReported
	PageDrillAnnounced    // Kela announced it (%s notice at %s): no report needed
	PageDrillNoFaultShown // not reported; the counter never showed FAULT
	PageDrillByNotice     // FAULT by Kela's maintenance notice (step %d), not a probe
	PageDrillNoticeLine   // Kela's %s notice at %s (step %d), %s–%s: %s
	PageDrillNoticeByHand // Kela's %s notice at %s (typed in by hand), %s–%s: %s
	PageDrillNoticeEnded  // ; ended at %s
	PageCheckTaskReport   // task %s: report the fault (%s)
	PageCheckReport       // report %s (step %s) unless Kela announced it
	PageValueNotReported
	PageValueAnnounced
	PageValueNoFault
	PageValueAfter // after %s

	reportedEnd
)
