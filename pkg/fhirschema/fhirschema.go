// Package fhirschema validates FHIR R4 JSON against the official schema in
// ../shared/fhir/fhir.schema.json, compiled per resource type. It is test
// support: the schema is read from the shared folder beside the checkout and
// never copied into the project.
package fhirschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaURL = "http://hl7.org/fhir/json-schema/4.0"

// Validator validates resources against the R4 schema.
type Validator struct {
	compiler *jsonschema.Compiler
	mu       sync.Mutex
	byType   map[string]*jsonschema.Schema
}

var (
	loadOnce sync.Once
	loaded   *Validator
	loadErr  error
)

// Dir returns the folder holding fhir.schema.json: $TISKI_FHIR_DIR, or
// ../shared/fhir beside the module root.
func Dir() (string, error) {
	if d := os.Getenv("TISKI_FHIR_DIR"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "fhir"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("no go.mod above " + wd)
		}
	}
}

// Load reads and prepares the schema once per process.
func Load() (*Validator, error) {
	loadOnce.Do(func() {
		dir, err := Dir()
		if err != nil {
			loadErr = err
			return
		}
		f, err := os.Open(filepath.Join(dir, "fhir.schema.json"))
		if err != nil {
			loadErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			loadErr = fmt.Errorf("read FHIR schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft6)
		if err := c.AddResource(schemaURL, doc); err != nil {
			loadErr = fmt.Errorf("add FHIR schema: %w", err)
			return
		}
		loaded = &Validator{compiler: c, byType: map[string]*jsonschema.Schema{}}
	})
	return loaded, loadErr
}

// ForTest returns the validator, or skips the test with a clear message
// when ../shared/fhir is absent.
func ForTest(t testing.TB) *Validator {
	t.Helper()
	v, err := Load()
	if err != nil {
		t.Skipf("FHIR R4 schema not available (%v): put the shared folder with fhir/fhir.schema.json beside the checkout, or set TISKI_FHIR_DIR", err)
	}
	return v
}

// Validate checks one resource, given as JSON, against the schema of its
// resourceType. A Bundle's entries are checked by the Bundle schema too.
func (v *Validator) Validate(resource []byte) error {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(resource, &head); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if head.ResourceType == "" {
		return errors.New("no resourceType")
	}
	sch, err := v.schema(head.ResourceType)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(resource))
	if err != nil {
		return err
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s does not validate against the R4 schema: %w", head.ResourceType, err)
	}
	return nil
}

func (v *Validator) schema(resourceType string) (*jsonschema.Schema, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.byType[resourceType]; ok {
		return s, nil
	}
	s, err := v.compiler.Compile(schemaURL + "#/definitions/" + resourceType)
	if err != nil {
		return nil, fmt.Errorf("compile schema for %s: %w", resourceType, err)
	}
	v.byType[resourceType] = s
	return s, nil
}

// Check validates resource and fails the test with the schema's complaint.
func (v *Validator) Check(t testing.TB, what string, resource []byte) {
	t.Helper()
	if err := v.Validate(resource); err != nil {
		t.Errorf("%s: %v\n%s", what, err, truncate(resource, 2000))
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return append(b[:n:n], "…"...)
	}
	return b
}
