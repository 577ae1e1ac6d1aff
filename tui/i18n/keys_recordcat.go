package i18n

// Keys of `tiski record` reading the data folder's medicine catalogue
// (issue 24): the refusals when there is no catalogue or the package is
// not in it. Add new ones before recordcatEnd, with a text in every
// language of catalogue_recordcat.go.
const (
	recordcatBase Key = iota + 10400

	CLIRecordNoCatalogue // no catalogue imported: nothing recorded, and what to run
	CLIRecordUnknownVNR  // no package %s in the catalogue, version %s: check it, or update
	CLIRecordBadVNR      // %q is not a package number (six digits)
	CLIRecordCatalogue   // the catalogue could not be read: %s

	recordcatEnd
)
