package i18n

// Keys of the counter's medicine picker and the catalogue's state on the
// status line (issue 24): the forms search the local medicine catalogue,
// and in FAULT the status line says when it is out of date. Add new ones
// before medicineEnd, with a text in every language of
// catalogue_medicine.go.
const (
	medicineBase Key = iota + 10000

	MedNoCatalogue
	MedSearching
	MedMorePage
	MedNoPackage
	MedStatusStale
	MedStatusNone

	medicineEnd
)
