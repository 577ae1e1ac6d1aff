// Package tiski holds what the whole module shares at its root: the bundled
// fixtures the simulator and the demo serve.
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
