package i18n

// formsCatalogue holds the texts of keys_forms.go, merged into catalogues.
var formsCatalogue = map[Lang]map[Key]string{
	FI: {},
	SV: {},
	EN: {},
}
