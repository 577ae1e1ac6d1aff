package centre

import "encoding/json"

// The FHIR R4 wire shapes this client sends and reads, written from the
// contract in pkg/centresim/README.md and the R4 schema. They are this
// package's own: the simulator has its own encoding, so a mistake in one is
// caught by the other and by the schema (DESIGN §4).

// Canonical URLs of tiski's own definitions and of the code systems used.
const (
	defBase = "https://tiski-rx.github.io/fhir/"

	extPrescriptionForm = defBase + "StructureDefinition/prescription-form"
	extExceptionReason  = defBase + "StructureDefinition/exception-reason"
	extTelephoneCall    = defBase + "StructureDefinition/telephone-call"
	extRemainingQty     = defBase + "StructureDefinition/remaining-quantity"
	extLockedBy         = defBase + "StructureDefinition/locked-by"
	extMedicineClass    = defBase + "StructureDefinition/medicine-class"
	extStrength         = defBase + "StructureDefinition/strength"
	extEssentialBasis   = defBase + "StructureDefinition/essential-basis"
	extOverrideReason   = defBase + "StructureDefinition/override-reason"

	csPrescriptionForm = defBase + "CodeSystem/prescription-form"
	csOutcomeReason    = defBase + "CodeSystem/outcome-reason"
	csV2IdentifierType = "http://terminology.hl7.org/CodeSystem/v2-0203"
	csV3ActCode        = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

	fhirJSON = "application/fhir+json"

	statusEnteredInError = "entered-in-error"
)

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type codeableConcept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// code returns the code of the first coding in system.
func (c *codeableConcept) code(system string) (coding, bool) {
	if c == nil {
		return coding{}, false
	}
	for _, k := range c.Coding {
		if k.System == system {
			return k, true
		}
	}
	return coding{}, false
}

type identifier struct {
	Type   *codeableConcept `json:"type,omitempty"`
	System string           `json:"system,omitempty"`
	Value  string           `json:"value,omitempty"`
}

type reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type quantity struct {
	Value *float64 `json:"value,omitempty"`
	Unit  string   `json:"unit,omitempty"`
}

func newQuantity(v int, unit string) *quantity {
	f := float64(v)
	return &quantity{Value: &f, Unit: unit}
}

type ratio struct {
	Numerator   *quantity `json:"numerator,omitempty"`
	Denominator *quantity `json:"denominator,omitempty"`
}

type period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type meta struct {
	VersionID   string `json:"versionId,omitempty"`
	LastUpdated string `json:"lastUpdated,omitempty"`
}

type extension struct {
	URL           string      `json:"url"`
	ValueString   string      `json:"valueString,omitempty"`
	ValueCode     string      `json:"valueCode,omitempty"`
	ValueDateTime string      `json:"valueDateTime,omitempty"`
	ValueCoding   *coding     `json:"valueCoding,omitempty"`
	ValueQuantity *quantity   `json:"valueQuantity,omitempty"`
	Extension     []extension `json:"extension,omitempty"`
}

// findExtension returns the first extension with the url.
func findExtension(exts []extension, url string) (extension, bool) {
	for _, e := range exts {
		if e.URL == url {
			return e, true
		}
	}
	return extension{}, false
}

type humanName struct {
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

type patientResource struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id,omitempty"`
	Meta         *meta        `json:"meta,omitempty"`
	Identifier   []identifier `json:"identifier,omitempty"`
	Name         []humanName  `json:"name,omitempty"`
	Gender       string       `json:"gender,omitempty"`
	BirthDate    string       `json:"birthDate,omitempty"`
}

type medicationResource struct {
	ResourceType string           `json:"resourceType"`
	ID           string           `json:"id,omitempty"`
	Meta         *meta            `json:"meta,omitempty"`
	Extension    []extension      `json:"extension,omitempty"`
	Code         *codeableConcept `json:"code,omitempty"`
	Form         *codeableConcept `json:"form,omitempty"`
	Amount       *ratio           `json:"amount,omitempty"`
}

type dosage struct {
	Text string `json:"text,omitempty"`
}

type dispenseRequest struct {
	ValidityPeriod         *period   `json:"validityPeriod,omitempty"`
	NumberOfRepeatsAllowed *int      `json:"numberOfRepeatsAllowed,omitempty"`
	Quantity               *quantity `json:"quantity,omitempty"`
}

type medicationRequest struct {
	ResourceType              string           `json:"resourceType"`
	ID                        string           `json:"id,omitempty"`
	Meta                      *meta            `json:"meta,omitempty"`
	Extension                 []extension      `json:"extension,omitempty"`
	Identifier                []identifier     `json:"identifier,omitempty"`
	Status                    string           `json:"status,omitempty"`
	Intent                    string           `json:"intent,omitempty"`
	ReportedBoolean           *bool            `json:"reportedBoolean,omitempty"`
	MedicationCodeableConcept *codeableConcept `json:"medicationCodeableConcept,omitempty"`
	MedicationReference       *reference       `json:"medicationReference,omitempty"`
	Subject                   *reference       `json:"subject,omitempty"`
	AuthoredOn                string           `json:"authoredOn,omitempty"`
	Requester                 *reference       `json:"requester,omitempty"`
	Recorder                  *reference       `json:"recorder,omitempty"`
	DosageInstruction         []dosage         `json:"dosageInstruction,omitempty"`
	DispenseRequest           *dispenseRequest `json:"dispenseRequest,omitempty"`
}

type performer struct {
	Actor reference `json:"actor"`
}

type annotation struct {
	Text string `json:"text"`
}

type medicationDispense struct {
	ResourceType              string           `json:"resourceType"`
	ID                        string           `json:"id,omitempty"`
	Meta                      *meta            `json:"meta,omitempty"`
	Extension                 []extension      `json:"extension,omitempty"`
	Identifier                []identifier     `json:"identifier,omitempty"`
	Status                    string           `json:"status,omitempty"`
	Type                      *codeableConcept `json:"type,omitempty"`
	MedicationCodeableConcept *codeableConcept `json:"medicationCodeableConcept,omitempty"`
	MedicationReference       *reference       `json:"medicationReference,omitempty"`
	Subject                   *reference       `json:"subject,omitempty"`
	Performer                 []performer      `json:"performer,omitempty"`
	AuthorizingPrescription   []reference      `json:"authorizingPrescription,omitempty"`
	Quantity                  *quantity        `json:"quantity,omitempty"`
	WhenHandedOver            string           `json:"whenHandedOver,omitempty"`
	Note                      []annotation     `json:"note,omitempty"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type bundleSearch struct {
	Mode string `json:"mode,omitempty"`
}

type bundleRequest struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	IfNoneExist string `json:"ifNoneExist,omitempty"`
}

type bundleResponse struct {
	Status   string `json:"status"`
	Location string `json:"location,omitempty"`
	Etag     string `json:"etag,omitempty"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *bundleSearch   `json:"search,omitempty"`
	Request  *bundleRequest  `json:"request,omitempty"`
	Response *bundleResponse `json:"response,omitempty"`
}

type bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []bundleLink  `json:"link,omitempty"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

type outcomeIssue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *codeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
}

type operationOutcome struct {
	ResourceType string         `json:"resourceType"`
	Issue        []outcomeIssue `json:"issue"`
}
