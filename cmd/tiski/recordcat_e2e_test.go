package main

// fixtureCatalogue gives r's data folder the bundled made-up medicines as
// its medicine catalogue (tiski catalogue import --fixtures): tiski record
// looks packages up in the data folder's catalogue, and the tests' records
// name the fixtures' package numbers.
func (r tiskiRun) fixtureCatalogue() {
	r.t.Helper()
	r.ok("", "catalogue", "import", "--fixtures")
}
