package i18n

// Keys of the fault forms: paper and telephone prescriptions, the
// essential-medication form, and the patient's records of the outage. Add
// new ones before formsEnd, with a text in every language of
// catalogue_forms.go.
const (
	formsBase Key = iota + 1000

	formsEnd
)
