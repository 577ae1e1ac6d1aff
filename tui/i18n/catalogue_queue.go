package i18n

// queueCatalogue holds the texts of keys_queue.go, merged into catalogues.
var queueCatalogue = map[Lang]map[Key]string{
	FI: {},
	SV: {},
	EN: {},
}
