package i18n

import (
	"fmt"
	"strings"

	"github.com/tiski-rx/tiski/pkg/policy"
	"github.com/tiski-rx/tiski/pkg/rx"
)

// Decision says a policy decision in l: its sentence with the rule id in
// brackets (DecisionSentence), and the note on a default still to be
// confirmed.
func (l Lang) Decision(d policy.Decision) string {
	msg := l.DecisionSentence(d)
	if d.Note() == "" {
		return msg
	}
	note := d.Note()
	if p, ok := policySentences[l]; ok {
		note = p.confirmNote
	}
	return msg + " (" + note + ")"
}

// DecisionSentence says a decision's sentence in l, ending with the rule id
// in brackets. English is pkg/policy's own message; so is a sentence
// missing from a catalogue (the test checks there is none).
func (l Lang) DecisionSentence(d policy.Decision) string {
	if p, ok := policySentences[l]; ok {
		if s, ok := policy.Say(d.Text, d.RuleID, p.sentences, p.arg); ok {
			return s
		}
	}
	return d.Message
}

// Quantity writes n of a medicine's unit in l: "30 tablettia",
// "30 tabletter", "30 tablets"; a unit of measure as it is: "100 ml".
func (l Lang) Quantity(n int, unit string) string {
	if p, ok := policySentences[l]; ok {
		return p.words.quantity(n, unit)
	}
	return policy.EnglishQuantity(n, unit)
}

// Units is a medicine's unit in l after a number other than one, as
// beside a quantity being typed: "tablettia", "tabletter", "tablets".
func (l Lang) Units(unit string) string {
	if p, ok := policySentences[l]; ok {
		if w, ok := p.words.units[unit]; ok {
			return w.many
		}
		return unit
	}
	return policy.EnglishUnits(unit)
}

type policyLang struct {
	sentences   map[string]string
	words       policyWords
	confirmNote string
}

func (p policyLang) arg(a policy.Arg) string { return p.words.arg(a) }

// policyWords are how a language writes a decision's arguments.
type policyWords struct {
	thisMedicine, prescriber string                   // for a name not given
	professions              map[rx.Profession]string // an unknown one as it is
	units                    map[string]unitWords     // a unit of measure (ml) as it is
	month                    unitWords
	smallestPack             string // "the smallest pack"
	smallestPacks            string // "%d smallest packs"
}

// unitWords are a word for one and for many (Finnish: the partitive that
// follows a number).
type unitWords struct{ one, many string }

func (w policyWords) arg(a policy.Arg) string {
	switch a.Kind {
	case policy.ArgMedicine:
		if a.S == "" {
			return w.thisMedicine
		}
	case policy.ArgPerson:
		if a.S == "" {
			return w.prescriber
		}
	case policy.ArgProfession:
		if p, ok := w.professions[rx.Profession(a.S)]; ok {
			return p
		}
	case policy.ArgQuantity:
		return w.quantity(a.N, a.Unit)
	case policy.ArgMonths:
		return count(a.N, w.month)
	case policy.ArgDose: // with a decimal comma: 1,5
		return strings.ReplaceAll(policy.EnglishArg(a), ".", ",")
	case policy.ArgPacks:
		packs := w.smallestPack
		if a.N > 1 {
			packs = fmt.Sprintf(w.smallestPacks, a.N)
		}
		return fmt.Sprintf("%s (%s)", packs, w.quantity(a.Q, a.Unit))
	}
	return policy.EnglishArg(a) // names, codes, numbers and dates as they are
}

func (w policyWords) quantity(n int, unit string) string {
	if words, ok := w.units[unit]; ok {
		return count(n, words)
	}
	return fmt.Sprintf("%d %s", n, unit)
}

func count(n int, w unitWords) string {
	if n == 1 {
		return "1 " + w.one
	}
	return fmt.Sprintf("%d %s", n, w.many)
}

