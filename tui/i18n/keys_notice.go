package i18n

// Keys of Kela's notices and planned breaks (issue 22): the counter's
// status line and `tiski notice`. Add new ones before noticeEnd, with a
// text in every language of catalogue_notice.go.
const (
	noticeBase Key = iota + 7200

	// The status line.
	NoticeBreakTonight  // Kanta maintenance tonight %s–%s
	NoticeBreakToday    // Kanta maintenance today %s–%s
	NoticeBreakTomorrow // Kanta maintenance tomorrow %s–%s
	NoticeBreakNow      // Kanta maintenance now, until %s
	NoticeFaultAnnounced
	NoticeNone

	// `tiski notice`.
	CLINoticeAdded
	CLINoticeEnded
	CLINoticeEmpty
	CLINoticeHeader
	CLINoticeFault
	CLINoticeMaintenance
	CLINoticeComing
	CLINoticeInForce
	CLINoticeOver
	CLINoticeEndedBy
	CLINoticeOpen
	CLINoticeBreakInForce
	CLINoticeFaultInForce

	noticeEnd
)
