package i18n

// recordcatCatalogue holds the texts of keys_recordcat.go, merged into
// catalogues.
var recordcatCatalogue = map[Lang]map[Key]string{
	FI: {
		CLIRecordNoCatalogue: "Mitään ei kirjattu: lääketietokantaa ei ole tuotu, joten pakkausnumeroita (VNR) ei voi tarkistaa. " +
			"Tuo se ensin: tiski catalogue sync (yhteyden toimiessa) tai tiski catalogue import --fimea TIEDOSTO. Kirjaa sitten uudelleen.",
		CLIRecordUnknownVNR: "pakkausta %s ei ole lääketietokannassa (versio %s): tarkista pakkausnumero, tai päivitä tietokanta (tiski catalogue sync tai tiski catalogue import --fimea TIEDOSTO)",
		CLIRecordBadVNR:     "%q ei ole pakkausnumero (VNR): siinä on kuusi numeroa",
		CLIRecordCatalogue:  "Mitään ei kirjattu: lääketietokantaa ei voi lukea: %s",
	},
	SV: {
		CLIRecordNoCatalogue: "Inget registrerades: ingen läkemedelskatalog har importerats, så förpackningsnumren (VNR) kan inte kontrolleras. " +
			"Importera den först: tiski catalogue sync (när förbindelsen fungerar) eller tiski catalogue import --fimea FIL. Registrera sedan på nytt.",
		CLIRecordUnknownVNR: "förpackning %s finns inte i läkemedelskatalogen (version %s): kontrollera förpackningsnumret, eller uppdatera katalogen (tiski catalogue sync eller tiski catalogue import --fimea FIL)",
		CLIRecordBadVNR:     "%q är inget förpackningsnummer (VNR): det har sex siffror",
		CLIRecordCatalogue:  "Inget registrerades: läkemedelskatalogen kan inte läsas: %s",
	},
	EN: {
		CLIRecordNoCatalogue: "Nothing was recorded: no medicine catalogue has been imported, so the package numbers (VNR) cannot be checked. " +
			"Import one first: tiski catalogue sync (while online) or tiski catalogue import --fimea FILE. Then record again.",
		CLIRecordUnknownVNR: "no package %s in the medicine catalogue (version %s): check the package number, or update the catalogue (tiski catalogue sync or tiski catalogue import --fimea FILE)",
		CLIRecordBadVNR:     "%q is not a package number (VNR): it has six digits",
		CLIRecordCatalogue:  "Nothing was recorded: the medicine catalogue cannot be read: %s",
	},
}
