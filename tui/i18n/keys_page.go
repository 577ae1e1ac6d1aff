package i18n

// Keys of the printable pages (issue 21): `tiski drill report --html` and
// `tiski drill herd --html`. The command line shapes a page in the
// reader's language with them (pkg/page knows no language). Add new ones
// before pageEnd, with a text in every language of catalogue_page.go.
const (
	pageBase Key = iota + 6000

	// Shared by the pages.
	PagePass
	PageFail
	PageSeconds // a number of seconds, already formatted: %s s

	// tiski drill report --html.
	PageDrillTitle      // drill report: %s the scenario's name
	PageDrillSpeed      // label
	PageDrillSpeedValue // %s times real time
	PageDrillWho        // label: tasks done by
	PageDrillScripted
	PageDrillTrainees
	PageDrillState // label
	PageDrillFinished
	PageDrillRunning
	PageDrillStarted // label
	PageDrillVerdictPass
	PageDrillVerdictFail // %d of %d expectations missed

	PageDrillExpectations
	PageDrillColExpectation
	PageDrillColWant
	PageDrillColGot

	PageDrillTimeline
	PageDrillBandFault // the strip of the fault upstream
	PageDrillBandMode  // the strip of the counter's mode
	PageDrillQueueAxis
	PageDrillQueue
	PageDrillReview
	PageDrillStep // marker: step %d
	PageDrillFaultInForce
	PageDrillNoFault
	PageDrillTimelineCaption
	PageDrillStretched // %s the timeline's end, %s the seconds a real second counts for

	PageDrillFaults
	PageDrillRealTime
	PageDrillColStep
	PageDrillColFault
	PageDrillColFrom
	PageDrillColUntil
	PageDrillColDetect
	PageDrillDetectedAfter // FAULT after %s, at %s scenario time
	PageDrillNotDetected
	PageDrillNoFaults
	PageDrillLevers
	PageDrillColLever
	PageDrillReconcile
	PageDrillReconcileNothing // %s the last step's time
	PageDrillReconcileAfter   // %s seconds after the last step (%s), at %s
	PageDrillNotReconciled

	PageDrillRecords
	PageDrillColKind
	PageDrillColCount
	PageDrillNoRecords
	PageDrillCaught
	PageDrillViolations
	PageDrillRefusalsUnseen
	PageDrillDecisions
	PageDrillColRule
	PageDrillColAllowed
	PageDrillColRefused
	PageDrillColViolations
	PageDrillNoDecisions
	PageDrillCentre
	PageDrillCentreValue // %d requests, %d throttled, %d unavailable, %d cut

	PageDrillConflicts
	PageDrillConflictsRaised
	PageDrillConflictsResolved
	PageDrillConflictsNote
	PageDrillColRecord
	PageDrillColWhat
	PageDrillColResolved
	PageDrillResolvedBy // %s the record that resolved it, at %s

	PageDrillTasks
	PageDrillColTask
	PageDrillColAt
	PageDrillColDo
	PageDrillColPatient
	PageDrillColOutcome
	PageDrillRefusedBy // refused by %s
	PageDrillAtCounter // at counter %d
	PageDrillLeft      // %d left
	PageDrillShared    // counter %d holds %d of counter %d's %d records
	PageDrillOutcomeRecorded
	PageDrillOutcomeCaught
	PageDrillOutcomeRefused
	PageDrillOutcomeMissing
	PageDrillOutcomeNotSeen
	PageDrillFooter // %s the drill's folder

	// The drill's checks (drill.Check codes) and their values.
	PageCheckPlayed
	PageCheckRecords         // %s kind
	PageCheckTaskRecord      // task %s (%s, %s): %s kind
	PageCheckTaskRefused     // task %s (%s, %s): refused by %s
	PageCheckTaskLeft        // task %s (%s, %s) at counter %s: left on task %s's prescription
	PageCheckSharedUnsettled // records shared between the counters
	PageCheckShared          // counter %s holds counter %s's records
	PageCheckViolations
	PageCheckCaught
	PageCheckConflicts
	PageCheckDetect // detect %s (step %s)
	PageCheckReconciled
	PageValueYes
	PageValueNo
	PageValueAtMost // at most %d
	PageValueWithin // within %s
	PageValueBy     // by %s
	PageValueNotSeen
	PageValueEveryHolds
	PageValueNotSettled

	// tiski drill herd --html.
	PageHerdTitle    // %d pharmacies × %d records against %s requests/s
	PageHerdSubtitle // outage %s
	PageHerdVerdictPass
	PageHerdVerdictFail
	PageHerdSummary
	PageHerdColMeasure
	PageHerdFull
	PageHerdNone
	PageHerdPeak      // %d requests/s (%s× capacity)
	PageHerdPeakLabel // label
	PageHerdPeakAt
	PageHerdRequests
	PageHerdThrottled
	PageHerdDrainLabel
	PageHerdNotDrained // not in %s
	PageHerdLost
	PageHerdPending
	PageHerdDuplicates
	PageHerdRealTime
	PageHerdLoad // section: the offered load over time
	PageHerdAxis
	PageHerdServed
	PageHerdThrottledSeries
	PageHerdOffered
	PageHerdCapacity  // capacity %s/s
	PageHerdDrainedAt // drained at %s
	PageHerdStoppedAt // stopped at %s, not drained
	PageHerdCaption
	PageHerdNote
	PageHerdFooter

	pageEnd
)
