package centre

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// The medicine catalogue's read (issue 24): the Prescription Centre's
// Medication resources, one a package, page by page.

// Extensions of a Medication beyond strength and class (README of
// pkg/centresim, "Medication").
const (
	extPackSize           = defBase + "StructureDefinition/pack-size"
	extSubstitutionGroup  = defBase + "StructureDefinition/substitution-group"
	extPrescriptionStatus = defBase + "StructureDefinition/prescription-status"
)

// Medication is one package as the Prescription Centre serves it. The
// catalogue maps it to its own package (pkg/centre does not know the
// catalogue).
type Medication struct {
	VNR               string
	Name              string // trade name
	Substance         string
	ATC               string
	Strength          string
	Form              string
	PackSize          string // as text: "30 fol"
	Size              int    // units in the pack, 0: not given
	Unit              string
	Prescription      string // R or K
	SubstitutionGroup string
	Class             string // narcotic, pkv or ""
	Active            bool   // false: withdrawn from sale (status inactive)
	Version           string
	LastUpdated       time.Time
}

// MedicationRead is what a Medications read took in.
type MedicationRead struct {
	Pages   int
	Fetched int       // Medications read, over all pages
	Total   int       // the first page's Bundle.total; -1: not given
	Newest  time.Time // the newest lastUpdated met
}

// Default and bounds of a catalogue read.
const (
	// MedicationPageSize is _count of a catalogue read unless
	// Config.PageSize says otherwise.
	MedicationPageSize = 500
	// maxMedicationPages bounds the pages a catalogue read follows: a
	// million packages at the default size, so only a server that links
	// on without end meets it.
	maxMedicationPages = 2000
)

// Medications reads the Prescription Centre's Medications changed after
// since (all of them when since is zero), in pages of count (0:
// Config.PageSize, else MedicationPageSize) through the
// Bundles' next links, and hands each page to page as it arrives, so that
// a whole catalogue is never held as JSON. Each page is checked: a
// searchset Bundle of Medications, each with a VNR and a name and its
// lastUpdated, no more of them than asked for, its next link on the same
// server and never met before. A page that fails, a read cut short of the
// first page's total, or an error from page ends the read with an error;
// what page was given before is the caller's to throw away.
func (c *Client) Medications(ctx context.Context, since time.Time, count int, page func([]Medication) error) (MedicationRead, error) {
	const op = "read the medicine catalogue"
	if count <= 0 {
		count = c.cfg.PageSize
	}
	if count <= 0 {
		count = MedicationPageSize
	}
	params := url.Values{"_count": {strconv.Itoa(count)}}
	if !since.IsZero() {
		params.Set("_lastUpdated", "gt"+since.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	}
	read := MedicationRead{Total: -1}
	r := request{op: op, method: http.MethodPost, target: "Medication/_search",
		body: []byte(params.Encode()), contentType: formURLEncoded, read: true}
	seen := map[string]bool{}
	for {
		a, err := c.do(ctx, r)
		if err != nil {
			return read, err
		}
		read.Pages++
		meds, next, total, err := decodeMedicationPage(a.body, count)
		if err != nil {
			return read, badAnswer(op, a, err)
		}
		if read.Pages == 1 && total != nil {
			read.Total = *total
		}
		read.Fetched += len(meds)
		for _, m := range meds {
			if m.LastUpdated.After(read.Newest) {
				read.Newest = m.LastUpdated
			}
		}
		if err := page(meds); err != nil {
			return read, err
		}
		if next == "" {
			break
		}
		if seen[next] || read.Pages >= maxMedicationPages {
			return read, badAnswer(op, a, tagf(ErrBadResponse, "the catalogue's next links loop or go on past %d pages", maxMedicationPages))
		}
		seen[next] = true
		if r, err = c.nextPage(op, next); err != nil {
			return read, badAnswer(op, a, err)
		}
	}
	// Pages read by keyset meet a Medication changed meanwhile once more,
	// never one less: fewer than the total is a listing cut short.
	if read.Total >= 0 && read.Fetched < read.Total {
		return read, &Error{Op: op, Class: Permanent, Err: tagf(ErrTruncated,
			"the catalogue's pages ended after %d of its %d Medications", read.Fetched, read.Total)}
	}
	return read, nil
}

// medicationResource's fields the catalogue reads beyond fhir.go's.
type catalogueMedication struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id"`
	Meta         *meta            `json:"meta"`
	Extension    []extension      `json:"extension"`
	Code         *codeableConcept `json:"code"`
	Status       string           `json:"status"`
	Form         *codeableConcept `json:"form"`
	Amount       *ratio           `json:"amount"`
	Ingredient   []struct {
		ItemCodeableConcept *codeableConcept `json:"itemCodeableConcept"`
	} `json:"ingredient"`
}

