package i18n

// Keys of the fault forms: paper and telephone prescriptions, the
// essential-medication form, and the patient's records of the outage. Add
// new ones before formsEnd, with a text in every language of
// catalogue_forms.go.
const (
	formsBase Key = iota + 1000

	// The paper and telephone prescription forms.
	FormPaperTitle
	FormTelephoneTitle
	FormOnline
	FormFault
	FormPatient
	FormPrescriber
	FormRegistration
	FormProfession
	FormPhysician
	FormDentist
	FormPhone
	FormCallTime
	FormMedicine
	FormDosage
	FormRepeats
	FormIssued
	FormReason
	FormDispenseNow
	FormDispenseQuantity
	FormDispenseMore
	FormYes
	FormNo
	FormChecklist
	FormCheckCallBack
	FormCheckRegistration
	FormCheckMedicine
	FormCheckPatient
	FormChecklistIncomplete
	FormMedicineHint
	FormNoMatch
	FormMoreMatches
	FormCatalogueLoading
	FormCatalogueFailed
	FormConfirmHint
	FormViewOnly
	FormBadHETU
	FormDigitsOnly
	FormDate
	FormDateTime
	FormWholeNumber
	FormNumber
	FormPhoneShape
	FormPrescriptionLocal
	FormDispensingLocal
	FormRecordedCentre
	FormRefused
	FormFieldsAbove
	FormFieldsBelow
	FormOtherProblems
	FormFixFields
	FormNothingDispensed
	FormHeldForReview

	// The essential-medication form.
	EssTitle
	EssFault
	EssNotFault
	EssPrescriptionID
	EssScanHint
	EssBadID
	EssIDNeeded
	EssFaultReference
	EssSameMedicine
	EssRecordsFailed

	formsEnd
)
