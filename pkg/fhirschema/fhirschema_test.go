package fhirschema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The shared examples are the schema's own check: the official ones pass,
// and Kela's medicationrequestesim1.json is known to fail (its README says
// why), so the validator is not a rubber stamp.
func TestSharedExamples(t *testing.T) {
	v := ForTest(t)
	dir, _ := Dir()
	files, _ := filepath.Glob(filepath.Join(dir, "examples", "*.json"))
	kanta, _ := filepath.Glob(filepath.Join(dir, "examples", "kanta-fi-base", "*.json"))
	files = append(files, kanta...)
	if len(files) < 10 {
		t.Fatalf("found only %d example files in %s", len(files), dir)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			err = v.Validate(b)
			if strings.HasPrefix(name, "medicationrequestesim1") {
				if err == nil {
					t.Fatal("the known-invalid Kela example validated")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRejectsWrongShape(t *testing.T) {
	v := ForTest(t)
	bad := []string{
		`{"resourceType":"Patient","gender":"unknown-value"}`,
		`{"resourceType":"MedicationDispense","status":"completed","quantity":{"value":"30"}}`,
		`{"resourceType":"MedicationRequest","status":"active","intent":"order","subject":{},"medicationReference":{"reference":"x"},"dispenseRequest":{"numberOfRepeatsAllowed":"2"}}`,
		`{"resourceType":"Patient","birthDate":"13.10.1952"}`,
	}
	for _, b := range bad {
		if err := v.Validate([]byte(b)); err == nil {
			t.Errorf("validated: %s", b)
		}
	}
}
