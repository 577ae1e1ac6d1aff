package i18n

// Keys of `tiski fault triage` (issue 22): its steps, from near to far, and
// its verdicts. Add new ones before faultEnd, with a text in every language
// of catalogue_fault.go.
const (
	faultBase Key = iota + 7400

	CLIFaultTitle    // the heading of the triage
	CLIFaultVerdict  // "Verdict: %s"
	CLIFaultEvidence // the heading of the evidence
	CLIFaultCalls    // the heading of the recent calls
	CLIFaultCallLine // op, calls, ok, failures, median ms, normal
	CLIFaultNormal   // "%d ms" normal latency
	CLIFaultNoNormal // normal latency unknown
	CLIFaultNoCalls  // no recent calls

	// Layers, near to far.
	CLIFaultLayerPC
	CLIFaultLayerWay
	CLIFaultLayerService
	CLIFaultLayerPharmacy

	// Steps.
	CLIFaultStepConfiguration
	CLIFaultStepCertificate
	CLIFaultStepCABundle
	CLIFaultStepClock
	CLIFaultStepDisk
	CLIFaultStepDNS
	CLIFaultStepTCP
	CLIFaultStepTLS
	CLIFaultStepMetadata
	CLIFaultStepCalls
	CLIFaultStepCounters

	// Operations.
	CLIFaultOpRead
	CLIFaultOpSearch
	CLIFaultOpWrite
	CLIFaultOpProbe

	// Verdicts, each with what to do.
	CLIFaultVerdictNone
	CLIFaultVerdictThisPC
	CLIFaultVerdictNetwork
	CLIFaultVerdictKanta
	CLIFaultVerdictUnknown

	faultEnd
)
