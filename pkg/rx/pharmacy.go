package rx

import (
	"strings"
)

// oidPrefix is how an OID is written as a URI; a configured OID may carry it.
const oidPrefix = "urn:oid:"

// CheckOID reports what is wrong with an organisation OID: nil when it is
// a dotted numeric OID (1.2.246.10.12345678.10.0), optionally written as
// urn:oid:1.2.246…, and an error in the reader's terms otherwise. Empty
// is an error too.
func CheckOID(oid string) error {
	s := strings.TrimPrefix(strings.TrimSpace(oid), oidPrefix)
	if s == "" {
		return Errorf(EINVALID, "the organisation OID is empty")
	}
	arcs := strings.Split(s, ".")
	ok := len(arcs) >= 2 && (arcs[0] == "0" || arcs[0] == "1" || arcs[0] == "2")
	for _, a := range arcs[1:] {
		if !ok {
			break
		}
		ok = a != "" && (a == "0" || a[0] != '0')
		for _, r := range a {
			ok = ok && r >= '0' && r <= '9'
		}
	}
	if !ok {
		return Errorf(EINVALID, "%q is not an OID: an organisation OID is digits separated by dots, e.g. 1.2.246.10.12345678.10.0 (urn:oid: in front is allowed)", oid)
	}
	return nil
}

// Check reports whether the pharmacy's identity is complete enough to
// record in its name: a name and a well-formed organisation OID. Every
// record names the pharmacy that made it, and the Prescription Centre
// refuses a dispensing without the OID, so a record made without them
// could never be sent. The error has code ECONFIG and names the settings
// (pharmacy.oid, pharmacy.name); nil when both are there.
func (p Pharmacy) Check() error {
	var missing []string
	if strings.TrimSpace(p.OID) == "" {
		missing = append(missing, "pharmacy.oid")
	}
	if strings.TrimSpace(p.Name) == "" {
		missing = append(missing, "pharmacy.name")
	}
	if len(missing) > 0 {
		verb := "is"
		if len(missing) > 1 {
			verb = "are"
		}
		return Errorf(ECONFIG, "The pharmacy's identity is incomplete: %s %s not set in the configuration. Nothing can be recorded until it is: the Prescription Centre would refuse every dispensing.",
			strings.Join(missing, " and "), verb)
	}
	if err := CheckOID(p.OID); err != nil {
		return Errorf(ECONFIG, "pharmacy.oid: %s. Correct it in the configuration; nothing can be recorded until then.", ErrorMessage(err))
	}
	return nil
}
