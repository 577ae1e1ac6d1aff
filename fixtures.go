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
func Fixtures() fs.FS { return under(fixtures, "testdata/fixtures") }

//go:embed testdata/drills/*.toml
var scenarios embed.FS

// Scenarios returns the shipped drill scenarios (july-2015.toml …), so that
// a trainer with the tiski binary alone can run them by name.
func Scenarios() fs.FS { return under(scenarios, "testdata/drills") }

// under is the folder dir of an embedded tree.
func under(files embed.FS, dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the folders are constants; this cannot fail
	}
	return sub
}
