package centre

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/tiski-rx/tiski/pkg/hetu"
	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// recordURN turns a journal record id into its identifier value,
// urn:uuid:<lower-case uuid>. A bare uuid and a urn:uuid: form are both
// accepted.
func recordURN(id string) (string, error) {
	u, err := uuid.Parse(strings.TrimSpace(id))
	if err != nil {
		return "", fmt.Errorf("record id is not a UUID")
	}
	return "urn:uuid:" + u.String(), nil
}

// entryNamespace is the namespace of the name-based UUIDs (RFC 9562,
// version 5: SHA-1) that name a transaction Bundle's entries. It is fixed
// for good: changing it changes no stored data, but keeping it keeps a
// retried transaction byte for byte the same as its first attempt.
var entryNamespace = uuid.MustParse("cd018acd-259e-4bc8-b4f6-6b18d2b41531")

// entryFullURL is the fullUrl of the transaction entry carrying the record
// with identifier value urn: urn:uuid:<the name-based UUID of urn>. It is
// stable across retries, yet never the record's own identifier. A server
// resolves every occurrence of an entry's fullUrl in the Bundle to the
// resource it becomes (R4 http.html#trules; Medplum does it to any string,
// not only to references); had the fullUrl been the identifier value, the
// identifier would be stored rewritten as MedicationDispense/<id>, and the
// conditional create on it would never match again (issue 18).
func entryFullURL(urn string) string {
	return "urn:uuid:" + uuid.NewSHA1(entryNamespace, []byte(urn)).String()
}

// ifNoneExist is the condition of a conditional create on a record id.
func ifNoneExist(urn string) string { return "identifier=" + rx.SystemRecordUUID + "|" + urn }

func hetuIdentifier(code string) *identifier {
	return &identifier{System: rx.SystemHETU, Value: code}
}

func practitioner(name, registration string) *reference {
	return &reference{Type: "Practitioner", Identifier: &identifier{System: rx.SystemValvira, Value: registration}, Display: name}
}

// organisationURN is urn:oid:<oid>, whether or not oid already has the prefix.
func organisationURN(oid string) string {
	return "urn:oid:" + strings.TrimPrefix(strings.TrimSpace(oid), "urn:oid:")
}