var policySentences = map[Lang]policyLang{
	FI: {policyFI, policyWords{
		thisMedicine: "Tämä lääke", prescriber: "Määrääjä",
		professions: map[rx.Profession]string{rx.Physician: "lääkäri", rx.Dentist: "hammaslääkäri", rx.Nurse: "sairaanhoitaja"},
		units: map[string]unitWords{"": {"yksikkö", "yksikköä"}, "tablet": {"tabletti", "tablettia"}, "capsule": {"kapseli", "kapselia"},
			"dose": {"annos", "annosta"}, "patch": {"laastari", "laastaria"}, "syringe": {"ruisku", "ruiskua"}},
		month:        unitWords{"kuukausi", "kuukautta"},
		smallestPack: "pienin pakkaus", smallestPacks: "%d pienintä pakkausta",
	}, "vahvistettava Fimean määräystä 2/2016 ja Apteekkariliiton häiriöohjeita vasten"},
	SV: {policySV, policyWords{
		thisMedicine: "Detta läkemedel", prescriber: "Förskrivaren",
		professions: map[rx.Profession]string{rx.Physician: "läkare", rx.Dentist: "tandläkare", rx.Nurse: "sjukskötare"},
		units: map[string]unitWords{"": {"enhet", "enheter"}, "tablet": {"tablett", "tabletter"}, "capsule": {"kapsel", "kapslar"},
			"dose": {"dos", "doser"}, "patch": {"plåster", "plåster"}, "syringe": {"spruta", "sprutor"}},
		month:        unitWords{"månad", "månader"},
		smallestPack: "den minsta förpackningen", smallestPacks: "%d minsta förpackningar",
	}, "ska bekräftas mot Fimeas föreskrift 2/2016 och Apotekareförbundets störningsanvisningar"},
}

// policyFI has a Finnish sentence for each of policy.EnglishTexts, with
// its arguments in the same order.
var policyFI = map[string]string{
	"FM-ESS-NARC/deny":               "%s on huumausaine: huumausaineita ei voi toimittaa välttämättömänä lääkkeenä",
	"FM-ESS-NARC/warn":               "%s on huumausaine: toimita se välttämättömänä lääkkeenä vain, jos potilaan tarve on välitön, ja tarkista häiriöohjeet",
	"FM-ESS-NARC/allow":              "%s on huumausaine; tämä käytäntö sallii huumausaineet välttämättöminä lääkkeinä",
	"FM-PKV-WARN/essential-deny":     "%s vaikuttaa keskushermostoon (PKV): PKV-lääkkeitä ei voi toimittaa välttämättömänä lääkkeenä",
	"FM-PKV-WARN/essential-warn":     "%s vaikuttaa keskushermostoon (PKV): toimita se välttämättömänä lääkkeenä vain, jos tarve on välitön, ja tarkista annostus perusteena olevasta asiakirjasta",
	"FM-PKV-WARN/essential-allow":    "%s vaikuttaa keskushermostoon (PKV); tämä käytäntö sallii sen välttämättömänä lääkkeenä",
	"FM-TEL-NARC/deny":               "%s on huumausaine: huumausaineita ei voi määrätä puhelimitse",
	"FM-TEL-NARC/warn":               "%s on huumausaine: tarkista häiriöohjeet ennen kuin otat sen vastaan puhelimitse",
	"FM-TEL-NARC/allow":              "%s on huumausaine; tämä käytäntö sallii huumausaineet puhelimitse",
	"FM-PKV-WARN/telephone-deny":     "%s vaikuttaa keskushermostoon (PKV): PKV-lääkkeitä ei voi määrätä puhelimitse",
	"FM-PKV-WARN/telephone-warn":     "%s vaikuttaa keskushermostoon (PKV): varmista soittajan henkilöllisyys erityisen huolellisesti, esimerkiksi soittamalla takaisin tunnettuun numeroon",
	"FM-PKV-WARN/telephone-allow":    "%s vaikuttaa keskushermostoon (PKV); tämä käytäntö sallii sen puhelimitse",
	"FM-ESS-QTY/no-package":          "Valmisteella %s ei ole myynnissä olevaa pakkausta, joten välttämättömän lääkkeen määrää ei voi rajata",
	"FM-ESS-QTY/pack-too-big":        "Pakkauksessa %s on %s, enemmän kuin välttämättömänä lääkkeenä saa toimittaa: %s. Toimita pakkaus %s",
	"FM-ESS-QTY/over-dose-unknown":   "Välttämättömän lääkkeen enimmäismäärä on %s; %s on enemmän",
	"FM-ESS-QTY/within-dose-unknown": "%s on rajan sisällä: %s. Vuorokausiannos ei kuitenkaan ole tiedossa, joten %s päivän rajaa ei voitu tarkistaa: tarkista annostus perusteena olevasta asiakirjasta",
	"FM-ESS-QTY/over":                "Välttämättömän lääkkeen enimmäismäärä on tässä %s: %s ja %s päivää annoksella %s vuorokaudessa (%s). %s on enemmän",
	"FM-ESS-QTY/within":              "%s on välttämättömän lääkkeen enimmäismäärän rajoissa (%s): %s ja %s päivää annoksella %s vuorokaudessa (%s)",
	"RX-VALID/validity":              "Resepti on voimassa %s kirjoittamispäivästä",
	"RX-VALID/valid":                 "Tämä resepti on voimassa %s, %s asti",
	"RX-VALID/lapsed":                "Resepti on voimassa %s; tämän voimassaolo päättyi %s",
	"RX-VALID-NARC-PKV/validity":     "Huumausaineen tai PKV-lääkkeen resepti on voimassa %s kirjoittamispäivästä",
	"RX-VALID-NARC-PKV/valid":        "Huumausaineen tai PKV-lääkkeen resepti on voimassa %s; tämä %s asti",
	"RX-VALID-NARC-PKV/lapsed":       "Huumausaineen tai PKV-lääkkeen resepti on voimassa %s; tämän voimassaolo päättyi %s",
	"FM-TEL-VALID/validity":          "Puhelinresepti on voimassa %s kirjoittamispäivästä",
	"FM-TEL-VALID/valid":             "Tämä puhelinresepti on voimassa %s, %s asti",
	"FM-TEL-VALID/lapsed":            "Puhelinresepti on voimassa %s; tämän voimassaolo päättyi %s",
	"FM-PRESCRIBER/allow":            "%s on %s ja voi kirjoittaa paperisen tai puhelinreseptin",
	"FM-PRESCRIBER/unknown":          "Paperisen tai puhelinreseptin voi kirjoittaa vain lääkäri tai hammaslääkäri; määrääjä: %s, ammatti puuttuu",
	"FM-PRESCRIBER/deny":             "Paperisen tai puhelinreseptin voi kirjoittaa vain lääkäri tai hammaslääkäri; %s on %s",
	"FM-GRACE/no-issue-date":         "Reseptin kirjoittamispäivä puuttuu, joten sen voimassaoloa ei voi tarkistaa",
	"FM-GRACE/no-grace":              "Tämä resepti oli voimassa %s asti; tämä käytäntö ei salli armonaikaa voimassaolon päätyttyä, joten sitä ei voi toimittaa",
	"FM-GRACE/within":                "Tämä resepti oli voimassa %s asti. Armonajan (%s) puitteissa, %s asti, sen voi toimittaa poikkeuksellisissa olosuhteissa",
	"FM-GRACE/past":                  "Tämä resepti oli voimassa %s asti, ja sen armonaika (%s) päättyi %s; sitä ei voi toimittaa",
	"HUB-UNCHECKED/warn": "Ei tarkistettu muiden kassojen kanssa: apteekin keskitintä ei tavoitettu, joten vain tämän kassan tiedossa olevat toimitukset laskettiin. " +
		"Jos toinen kassa toimitti tällä reseptillä samaan aikaan, toimitukset tulevat tarkistettaviksi ristiriitoina (enemmän kuin jäljellä)",
	"RX-DUP-JOURNAL/warn":    "%s, määrääjä %s, kirjoitettu %s, on jo kirjattu kassalla %s (kirjaus %s): tämä voi olla sama resepti. Toimita vain toinen niistä",
	"RX-DUP-JOURNAL/generic": "%s, määrääjä %s, kirjoitettu %s, on jo kirjattu kassalla %s (kirjaus %s), ja %s on sen kanssa samassa vaihtoryhmässä (%s), sen rinnakkaisvalmiste: tämä voi olla sama resepti. Toimita vain toinen niistä",
}

