// Package tiski holds what the whole module shares at its root: the bundled
// fixtures the simulator and the demo serve, and the shipped drill
// scenarios.
package tiski

import (
	"embed"
	"io/fs"
)

//go:embed testdata/fixtures/*.json
var fixtures embed.FS

// Fixtures returns the bundled fixture files (medicines.json,
// prescribers.json, patients.json, prescriptions.json), for rx.LoadFixtures.
func Fixtures() fs.FS {
	sub, err := fs.Sub(fixtures, "testdata/fixtures")
	if err != nil {
		panic(err) // the path is a constant; this cannot fail
	}
	return sub
}

//go:embed testdata/drills/*.toml
var scenarios embed.FS

// Scenarios returns the shipped drill scenarios (july-2015.toml …), so that
// a trainer with the tiski binary alone can run them by name.
func Scenarios() fs.FS {
	sub, err := fs.Sub(scenarios, "testdata/drills")
	if err != nil {
		panic(err) // the path is a constant; this cannot fail
	}
	return sub
}
