package i18n

// hubCatalogue holds the texts of keys_hub.go, merged into catalogues.
var hubCatalogue = map[Lang]map[Key]string{
	FI: {
		HubConnected:      "Keskitin: yhteys, jakamatta %d",
		HubDisconnected:   "Keskitin: EI YHTEYTTÄ, jakamatta %d",
		HubPeerFault:      "Kassa %s häiriötilassa %s alkaen",
		HubPeerRecovering: "Kassa %s palautumassa %s alkaen",

		HubRecordedAt: "kirjattu kassalla %s, %s, %s",
		HubLeft:       "jäljellä %d / %s",
		HubAtCounter:  "%s (kassa %s)",

		CLIHubTitle:          "Apteekin keskitin",
		CLIHubURL:            "Osoite",
		CLIHubState:          "Tila",
		CLIHubReachable:      "tavoitettavissa",
		CLIHubUnreachable:    "ei tavoitettavissa: %s",
		CLIHubUnshared:       "Jakamatta",
		CLIHubOldestUnshared: "Vanhin jakamaton",
		CLIHubCounters:       "Muut kassat",
		CLIHubCounterLine:    "%s: tila %s, viimeksi yhteydessä %s, lähettämättä %d, jakamatta %d",
		CLIHubCounterKept:    "%s: täällä %d tietuetta, viimeisin saapui %s",
		CLIHubNoCounters:     "ei muita kassoja",
		CLIHubNotConfigured:  "ei määritetty (hub.url)",
	},
	SV: {
		HubConnected:      "Hubb: ansluten, ej delade %d",
		HubDisconnected:   "Hubb: INGEN FÖRBINDELSE, ej delade %d",
		HubPeerFault:      "Kassa %s i störningsläge sedan %s",
		HubPeerRecovering: "Kassa %s återhämtar sig sedan %s",

		HubRecordedAt: "registrerad vid kassa %s, %s, %s",
		HubLeft:       "kvar %d / %s",
		HubAtCounter:  "%s (kassa %s)",

		CLIHubTitle:          "Apotekets hubb",
		CLIHubURL:            "Adress",
		CLIHubState:          "Status",
		CLIHubReachable:      "nåbar",
		CLIHubUnreachable:    "inte nåbar: %s",
		CLIHubUnshared:       "Ej delade",
		CLIHubOldestUnshared: "Äldsta ej delade",
		CLIHubCounters:       "Andra kassor",
		CLIHubCounterLine:    "%s: läge %s, senaste kontakt %s, ej skickade %d, ej delade %d",
		CLIHubCounterKept:    "%s: %d poster här, den senaste kom %s",
		CLIHubNoCounters:     "inga andra kassor",
		CLIHubNotConfigured:  "inte konfigurerad (hub.url)",
	},
	EN: {
		HubConnected:      "Hub: connected, %d not shared",
		HubDisconnected:   "Hub: NOT CONNECTED, %d not shared",
		HubPeerFault:      "Counter %s in fault mode since %s",
		HubPeerRecovering: "Counter %s recovering since %s",

		HubRecordedAt: "recorded at counter %s, %s, %s",
		HubLeft:       "%d of %s left",
		HubAtCounter:  "%s (counter %s)",

		CLIHubTitle:          "The pharmacy's hub",
		CLIHubURL:            "Address",
		CLIHubState:          "State",
		CLIHubReachable:      "reachable",
		CLIHubUnreachable:    "not reachable: %s",
		CLIHubUnshared:       "Not shared",
		CLIHubOldestUnshared: "Oldest not shared",
		CLIHubCounters:       "Other counters",
		CLIHubCounterLine:    "%s: mode %s, last contact %s, pending %d, not shared %d",
		CLIHubCounterKept:    "%s: %d records here, the last received %s",
		CLIHubNoCounters:     "no other counters",
		CLIHubNotConfigured:  "not configured (hub.url)",
	},
}
