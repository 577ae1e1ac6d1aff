package centre

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// decode reads one resource of type want from b. A body that ends early is
// ErrTruncated; anything else wrong is ErrBadResponse.
func decode(b []byte, want string, v any) error {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return jsonError(b, err)
	}
	if head.ResourceType != want {
		got := head.ResourceType
		if got == "" {
			got = "no resourceType"
		}
		return tagf(ErrBadResponse, "expected a %s, got %s", want, quoteShort(got))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return jsonError(b, err)
	}
	return nil
}

// jsonError tells a body cut off in the middle from one that is malformed.
func jsonError(b []byte, err error) error {
	var probe any
	if derr := json.NewDecoder(bytes.NewReader(b)).Decode(&probe); errors.Is(derr, io.ErrUnexpectedEOF) || errors.Is(derr, io.EOF) {
		return tagf(ErrTruncated, "the JSON ends after %d bytes", len(b))
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return tagf(ErrBadResponse, "field %s has a %s where a %s belongs", te.Field, te.Value, te.Type)
	}
	return tagf(ErrBadResponse, "not JSON (%v)", err)
}

// quoteShort quotes s, cut to a length fit for an error message.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", scrub(s))
}

// searchPage is one page of a searchset Bundle, by resource type.
type searchPage struct {
	matches  []json.RawMessage // entries of the type searched for, in order
	includes map[string]json.RawMessage
	next     string
}

// decodeSearch reads a searchset Bundle whose matches are of type want.
// Included resources are kept by "Type/id" and by fullUrl.
func decodeSearch(b []byte, want string) (*searchPage, error) {
	var bd bundle
	if err := decode(b, "Bundle", &bd); err != nil {
		return nil, err
	}
	if bd.Type != "searchset" {
		return nil, tagf(ErrBadResponse, "expected a searchset Bundle, got type %s", quoteShort(bd.Type))
	}
	page := &searchPage{includes: map[string]json.RawMessage{}}
	for _, l := range bd.Link {
		if l.Relation == "next" {
			page.next = l.URL
		}
	}
	for i, e := range bd.Entry {
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if len(e.Resource) == 0 || json.Unmarshal(e.Resource, &head) != nil {
			return nil, tagf(ErrBadResponse, "search result entry %d has no resource", i+1)
		}
		mode := ""
		if e.Search != nil {
			mode = e.Search.Mode
		}
		switch {
		case head.ResourceType == "OperationOutcome" || mode == "outcome":
			// Search warnings; nothing to show.
		case head.ResourceType == want && mode != "include":
			page.matches = append(page.matches, e.Resource)
		default:
			if head.ID != "" {
				page.includes[head.ResourceType+"/"+head.ID] = e.Resource
			}
			if e.FullURL != "" {
				page.includes[e.FullURL] = e.Resource
			}
		}
	}
	return page, nil
}

// decodePatient turns a Patient resource into an rx.Patient.
func decodePatient(b []byte) (rx.Patient, error) {
	var p patientResource
	if err := decode(b, "Patient", &p); err != nil {
		return rx.Patient{}, err
	}
	var out rx.Patient
	for _, id := range p.Identifier {
		if id.System == rx.SystemHETU {
			out.HETU = strings.ToUpper(strings.TrimSpace(id.Value))
		}
	}
	if out.HETU == "" {
		return rx.Patient{}, tagf(ErrBadResponse, "Patient %s has no personal identity code", quoteShort(p.ID))
	}
	if len(p.Name) > 0 {
		n := p.Name[0]
		out.Family, out.Given = n.Family, strings.Join(n.Given, " ")
		if out.Family == "" && len(n.Given) == 0 {
			out.Family = n.Text
		}
	}
	return out, nil
}

// decodeMedicine turns a Medication resource into an rx.Medicine with the
// one package it describes.
func decodeMedicine(b []byte) (rx.Medicine, error) {
	var m medicationResource
	if err := decode(b, "Medication", &m); err != nil {
		return rx.Medicine{}, err
	}
	med, err := medicineFromCode(m.Code, "Medication "+quoteShort(m.ID))
	if err != nil {
		return rx.Medicine{}, err
	}
	if m.Form != nil {
		med.Form = m.Form.Text
		if med.Form == "" && len(m.Form.Coding) > 0 {
			med.Form = m.Form.Coding[0].Display
		}
	}
	if m.Amount != nil && m.Amount.Numerator != nil {
		n := m.Amount.Numerator
		med.Unit = n.Unit
		if n.Value != nil {
			med.Packages[0].Size = int(math.Round(*n.Value))
		}
	}
	if e, ok := findExtension(m.Extension, extStrength); ok {
		med.Strength = e.ValueString
	}
	for _, e := range m.Extension {
		if e.URL == extMedicineClass {
			switch e.ValueCode {
			case "narcotic":
				med.Narcotic = true
			case "pkv":
				med.PKV = true
			}
		}
	}
	return med, nil
}