// decodeMedicationPage reads one page of a Medication search, in one pass
// over its JSON (a catalogue page holds 500 Medications): a searchset
// Bundle, its next link and total, and its Medication matches.
func decodeMedicationPage(b []byte, count int) ([]Medication, string, *int, error) {
	var bd struct {
		ResourceType string       `json:"resourceType"`
		Type         string       `json:"type"`
		Total        *int         `json:"total"`
		Link         []bundleLink `json:"link"`
		Entry        []struct {
			Resource *catalogueMedication `json:"resource"`
			Search   *bundleSearch        `json:"search"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bd); err != nil {
		return nil, "", nil, jsonError(b, err)
	}
	switch {
	case bd.ResourceType != "Bundle":
		return nil, "", nil, tagf(ErrBadResponse, "expected a Bundle, got %s", quoteShort(bd.ResourceType))
	case bd.Type != "searchset":
		return nil, "", nil, tagf(ErrBadResponse, "expected a searchset Bundle, got type %s", quoteShort(bd.Type))
	}
	next := ""
	for _, l := range bd.Link {
		if l.Relation == "next" {
			next = l.URL
		}
	}
	out := make([]Medication, 0, len(bd.Entry))
	for i, e := range bd.Entry {
		if e.Resource == nil {
			return nil, "", nil, tagf(ErrBadResponse, "search result entry %d has no resource", i+1)
		}
		if e.Resource.ResourceType != "Medication" || e.Search != nil && e.Search.Mode != "" && e.Search.Mode != "match" {
			continue // an OperationOutcome's warnings, or an included resource
		}
		if len(out) == count {
			return nil, "", nil, tagf(ErrBadResponse, "a catalogue page holds more than the %d Medications asked for", count)
		}
		m, err := e.Resource.medication()
		if err != nil {
			return nil, "", nil, tagf(ErrBadResponse, "Medication %d of the page: %v", i+1, err)
		}
		out = append(out, m)
	}
	return out, next, bd.Total, nil
}

// medication checks a Medication and reads the package it describes.
func (r *catalogueMedication) medication() (Medication, error) {
	vnr, ok := r.Code.code(rx.SystemVNR)
	if !ok || !sixDigits(vnr.Code) {
		return Medication{}, tagf(ErrBadResponse, "Medication %s has no package number (VNR)", quoteShort(r.ID))
	}
	m := Medication{VNR: vnr.Code, Active: r.Status != "inactive" && r.Status != statusEnteredInError}
	if r.Code != nil {
		m.Name = strings.TrimSpace(r.Code.Text)
	}
	if atc, ok := r.Code.code(rx.SystemATC); ok {
		m.ATC, m.Substance = atc.Code, atc.Display
	}
	if len(r.Ingredient) > 0 && r.Ingredient[0].ItemCodeableConcept != nil && r.Ingredient[0].ItemCodeableConcept.Text != "" {
		m.Substance = r.Ingredient[0].ItemCodeableConcept.Text
	}
	if m.Name == "" && m.Active {
		return Medication{}, tagf(ErrBadResponse, "Medication %s (VNR %s) has no name", quoteShort(r.ID), m.VNR)
	}
	if r.Meta == nil || r.Meta.LastUpdated == "" {
		return Medication{}, tagf(ErrBadResponse, "Medication %s has no meta.lastUpdated", quoteShort(r.ID))
	}
	t, err := time.Parse(time.RFC3339Nano, r.Meta.LastUpdated)
	if err != nil {
		return Medication{}, tagf(ErrBadResponse, "Medication %s: meta.lastUpdated %s is not an instant", quoteShort(r.ID), quoteShort(r.Meta.LastUpdated))
	}
	m.LastUpdated, m.Version = t, r.Meta.VersionID
	if r.Form != nil {
		m.Form = r.Form.Text
		if m.Form == "" && len(r.Form.Coding) > 0 {
			m.Form = r.Form.Coding[0].Display
		}
	}
	if r.Amount != nil && r.Amount.Numerator != nil {
		if r.Amount.Numerator.Value != nil {
			m.Size = int(*r.Amount.Numerator.Value)
		}
		m.Unit = r.Amount.Numerator.Unit
	}
	for _, e := range r.Extension {
		switch e.URL {
		case extStrength:
			m.Strength = e.ValueString
		case extMedicineClass:
			m.Class = e.ValueCode
		case extPackSize:
			m.PackSize = e.ValueString
		case extPrescriptionStatus:
			m.Prescription = e.ValueCode
		case extSubstitutionGroup:
			m.SubstitutionGroup = e.ValueString
		}
	}
	return m, nil
}

func sixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
