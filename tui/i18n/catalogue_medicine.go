package i18n

// medicineCatalogue holds the texts of keys_medicine.go, merged into
// catalogues. The commands IT runs are named as they are typed, in every
// language.
var medicineCatalogue = map[Lang]map[Key]string{
	FI: {
		MedNoCatalogue: "Tällä kassalla ei ole lääkeluetteloa, joten lääkettä ei voi valita. Muut kentät säilyvät. Pyydä IT:tä ajamaan: tiski catalogue sync (tai tiski catalogue import --fimea TIEDOSTO).",
		MedSearching:   "Haetaan lääkeluettelosta…",
		MedMorePage:    "Yli %d osumaa: kirjoita nimeä pidemmälle tai Vnr.",
		MedNoPackage:   "Pakkausta %s ei ole lääkeluettelossa.",
		MedStatusStale: "Lääkeluettelo vanhentunut: päivitys erääntyi %s",
		MedStatusNone:  "Ei lääkeluetteloa: IT ajaa tiski catalogue sync",
	},
	SV: {
		MedNoCatalogue: "Den här kassan har ingen läkemedelskatalog, så inget läkemedel kan väljas. De andra fälten finns kvar. Be IT köra: tiski catalogue sync (eller tiski catalogue import --fimea FIL).",
		MedSearching:   "Söker i läkemedelskatalogen…",
		MedMorePage:    "Över %d träffar: skriv mer av namnet eller Vnr.",
		MedNoPackage:   "Förpackningen %s finns inte i läkemedelskatalogen.",
		MedStatusStale: "Läkemedelskatalogen föråldrad: uppdateringen var %s",
		MedStatusNone:  "Ingen läkemedelskatalog: IT kör tiski catalogue sync",
	},
	EN: {
		MedNoCatalogue: "This counter has no medicine catalogue, so no medicine can be chosen. The other fields stay as typed. Ask IT to run: tiski catalogue sync (or tiski catalogue import --fimea FILE).",
		MedSearching:   "Searching the medicine catalogue…",
		MedMorePage:    "More than %d match: type more of the name, or the VNR.",
		MedNoPackage:   "No package %s in the medicine catalogue.",
		MedStatusStale: "Medicine catalogue out of date: update was due %s",
		MedStatusNone:  "No medicine catalogue: IT must run tiski catalogue sync",
	},
}