// medicineFromCode reads the VNR, the ATC code and the name from a
// Medication.code or a medicationCodeableConcept.
func medicineFromCode(cc *codeableConcept, what string) (rx.Medicine, error) {
	vnr, ok := cc.code(rx.SystemVNR)
	if !ok || vnr.Code == "" {
		return rx.Medicine{}, tagf(ErrBadResponse, "%s has no package number (VNR)", what)
	}
	med := rx.Medicine{Name: cc.Text, Packages: []rx.Package{{VNR: vnr.Code}}}
	if atc, ok := cc.code(rx.SystemATC); ok {
		med.ATC, med.Substance = atc.Code, atc.Display
	}
	if med.Name == "" {
		med.Name = vnr.Display
	}
	if med.Name == "" {
		return rx.Medicine{}, tagf(ErrBadResponse, "%s has no name", what)
	}
	return med, nil
}

// decodePrescription turns a MedicationRequest into an rx.Prescription.
// meds resolves the medication reference; patient is the identity code of
// the subject, which the resource names only by the server's id.
func decodePrescription(b []byte, meds map[string]json.RawMessage, patient string) (rx.Prescription, error) {
	var mr medicationRequest
	if err := decode(b, "MedicationRequest", &mr); err != nil {
		return rx.Prescription{}, err
	}
	what := "prescription " + quoteShort(mr.ID)
	missing := func(field string) error { return tagf(ErrBadResponse, "%s has no %s", what, field) }
	if mr.ID == "" {
		return rx.Prescription{}, tagf(ErrBadResponse, "a prescription has no id")
	}
	if mr.Status == "" {
		return rx.Prescription{}, missing("status")
	}
	p := rx.Prescription{ID: mr.ID, Patient: patient, Status: rx.Status(mr.Status), Form: rx.FormElectronic}
	if mr.Meta != nil {
		p.Version = mr.Meta.VersionID
	}

	switch {
	case mr.MedicationReference != nil:
		ref := mr.MedicationReference.Reference
		raw, ok := meds[ref]
		if !ok {
			return rx.Prescription{}, tagf(ErrBadResponse, "%s refers to %s, which the answer did not include", what, quoteShort(ref))
		}
		m, err := decodeMedicine(raw)
		if err != nil {
			return rx.Prescription{}, err
		}
		p.Medicine = m
	case mr.MedicationCodeableConcept != nil:
		m, err := medicineFromCode(mr.MedicationCodeableConcept, what)
		if err != nil {
			return rx.Prescription{}, err
		}
		p.Medicine = m
	default:
		return rx.Prescription{}, missing("medication")
	}

	issued, err := parseDate(mr.AuthoredOn)
	if err != nil {
		return rx.Prescription{}, tagf(ErrBadResponse, "%s: authoredOn %s is not a date", what, quoteShort(mr.AuthoredOn))
	}
	p.Issued = issued
	if r := mr.Requester; r != nil {
		p.Prescriber.Name = r.Display
		if r.Identifier != nil && r.Identifier.System == rx.SystemValvira {
			p.Prescriber.Registration = r.Identifier.Value
		}
	}
	if r := mr.Recorder; r != nil {
		rec := &rx.Pharmacist{Name: r.Display, Role: rx.RolePharmacist}
		if r.Identifier != nil && r.Identifier.System == rx.SystemValvira {
			rec.Registration = r.Identifier.Value
		}
		p.Recorder = rec
	}
	var dosages []string
	for _, d := range mr.DosageInstruction {
		if d.Text != "" {
			dosages = append(dosages, d.Text)
		}
	}
	p.Dosage = strings.Join(dosages, "; ")

	dr := mr.DispenseRequest
	if dr == nil || dr.Quantity == nil || dr.Quantity.Value == nil {
		return rx.Prescription{}, missing("dispenseRequest.quantity")
	}
	p.Quantity = int(math.Round(*dr.Quantity.Value))
	if dr.NumberOfRepeatsAllowed != nil {
		p.Repeats = *dr.NumberOfRepeatsAllowed
	}
	if p.Quantity < 0 || p.Repeats < 0 {
		return rx.Prescription{}, tagf(ErrBadResponse, "%s has a negative quantity or number of repeats", what)
	}
	if p.Medicine.Unit == "" {
		p.Medicine.Unit = dr.Quantity.Unit
	}

	for _, id := range mr.Identifier {
		if id.System == rx.SystemRecordUUID && strings.HasPrefix(id.Value, "urn:uuid:") {
			p.RecordID = strings.TrimPrefix(id.Value, "urn:uuid:")
		}
	}
	for _, e := range mr.Extension {
		switch e.URL {
		case extPrescriptionForm:
			if e.ValueCoding != nil && rx.Form(e.ValueCoding.Code).Valid() {
				p.Form = rx.Form(e.ValueCoding.Code)
			}
		case extExceptionReason:
			p.Reason = e.ValueString
		case extLockedBy:
			p.LockedBy = e.ValueString
		case extRemainingQty:
			if e.ValueQuantity == nil || e.ValueQuantity.Value == nil {
				return rx.Prescription{}, tagf(ErrBadResponse, "%s: remaining-quantity has no value", what)
			}
			remaining := int(math.Round(*e.ValueQuantity.Value))
			p.Dispensed = min(max(p.Total()-remaining, 0), p.Total())
		case extTelephoneCall:
			call := &rx.TelephoneCall{}
			for _, s := range e.Extension {
				switch s.URL {
				case "phone":
					call.Phone = s.ValueString
				case "verification":
					call.Verification = s.ValueString
				case "time":
					call.Time, _ = time.Parse(time.RFC3339, s.ValueDateTime)
				}
			}
			p.Telephone = call
		}
	}
	return p, nil
}

