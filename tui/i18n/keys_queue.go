package i18n

// Keys of the sync and conflicts screens. Add new ones before queueEnd,
// with a text in every language of catalogue_queue.go.
const (
	queueBase Key = iota + 2000

	queueEnd
)
