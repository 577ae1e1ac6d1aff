package i18n

// Keys of the medicine catalogue (issue 24): `tiski catalogue import` and
// `tiski catalogue status`. Add new ones before catalogueEnd, with a text
// in every language of catalogue_catalogue.go.
const (
	catalogueBase Key = iota + 9600

	CLICatalogueImported // imported: %d packages, source %s, version %s, of %s
	CLICatalogueNone     // nothing imported yet, and how to import
	CLICatalogueCount    // packages: %d
	CLICatalogueSource   // source: %s
	CLICatalogueVersion  // version: %s
	CLICatalogueDate     // the data's date: %s
	CLICatalogueImportAt // imported at: %s
	CLICatalogueNextDue  // next update due: %s
	CLICatalogueOverdue  // the next update was due %s: import the new data
	CLICatalogueFimea    // Fimea's list, as a source's name
	CLICatalogueFHIR     // the Prescription Centre's Medication resources, as a source's name
	CLICatalogueLicence  // the CC BY 4.0 attribution Kela asks for
	CLICatalogueFile     // the file: %s
	CLIDoctorCatalogueNone
	CLIDoctorCatalogueOverdue
	CLIDoctorCatalogueOK
	CLIDoctorCheckCatalogue
	CLICatalogueFixtures     // the bundled made-up training medicines, as a source's name
	CLICatalogueSynced       // synced (%s: full or incremental): %d Medications on %d pages, %d changed, %d withdrawn
	CLICatalogueSyncFull     // "full", as CLICatalogueSynced's kind
	CLICatalogueSyncIncr     // "incremental", as CLICatalogueSynced's kind
	CLICatalogueSyncFail     // the sync failed: %s; the old catalogue still answers
	CLICatalogueNoCentre     // no Prescription Centre configured (%s); the old catalogue still answers
	CLICatalogueWatchCurrent // sync --watch: the catalogue is current; next update due %s
	CLICatalogueWatchWaiting // sync --watch: an update is due, the Prescription Centre does not answer (%s)

	catalogueEnd
)