// parseDate reads a FHIR date or dateTime; a date is midnight UTC, as in
// the fixtures.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(dateLayout, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
}

// Receipt says where a record landed in the Prescription Centre.
type Receipt struct {
	ID      string // the server's logical id, e.g. of the MedicationDispense
	Version string // its meta.versionId
	Created bool   // true when this call created it (201); false when it was already there (200)
	// Status is the resource's status as the answer gave it: completed for
	// a dispensing, active or completed for a prescription, and
	// entered-in-error for a record voided upstream (a conditional create
	// finds a voided record too). Empty when the answer had no resource.
	Status string
}

// returned is what a receipt needs of a resource returned by a write.
type returned struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id"`
	Meta         *meta        `json:"meta"`
	Status       string       `json:"status"`
	Identifier   []identifier `json:"identifier"`
}

// receiptFromResource reads the id and version of a returned resource and
// checks that it is the record sent, by its identifier.
func receiptFromResource(b []byte, resourceType, urn string) (Receipt, error) {
	var r returned
	if err := decode(b, resourceType, &r); err != nil {
		return Receipt{}, err
	}
	return r.receipt(resourceType, urn)
}

// receipt checks that r is the record sent, by its identifier, and reads
// its id and version.
func (r *returned) receipt(resourceType, urn string) (Receipt, error) {
	if !hasRecordIdentifier(r.Identifier, urn) {
		return Receipt{}, tagf(ErrBadResponse, "the %s returned is not the record sent (identifier differs)", resourceType)
	}
	if r.ID == "" {
		return Receipt{}, tagf(ErrBadResponse, "the %s returned has no id", resourceType)
	}
	rc := Receipt{ID: r.ID, Status: r.Status}
	if r.Meta != nil {
		rc.Version = r.Meta.VersionID
	}
	return rc, nil
}

// parseLocation reads Type/id/_history/v from a Location header or a
// transaction response's location, absolute or relative.
func parseLocation(loc, resourceType string) (id, version string, ok bool) {
	parts := strings.Split(strings.Trim(strings.SplitN(loc, "?", 2)[0], "/"), "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if parts[i] == resourceType {
			id = parts[i+1]
			if i+3 < len(parts) && parts[i+2] == "_history" {
				version = parts[i+3]
			}
			return id, version, validID(id)
		}
	}
	return "", "", false
}

// etagVersion reads the version from W/"3".
func etagVersion(etag string) string {
	etag = strings.TrimPrefix(strings.TrimSpace(etag), "W/")
	return strings.Trim(etag, `"`)
}
