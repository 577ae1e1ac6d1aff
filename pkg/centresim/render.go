package centresim

import (
	"cmp"
	"encoding/json"
	"os"
	"strconv"

	"github.com/tiski-rx/tiski/pkg/rx"
)

// Rendering of stored rows as FHIR JSON.

func chmodPrivate(path string) error {
	if err := os.Chmod(path, 0o600); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func metaOf(version int, lastUpdated string) *meta {
	return &meta{VersionID: strconv.Itoa(version), LastUpdated: lastUpdated}
}

func identifiersJSON(ids []identRow) []identifier {
	out := make([]identifier, len(ids))
	for i, id := range ids {
		out[i] = identifier{System: id.System, Value: id.Value}
		if id.System == rx.SystemHETU {
			out[i].Type = nnfin()
		}
	}
	return out
}

func nnfin() *codeableConcept {
	return &codeableConcept{Coding: []coding{{System: csV20203, Code: "NNFIN"}}}
}

func renderPatient(p patientRow) []byte {
	b, _ := json.Marshal(patientResource{
		ResourceType: "Patient", ID: p.ID, Meta: metaOf(p.Version, p.LastUpdated),
		Identifier: []identifier{{Type: nnfin(), System: rx.SystemHETU, Value: p.HETU}},
		Name:       []humanName{{Family: p.Family, Given: []string{p.Given}}},
		Gender:     p.Gender, BirthDate: p.BirthDate,
	})
	return b
}

func (m medicationRow) display() string {
	return m.Name + " " + m.Strength + " " + m.Form + " " + strconv.Itoa(m.PackSize)
}

func renderMedication(m medicationRow) []byte {
	var ext []extension
	if m.Strength != "" {
		ext = append(ext, extension{URL: extStrength, ValueString: ptr(m.Strength)})
	}
	if m.Class != "" {
		ext = append(ext, extension{URL: extMedicineClass, ValueCode: ptr(m.Class)})
	}
	if m.PackText != "" {
		ext = append(ext, extension{URL: extPackSize, ValueString: ptr(m.PackText)})
	}
	if m.Prescription != "" {
		ext = append(ext, extension{URL: extPrescription, ValueCode: ptr(m.Prescription)})
	}
	if m.Group != "" {
		ext = append(ext, extension{URL: extSubstitution, ValueString: ptr(m.Group)})
	}
	res := medicationResource{
		ResourceType: "Medication", ID: m.ID, Meta: metaOf(m.Version, m.LastUpdated), Extension: ext,
		Code: &codeableConcept{Coding: []coding{
			{System: rx.SystemVNR, Code: m.VNR, Display: m.display()},
			{System: rx.SystemATC, Code: m.ATC, Display: m.Substance},
		}, Text: m.Name},
		Status: cmp.Or(m.Status, "active"),
		Amount: &ratio{Numerator: &quantity{Value: ptr(float64(m.PackSize)), Unit: m.Unit}, Denominator: &quantity{Value: ptr(1.0)}},
	}
	if m.Form != "" {
		res.Form = &codeableConcept{Text: m.Form}
	}
	if m.Substance != "" {
		res.Ingredient = []medicationIngredient{{ItemCodeableConcept: &codeableConcept{Text: m.Substance}, IsActive: ptr(true)}}
	}
	b, _ := json.Marshal(res)
	return b
}

func practitioner(name, reg string) *reference {
	if name == "" && reg == "" {
		return nil
	}
	r := &reference{Type: "Practitioner", Display: name}
	if reg != "" {
		r.Identifier = &identifier{System: rx.SystemValvira, Value: reg}
	}
	return r
}

func renderRequest(r requestRow) []byte {
	ext := []extension{{URL: extForm, ValueCoding: &coding{System: csForm, Code: r.Form}}}
	if r.ExceptionReason != "" {
		ext = append(ext, extension{URL: extExceptionWhy, ValueString: ptr(r.ExceptionReason)})
	}
	if r.CallPhone != "" || r.CallTime != "" || r.CallVerification != "" {
		call := extension{URL: extTelephoneCall}
		if r.CallPhone != "" {
			call.Extension = append(call.Extension, extension{URL: "phone", ValueString: ptr(r.CallPhone)})
		}
		if r.CallTime != "" {
			call.Extension = append(call.Extension, extension{URL: "time", ValueDateTime: ptr(r.CallTime)})
		}
		if r.CallVerification != "" {
			call.Extension = append(call.Extension, extension{URL: "verification", ValueString: ptr(r.CallVerification)})
		}
		ext = append(ext, call)
	}
	ext = append(ext, extension{URL: extRemaining, ValueQuantity: &quantity{Value: ptr(float64(r.remaining())), Unit: r.Unit}})
	if r.LockedBy != "" {
		ext = append(ext, extension{URL: extLockedBy, ValueString: ptr(r.LockedBy)})
	}
	res := medicationRequestResource{
		ResourceType: "MedicationRequest", ID: r.ID, Meta: metaOf(r.Version, r.LastUpdated), Extension: ext,
		Identifier: identifiersJSON(r.Identifiers), Status: r.fhirStatus(), Intent: "order",
		MedicationReference: &reference{Reference: "Medication/" + r.MedicationID},
		Subject:             &reference{Reference: "Patient/" + r.PatientID},
		AuthoredOn:          r.AuthoredOn,
		Requester:           practitioner(r.RequesterName, r.RequesterReg),
		Recorder:            practitioner(r.RecorderName, r.RecorderReg),
		DispenseRequest: &dispenseRequest{
			ValidityPeriod:         &period{Start: r.AuthoredOn, End: r.ValidEnd},
			NumberOfRepeatsAllowed: ptr(r.Repeats),
			Quantity:               &quantity{Value: ptr(float64(r.Quantity)), Unit: r.Unit},
		},
	}
	if r.Reported {
		res.ReportedBoolean = ptr(true)
	}
	if r.EnteredInError && r.StatusReason != "" {
		res.StatusReason = &codeableConcept{Text: r.StatusReason}
	}
	if r.Dosage != "" {
		res.DosageInstruction = []dosage{{Text: r.Dosage}}
	}
	b, _ := json.Marshal(res)
	return b
}

func renderDispense(d dispenseRow, m medicationRow) []byte {
	res := medicationDispenseResource{
		ResourceType: "MedicationDispense", ID: d.ID, Meta: metaOf(d.Version, d.LastUpdated),
		Identifier: identifiersJSON(d.Identifiers), Status: d.Status,
		MedicationCodeableConcept: &codeableConcept{Coding: []coding{
			{System: rx.SystemVNR, Code: m.VNR, Display: m.display()},
			{System: rx.SystemATC, Code: m.ATC, Display: m.Substance},
		}, Text: m.Name + " " + m.Strength + " " + m.Form},
		Subject:        &reference{Reference: "Patient/" + d.PatientID, Type: "Patient"},
		Quantity:       &quantity{Value: ptr(float64(d.Quantity)), Unit: d.Unit},
		WhenHandedOver: d.WhenHandedOver,
	}
	if p := practitioner(d.PharmacistName, d.PharmacistReg); p != nil {
		res.Performer = append(res.Performer, performer{Actor: p})
	}
	if d.PharmacyName != "" || d.PharmacyOID != "" {
		org := &reference{Type: "Organization", Display: d.PharmacyName}
		if d.PharmacyOID != "" {
			org.Identifier = &identifier{System: rx.SystemRecordUUID, Value: "urn:oid:" + d.PharmacyOID}
		}
		res.Performer = append(res.Performer, performer{Actor: org})
	}
	if d.RequestID != "" {
		res.AuthorizingPrescription = []reference{{Reference: "MedicationRequest/" + d.RequestID}}
	}
	if d.Essential {
		res.Type = &codeableConcept{Coding: []coding{{System: csActCode, Code: "EM", Display: "Emergency Supply"}}}
		if d.Basis != "" {
			res.Extension = []extension{{URL: extEssentialBasis, ValueCode: ptr(d.Basis)}}
		}
	}
	if d.OverrideReason != "" {
		res.Extension = append(res.Extension, extension{URL: extOverrideReason, ValueString: ptr(d.OverrideReason)})
	}
	if d.Status == statusEnteredInError && d.StatusReason != "" {
		res.StatusReason = &codeableConcept{Text: d.StatusReason}
	}
	if d.Note != "" {
		res.Note = []annotation{{Text: d.Note}}
	}
	b, _ := json.Marshal(res)
	return b
}
