package centresim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// The FHIR R4 JSON shapes the simulator reads and writes. They hold only
// the elements of the wire contract (README.md); they are written here, apart
// from pkg/centre, on purpose (DESIGN §4).

const (
	fhirBase          = "https://tiski-rx.github.io/fhir/"
	extForm           = fhirBase + "StructureDefinition/prescription-form"
	extExceptionWhy   = fhirBase + "StructureDefinition/exception-reason"
	extTelephoneCall  = fhirBase + "StructureDefinition/telephone-call"
	extRemaining      = fhirBase + "StructureDefinition/remaining-quantity"
	extLockedBy       = fhirBase + "StructureDefinition/locked-by"
	extMedicineClass  = fhirBase + "StructureDefinition/medicine-class"
	extStrength       = fhirBase + "StructureDefinition/strength"
	extPackSize       = fhirBase + "StructureDefinition/pack-size"
	extSubstitution   = fhirBase + "StructureDefinition/substitution-group"
	extPrescription   = fhirBase + "StructureDefinition/prescription-status"
	extEssentialBasis = fhirBase + "StructureDefinition/essential-basis"
	extOverrideReason = fhirBase + "StructureDefinition/override-reason"
	csForm            = fhirBase + "CodeSystem/prescription-form"
	csOutcomeReason   = fhirBase + "CodeSystem/outcome-reason"
	csV20203          = "http://terminology.hl7.org/CodeSystem/v2-0203"
	csActCode         = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	fhirContentType   = "application/fhir+json; charset=utf-8"
	lastUpdatedLayout = "2006-01-02T15:04:05.000Z07:00"

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

type ratio struct {
	Numerator   *quantity `json:"numerator,omitempty"`
	Denominator *quantity `json:"denominator,omitempty"`
}

type period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type extension struct {
	URL           string      `json:"url"`
	ValueString   *string     `json:"valueString,omitempty"`
	ValueCode     *string     `json:"valueCode,omitempty"`
	ValueCoding   *coding     `json:"valueCoding,omitempty"`
	ValueQuantity *quantity   `json:"valueQuantity,omitempty"`
	ValueDateTime *string     `json:"valueDateTime,omitempty"`
	Extension     []extension `json:"extension,omitempty"`
}

type meta struct {
	VersionID   string `json:"versionId,omitempty"`
	LastUpdated string `json:"lastUpdated,omitempty"`
}

type humanName struct {
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

type annotation struct {
	Text string `json:"text"`
}

type dosage struct {
	Text string `json:"text,omitempty"`
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
	ResourceType string                 `json:"resourceType"`
	ID           string                 `json:"id,omitempty"`
	Meta         *meta                  `json:"meta,omitempty"`
	Extension    []extension            `json:"extension,omitempty"`
	Code         *codeableConcept       `json:"code,omitempty"`
	Status       string                 `json:"status,omitempty"`
	Form         *codeableConcept       `json:"form,omitempty"`
	Amount       *ratio                 `json:"amount,omitempty"`
	Ingredient   []medicationIngredient `json:"ingredient,omitempty"`
}

type medicationIngredient struct {
	ItemCodeableConcept *codeableConcept `json:"itemCodeableConcept,omitempty"`
	IsActive            *bool            `json:"isActive,omitempty"`
}

type dispenseRequest struct {
	ValidityPeriod         *period   `json:"validityPeriod,omitempty"`
	NumberOfRepeatsAllowed *int      `json:"numberOfRepeatsAllowed,omitempty"`
	Quantity               *quantity `json:"quantity,omitempty"`
}

type medicationRequestResource struct {
	ResourceType              string            `json:"resourceType"`
	ID                        string            `json:"id,omitempty"`
	Meta                      *meta             `json:"meta,omitempty"`
	Extension                 []extension       `json:"extension,omitempty"`
	ModifierExtension         []json.RawMessage `json:"modifierExtension,omitempty"`
	Identifier                []identifier      `json:"identifier,omitempty"`
	Status                    string            `json:"status,omitempty"`
	StatusReason              *codeableConcept  `json:"statusReason,omitempty"`
	Intent                    string            `json:"intent,omitempty"`
	ReportedBoolean           *bool             `json:"reportedBoolean,omitempty"`
	MedicationCodeableConcept *codeableConcept  `json:"medicationCodeableConcept,omitempty"`
	MedicationReference       *reference        `json:"medicationReference,omitempty"`
	Subject                   *reference        `json:"subject,omitempty"`
	AuthoredOn                string            `json:"authoredOn,omitempty"`
	Requester                 *reference        `json:"requester,omitempty"`
	Recorder                  *reference        `json:"recorder,omitempty"`
	Note                      []annotation      `json:"note,omitempty"`
	DosageInstruction         []dosage          `json:"dosageInstruction,omitempty"`
	DispenseRequest           *dispenseRequest  `json:"dispenseRequest,omitempty"`
}

type performer struct {
	Actor *reference `json:"actor,omitempty"`
}

type medicationDispenseResource struct {
	ResourceType              string            `json:"resourceType"`
	ID                        string            `json:"id,omitempty"`
	Meta                      *meta             `json:"meta,omitempty"`
	Extension                 []extension       `json:"extension,omitempty"`
	ModifierExtension         []json.RawMessage `json:"modifierExtension,omitempty"`
	Identifier                []identifier      `json:"identifier,omitempty"`
	Status                    string            `json:"status,omitempty"`
	StatusReason              *codeableConcept  `json:"statusReasonCodeableConcept,omitempty"`
	MedicationCodeableConcept *codeableConcept  `json:"medicationCodeableConcept,omitempty"`
	MedicationReference       *reference        `json:"medicationReference,omitempty"`
	Subject                   *reference        `json:"subject,omitempty"`
	Performer                 []performer       `json:"performer,omitempty"`
	AuthorizingPrescription   []reference       `json:"authorizingPrescription,omitempty"`
	Type                      *codeableConcept  `json:"type,omitempty"`
	Quantity                  *quantity         `json:"quantity,omitempty"`
	WhenHandedOver            string            `json:"whenHandedOver,omitempty"`
	Note                      []annotation      `json:"note,omitempty"`
}

// acceptedElements lists the top-level elements the simulator reads for each
// resource type it accepts. Anything else is refused with 400 rather than
// silently dropped, so a misspelt element in a client shows up in tests.
// "text", "meta", "id", "language" and "implicitRules" are accepted and
// ignored: the server sets id and meta, and a narrative changes nothing.
var acceptedElements = map[string]map[string]bool{
	"MedicationRequest": set("resourceType", "id", "meta", "text", "language", "implicitRules", "extension", "modifierExtension",
		"identifier", "status", "intent", "reportedBoolean", "medicationCodeableConcept", "medicationReference",
		"subject", "authoredOn", "requester", "recorder", "note", "dosageInstruction", "dispenseRequest"),
	"MedicationDispense": set("resourceType", "id", "meta", "text", "language", "implicitRules", "extension", "modifierExtension",
		"identifier", "status", "medicationCodeableConcept", "medicationReference", "subject", "performer",
		"authorizingPrescription", "type", "quantity", "whenHandedOver", "note"),
	"Task": set("resourceType", "id", "meta", "text", "language", "implicitRules", "identifier", "status", "intent", "code",
		"focus", "for", "authoredOn", "requester", "note"),
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// bundle is a searchset, transaction or transaction-response Bundle.
type bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []bundleLink  `json:"link,omitempty"`
	Entry        []bundleEntry `json:"entry,omitempty"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *entrySearch    `json:"search,omitempty"`
	Request  *entryRequest   `json:"request,omitempty"`
	Response *entryResponse  `json:"response,omitempty"`
}

type entrySearch struct {
	Mode string `json:"mode"`
}

type entryRequest struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	IfNoneExist string `json:"ifNoneExist,omitempty"`
}

type entryResponse struct {
	Status       string `json:"status"`
	Location     string `json:"location,omitempty"`
	Etag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
}

// outcomeError is a refusal that goes to the client as an OperationOutcome.
type outcomeError struct {
	status     int
	retryAfter string
	issues     []issue
}

type issue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *codeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
	Expression  []string         `json:"expression,omitempty"`
}

func (e *outcomeError) Error() string {
	parts := make([]string, len(e.issues))
	for i, is := range e.issues {
		parts[i] = is.Diagnostics
	}
	return fmt.Sprintf("%d %s", e.status, strings.Join(parts, "; "))
}

func newIssue(code, reason, fi, en string) issue {
	return issue{
		Severity: "error", Code: code,
		Details:     &codeableConcept{Coding: []coding{{System: csOutcomeReason, Code: reason}}, Text: fi},
		Diagnostics: en,
	}
}

// refuse builds an outcomeError with one issue: fi goes to details.text,
// en to diagnostics.
func refuse(status int, code, reason, fi, en string) *outcomeError {
	return &outcomeError{status: status, issues: []issue{newIssue(code, reason, fi, en)}}
}

func businessRule(reason, fi, en string) *outcomeError {
	return refuse(http.StatusUnprocessableEntity, "business-rule", reason, fi, en)
}

func malformed(fi, en string) *outcomeError {
	return refuse(http.StatusBadRequest, "structure", "malformed", fi, en)
}

func notFound(what string) *outcomeError {
	return refuse(http.StatusNotFound, "not-found", "not-found", "Ei löydy: "+what+".", "Not found: "+what+".")
}

func multipleMatches(cond string) *outcomeError {
	return refuse(http.StatusPreconditionFailed, "multiple-matches", "multiple-matches",
		"Ehto täsmää useaan resurssiin: "+cond+".", "The condition "+cond+" matches more than one resource.")
}

// problems collects the field problems of one resource, so that a client
// learns everything that is wrong in one answer.
type problems struct {
	prefix string
	issues []issue
}

func (p *problems) required(path string) {
	p.add("required", "invalid-field", path, "Pakollinen tieto puuttuu: "+p.prefix+path+".", p.prefix+path+" is required.")
}

func (p *problems) invalid(path, format string, args ...any) {
	en := p.prefix + path + ": " + fmt.Sprintf(format, args...)
	p.add("value", "invalid-field", path, "Virheellinen tieto: "+en, en)
}

func (p *problems) unsupported(path, format string, args ...any) {
	en := p.prefix + path + ": " + fmt.Sprintf(format, args...)
	p.add("not-supported", "invalid-field", path, "Ei tuettu: "+en, en)
}

func (p *problems) add(code, reason, path, fi, en string) {
	is := newIssue(code, reason, fi, en)
	is.Expression = []string{p.prefix + path}
	p.issues = append(p.issues, is)
}

func (p *problems) err() error {
	if len(p.issues) == 0 {
		return nil
	}
	return &outcomeError{status: http.StatusBadRequest, issues: p.issues}
}

func operationOutcome(issues []issue) []byte {
	b, _ := json.Marshal(struct {
		ResourceType string  `json:"resourceType"`
		Issue        []issue `json:"issue"`
	}{"OperationOutcome", issues})
	return b
}

func ptr[T any](v T) *T { return &v }