// policySV has a Swedish sentence for each of policy.EnglishTexts.
var policySV = map[string]string{
	"FM-ESS-NARC/deny":               "%s är narkotika: narkotika kan inte expedieras som nödvändigt läkemedel",
	"FM-ESS-NARC/warn":               "%s är narkotika: expediera det som nödvändigt läkemedel bara om patientens behov är omedelbart, och kontrollera störningsanvisningarna",
	"FM-ESS-NARC/allow":              "%s är narkotika; denna policy tillåter narkotika som nödvändigt läkemedel",
	"FM-PKV-WARN/essential-deny":     "%s verkar på centrala nervsystemet (PKV): PKV-läkemedel kan inte expedieras som nödvändigt läkemedel",
	"FM-PKV-WARN/essential-warn":     "%s verkar på centrala nervsystemet (PKV): expediera det som nödvändigt läkemedel bara om behovet är omedelbart, och kontrollera doseringen i grunddokumentet",
	"FM-PKV-WARN/essential-allow":    "%s verkar på centrala nervsystemet (PKV); denna policy tillåter det som nödvändigt läkemedel",
	"FM-TEL-NARC/deny":               "%s är narkotika: narkotika kan inte förskrivas per telefon",
	"FM-TEL-NARC/warn":               "%s är narkotika: kontrollera störningsanvisningarna innan du tar emot det per telefon",
	"FM-TEL-NARC/allow":              "%s är narkotika; denna policy tillåter narkotika per telefon",
	"FM-PKV-WARN/telephone-deny":     "%s verkar på centrala nervsystemet (PKV): PKV-läkemedel kan inte förskrivas per telefon",
	"FM-PKV-WARN/telephone-warn":     "%s verkar på centrala nervsystemet (PKV): kontrollera uppringarens identitet särskilt noga, till exempel genom att ringa tillbaka till ett känt nummer",
	"FM-PKV-WARN/telephone-allow":    "%s verkar på centrala nervsystemet (PKV); denna policy tillåter det per telefon",
	"FM-ESS-QTY/no-package":          "%s har ingen förpackning till salu, så mängden nödvändigt läkemedel kan inte begränsas",
	"FM-ESS-QTY/pack-too-big":        "Förpackningen %s innehåller %s, mer än som får expedieras som nödvändigt läkemedel: %s. Expediera förpackningen %s",
	"FM-ESS-QTY/over-dose-unknown":   "Nödvändigt läkemedel får vara högst %s; %s är mer",
	"FM-ESS-QTY/within-dose-unknown": "%s ryms inom gränsen: %s. Dygnsdosen är dock inte känd, så gränsen på %s dagar kunde inte kontrolleras: kontrollera doseringen i grunddokumentet",
	"FM-ESS-QTY/over":                "Nödvändigt läkemedel får här vara högst %s: %s och %s dagar med %s per dygn (%s). %s är mer",
	"FM-ESS-QTY/within":              "%s ryms inom gränsen för nödvändigt läkemedel (%s): %s och %s dagar med %s per dygn (%s)",
	"RX-VALID/validity":              "Ett recept gäller %s från utfärdandedagen",
	"RX-VALID/valid":                 "Detta recept gäller %s, till och med %s",
	"RX-VALID/lapsed":                "Ett recept gäller %s; detta upphörde att gälla efter %s",
	"RX-VALID-NARC-PKV/validity":     "Ett recept på narkotika eller ett PKV-läkemedel gäller %s från utfärdandedagen",
	"RX-VALID-NARC-PKV/valid":        "Ett recept på narkotika eller ett PKV-läkemedel gäller %s; detta till och med %s",
	"RX-VALID-NARC-PKV/lapsed":       "Ett recept på narkotika eller ett PKV-läkemedel gäller %s; detta upphörde att gälla efter %s",
	"FM-TEL-VALID/validity":          "Ett telefonrecept gäller %s från utfärdandedagen",
	"FM-TEL-VALID/valid":             "Detta telefonrecept gäller %s, till och med %s",
	"FM-TEL-VALID/lapsed":            "Ett telefonrecept gäller %s; detta upphörde att gälla efter %s",
	"FM-PRESCRIBER/allow":            "%s är %s och får utfärda ett pappers- eller telefonrecept",
	"FM-PRESCRIBER/unknown":          "Endast en läkare eller tandläkare får utfärda ett pappers- eller telefonrecept; förskrivare: %s, yrke saknas",
	"FM-PRESCRIBER/deny":             "Endast en läkare eller tandläkare får utfärda ett pappers- eller telefonrecept; %s är %s",
	"FM-GRACE/no-issue-date":         "Receptets utfärdandedatum saknas, så dess giltighet kan inte kontrolleras",
	"FM-GRACE/no-grace":              "Detta recept gällde till och med %s; denna policy tillåter ingen frist efter att det upphört att gälla, så det kan inte expedieras",
	"FM-GRACE/within":                "Detta recept gällde till och med %s. Inom fristen på %s, till och med %s, får det expedieras under exceptionella omständigheter",
	"FM-GRACE/past":                  "Detta recept gällde till och med %s och dess frist på %s upphörde %s; det kan inte expedieras",
	"HUB-UNCHECKED/warn": "Inte kontrollerat mot de andra kassorna: apotekets hubb kunde inte nås, så bara de expedieringar som denna kassa känner till räknades. " +
		"Om en annan kassa expedierade på detta recept under tiden blir de en konflikt för granskning (mer än det som återstår)",
	"RX-DUP-JOURNAL/warn":    "%s, förskrivet av %s, utfärdat %s, har redan registrerats vid kassa %s (post %s): detta kan vara samma recept. Expediera bara ett av dem",
	"RX-DUP-JOURNAL/generic": "%s, förskrivet av %s, utfärdat %s, har redan registrerats vid kassa %s (post %s), och %s hör till samma utbytesgrupp (%s), ett parallellpreparat till det: detta kan vara samma recept. Expediera bara ett av dem",
}
