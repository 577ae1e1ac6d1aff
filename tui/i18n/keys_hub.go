package i18n

// Keys of the pharmacy's hub as the counter and the command line show it
// (issue 19): the status line's hub items, other counters' records and
// modes, and the hub section of `tiski sync status`. Add new ones before
// hubEnd, with a text in every language of catalogue_hub.go.
const (
	hubBase Key = iota + 5400

	// The status line.
	HubConnected    // the hub answers; %d records not yet shared
	HubDisconnected // the hub does not answer; %d records not yet shared
	HubPeerFault    // counter %s in fault mode since %s
	HubPeerRecovering

	// Patient search and the dispensings counted there.
	HubRecordedAt // recorded at counter %s, %s, %s
	HubLeft       // what is left of a journal prescription: %d of %s
	HubAtCounter  // a journal prescription of another counter: %s (counter %s)
	HubDispenseHint

	// `tiski sync status`.
	CLIHubTitle
	CLIHubURL
	CLIHubState
	CLIHubReachable
	CLIHubUnreachable
	CLIHubUnshared
	CLIHubOldestUnshared
	CLIHubCounters
	CLIHubCounterLine // counter, mode, last contact, pending, unshared
	CLIHubCounterKept // counter, records kept here, last received
	CLIHubNoCounters
	CLIHubNotConfigured

	// Warnings of the commands that catch up with the hub first.
	CLIHubCatchUpWarning // the hub could not be caught up with: %s why
	CLIHubShareWarning   // a record just made could not be shared: %s why
	CLIHubNoAnswer       // why, when the hub did not answer within the wait

	hubEnd
)