// medicineName is "Panadol 500 mg tablet", leaving out what is unknown.
func medicineName(m rx.Medicine) string {
	var parts []string
	for _, s := range []string{m.Name, m.Strength, m.Form} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

// basisText names a basis document in the dispensing's note.
var basisText = map[rx.BasisDocument]string{
	rx.BasisInstructionSheet: "patient instruction sheet",
	rx.BasisSummary:          "prescription summary from My Kanta",
	rx.BasisPreviousLabel:    "previous package's dosage label",
}

// dispensing builds the MedicationDispense for d. authorizing, when not nil,
// replaces the reference built from d (inside a transaction it is the
// prescription entry's fullUrl). It returns the record's identifier value.
func (c *Client) dispensing(d rx.Dispensing, authorizing *reference, o options) (*medicationDispense, string, error) {
	var v rx.ValidationError
	urn, err := recordURN(d.ID)
	if err != nil {
		v.Add("record id", "%v", err)
	}
	pid, err := hetu.Parse(d.Patient)
	if err != nil {
		v.Add("patient", "%v", err)
	}
	if strings.TrimSpace(d.VNR) == "" {
		v.Add("package", "the package number (VNR) is missing")
	}
	if d.Quantity <= 0 {
		v.Add("quantity", "must be more than 0, not %d", d.Quantity)
	}
	if d.Time.IsZero() {
		v.Add("time", "the time of hand-over is missing")
	}
	if strings.TrimSpace(d.Pharmacist.Registration) == "" {
		v.Add("pharmacist", "the pharmacist's Valvira registration number is missing")
	}
	// The record's own stamp names the pharmacy (pkg/record stamps every
	// dispensing since issue 18), so a later configuration change does not
	// rewrite history. The configured pharmacy is for legacy records only:
	// those recorded before the stamp, which carry no OID.
	pharmacy := d.Pharmacy
	if pharmacy.OID == "" {
		pharmacy = c.cfg.Pharmacy
	}
	if strings.TrimSpace(pharmacy.OID) == "" {
		v.Add(fieldPharmacy, "the pharmacy's organisation OID is missing (set it in the configuration)")
	}
	if d.Essential && !d.Basis.Valid() {
		v.Add("basis", "an essential-medication dispensing needs its basis document (instruction sheet, summary or previous label)")
	}
	if !d.Essential && d.Basis != "" {
		v.Add("basis", "a basis document is given but the dispensing is not marked essential")
	}
	if authorizing == nil {
		switch {
		case d.PrescriptionID != "" && d.PrescriptionRecord != "":
			v.Add("prescription", "give the e-prescription id or the journal prescription, not both")
		case d.PrescriptionID != "":
			if !validID(d.PrescriptionID) {
				v.Add("prescription", "%q is not a Prescription Centre id", d.PrescriptionID)
			}
			authorizing = &reference{Reference: "MedicationRequest/" + d.PrescriptionID}
		case d.PrescriptionRecord != "":
			rec, err := recordURN(d.PrescriptionRecord)
			if err != nil {
				v.Add("prescription", "the journal prescription's %v", err)
			}
			authorizing = &reference{Identifier: &identifier{System: rx.SystemRecordUUID, Value: rec}}
		case !(d.Essential && d.Basis == rx.BasisPreviousLabel):
			v.Add("prescription", "a dispensing needs its prescription, unless it is an essential dispensing based on a previous label")
		}
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}

	med := &codeableConcept{Coding: []coding{{System: rx.SystemVNR, Code: strings.TrimSpace(d.VNR)}}, Text: medicineName(d.Medicine)}
	if d.Medicine.ATC != "" {
		med.Coding = append(med.Coding, coding{System: rx.SystemATC, Code: d.Medicine.ATC, Display: d.Medicine.Substance})
	}
	md := &medicationDispense{
		ResourceType:              "MedicationDispense",
		Identifier:                []identifier{{System: rx.SystemRecordUUID, Value: urn}},
		Status:                    "completed",
		MedicationCodeableConcept: med,
		Subject:                   &reference{Type: "Patient", Identifier: hetuIdentifier(pid.String())},
		Performer: []performer{
			{Actor: *practitioner(d.Pharmacist.Name, d.Pharmacist.Registration)},
			{Actor: reference{Type: "Organization", Identifier: &identifier{System: rx.SystemRecordUUID, Value: organisationURN(pharmacy.OID)}, Display: pharmacy.Name}},
		},
		Quantity:       newQuantity(d.Quantity, d.Medicine.Unit),
		WhenHandedOver: d.Time.Format(dateTimeLayout),
	}
	if authorizing != nil {
		md.AuthorizingPrescription = []reference{*authorizing}
	}
	if d.Essential {
		// The contract allows type EM, the basis and the note only on an
		// essential dispensing, so a free-text note on an ordinary one
		// is not sent.
		md.Type = &codeableConcept{Coding: []coding{{System: csV3ActCode, Code: "EM", Display: "Emergency Supply"}}}
		md.Extension = []extension{{URL: extEssentialBasis, ValueCode: string(d.Basis)}}
		note := "Essential medication, basis: " + basisText[d.Basis]
		if n := strings.TrimSpace(d.Note); n != "" {
			note += ". " + n
		}
		md.Note = []annotation{{Text: note}}
	}
	if o.override != "" {
		md.Extension = append(md.Extension, extension{URL: extOverrideReason, ValueString: o.override})
	}
	return md, urn, nil
}

// Times go out as RFC 3339 with the zone, dates as YYYY-MM-DD.
const (
	dateTimeLayout = "2006-01-02T15:04:05Z07:00"
	dateLayout     = "2006-01-02"
)

// prescriptionPackage picks the VNR a pharmacy-recorded prescription names:
// the package dispensed with it, else the package of the prescribed size,
// else the smallest.
func prescriptionPackage(p rx.Prescription, d *rx.Dispensing) (string, bool) {
	if d != nil && strings.TrimSpace(d.VNR) != "" {
		return strings.TrimSpace(d.VNR), true
	}
	for _, pk := range p.Medicine.Packages {
		if pk.Size == p.Quantity {
			return pk.VNR, true
		}
	}
	if pk, ok := p.Medicine.SmallestPackage(); ok && pk.VNR != "" {
		return pk.VNR, true
	}
	return "", false
}

// prescription builds the MedicationRequest of a pharmacy-recorded paper or
// telephone prescription. It returns the record's identifier value.
func prescription(p rx.Prescription, d *rx.Dispensing) (*medicationRequest, string, error) {
	var v rx.ValidationError
	urn, err := recordURN(p.RecordID)
	if err != nil {
		v.Add("record id", "%v", err)
	}
	pid, err := hetu.Parse(p.Patient)
	if err != nil {
		v.Add("patient", "%v", err)
	}
	if p.Form != rx.FormPaper && p.Form != rx.FormTelephone {
		v.Add("form", "only a paper or telephone prescription is recorded by the pharmacy, not %q", p.Form)
	}
	if strings.TrimSpace(p.Prescriber.Registration) == "" || strings.TrimSpace(p.Prescriber.Name) == "" {
		v.Add("prescriber", "the prescriber's name and Valvira registration number are needed")
	}
	if p.Recorder == nil || strings.TrimSpace(p.Recorder.Registration) == "" {
		v.Add("recorder", "the recording pharmacist's Valvira registration number is needed")
	}
	if strings.TrimSpace(p.Reason) == "" {
		v.Add("reason", "the prescriber's reason for a paper or telephone prescription is needed")
	}
	if p.Issued.IsZero() {
		v.Add("issued", "the date of issue is missing")
	}
	if p.Quantity <= 0 {
		v.Add("quantity", "must be more than 0, not %d", p.Quantity)
	}
	if p.Repeats < 0 {
		v.Add("repeats", "cannot be negative")
	}
	vnr, ok := prescriptionPackage(p, d)
	if !ok {
		v.Add("medicine", "no package number (VNR) for the prescribed medicine")
	}
	if p.Form == rx.FormTelephone && (p.Telephone == nil || p.Telephone.Phone == "" || p.Telephone.Time.IsZero() || p.Telephone.Verification == "") {
		v.Add("telephone call", "a telephone prescription needs the caller's phone number, the time of the call and how the caller was verified")
	}
	if err := v.Err(); err != nil {
		return nil, "", err
	}

	reported := true
	repeats := p.Repeats
	mr := &medicationRequest{
		ResourceType:        "MedicationRequest",
		Identifier:          []identifier{{System: rx.SystemRecordUUID, Value: urn}},
		Status:              string(rx.StatusActive),
		Intent:              "order",
		ReportedBoolean:     &reported,
		MedicationReference: &reference{Reference: "Medication/med-" + vnr, Display: medicineName(p.Medicine)},
		// A conditional reference: the server resolves the patient, and
		// the identity code never appears in a URL. The code is escaped as
		// a query value: a '+' (born in the 1800s) would read as a space.
		Subject:    &reference{Reference: "Patient?identifier=" + rx.SystemHETU + "|" + url.QueryEscape(pid.String())},
		AuthoredOn: p.Issued.Format(dateLayout),
		Requester:  practitioner(p.Prescriber.Name, p.Prescriber.Registration),
		Recorder:   practitioner(p.Recorder.Name, p.Recorder.Registration),
		DispenseRequest: &dispenseRequest{
			ValidityPeriod:         &period{Start: p.Issued.Format(dateLayout), End: p.ValidUntil(policy.Default().Validity()).Format(dateLayout)},
			NumberOfRepeatsAllowed: &repeats,
			Quantity:               newQuantity(p.Quantity, p.Medicine.Unit),
		},
		Extension: []extension{
			{URL: extPrescriptionForm, ValueCoding: &coding{System: csPrescriptionForm, Code: string(p.Form)}},
			{URL: extExceptionReason, ValueString: p.Reason},
		},
	}
	if s := strings.TrimSpace(p.Dosage); s != "" {
		mr.DosageInstruction = []dosage{{Text: s}}
	}
	if p.Form == rx.FormTelephone {
		mr.Extension = append(mr.Extension, extension{URL: extTelephoneCall, Extension: []extension{
			{URL: "phone", ValueString: p.Telephone.Phone},
			{URL: "time", ValueDateTime: p.Telephone.Time.Format(dateTimeLayout)},
			{URL: "verification", ValueString: p.Telephone.Verification},
		}})
	}
	return mr, urn, nil
}

// transaction builds the transaction Bundle recording p and its
// dispensings ds (none, one or several), in that order.
func (c *Client) transaction(p rx.Prescription, ds []rx.Dispensing, o options) ([]byte, error) {
	var first *rx.Dispensing
	if len(ds) > 0 {
		first = &ds[0]
	}
	mr, mrURN, err := prescription(p, first)
	if err != nil {
		return nil, err
	}
	mrFull := entryFullURL(mrURN)
	entries := []bundleEntry{{
		FullURL:  mrFull,
		Resource: mustJSON(mr),
		Request:  &bundleRequest{Method: "POST", URL: "MedicationRequest", IfNoneExist: ifNoneExist(mrURN)},
	}}
	seen := map[string]bool{mrURN: true}
	for i, d := range ds {
		var v rx.ValidationError
		field := func(name string) string {
			if len(ds) == 1 {
				return name
			}
			return fmt.Sprintf("dispensing %d: %s", i+1, name)
		}
		if d.PrescriptionID != "" {
			v.Add(field("prescription"), "a dispensing of a pharmacy-recorded prescription cannot also name e-prescription %s", d.PrescriptionID)
		}
		if d.PrescriptionRecord != "" {
			if rec, err := recordURN(d.PrescriptionRecord); err != nil || rec != mrURN {
				v.Add(field("prescription"), "the dispensing names another journal prescription than the one recorded with it")
			}
		}
		if norm(d.Patient) != norm(p.Patient) {
			v.Add(field("patient"), "the dispensing's patient %s is not the prescription's %s", hetu.Mask(d.Patient), hetu.Mask(p.Patient))
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		md, mdURN, err := c.dispensing(d, &reference{Reference: mrFull}, o)
		if err != nil {
			return nil, err
		}
		if seen[mdURN] {
			v.Add(field("record id"), "the record id %s is used twice in one transaction", strings.TrimPrefix(mdURN, "urn:uuid:"))
			return nil, v.Err()
		}
		seen[mdURN] = true
		entries = append(entries, bundleEntry{
			FullURL:  entryFullURL(mdURN),
			Resource: mustJSON(md),
			Request:  &bundleRequest{Method: "POST", URL: "MedicationDispense", IfNoneExist: ifNoneExist(mdURN)},
		})
	}
	if err := fullURLsOnlyInReferences(entries); err != nil {
		return nil, err
	}
	return json.Marshal(bundle{ResourceType: "Bundle", Type: "transaction", Entry: entries})
}

// fullURLsOnlyInReferences makes sure that no entry's fullUrl appears in
// the Bundle's resources except as a reference's value: anywhere else (an
// identifier, a note) a server would rewrite it too. Name-based UUIDs make
// that impossible in practice; a record id crafted to be one is refused
// here rather than stored rewritten.
func fullURLsOnlyInReferences(entries []bundleEntry) error {
	for _, e := range entries {
		quoted := `"` + e.FullURL + `"`
		for _, other := range entries {
			body := string(other.Resource)
			if strings.Count(body, quoted) != strings.Count(body, `"reference":`+quoted) {
				var v rx.ValidationError
				v.Add("record id", "the transaction entry name %s also appears in a record as other than a reference; the record cannot be sent as it is", e.FullURL)
				return v.Err()
			}
		}
	}
	return nil
}

// mustJSON marshals one of this package's wire structs, which cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("centre: marshal %T: %v", v, err)) // only plain structs and strings: a bug
	}
	return b
}

// validID reports whether s is a FHIR logical id: [A-Za-z0-9\-\.]{1,64}. It
// keeps anything else out of a URL path.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func norm(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }
