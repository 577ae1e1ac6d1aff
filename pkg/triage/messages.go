package triage

import "fmt"

// Message is what a step saw: Detail in English, and the same as a message
// id (a key of Messages) with its arguments, so a reader in another
// language gets it in theirs (tui/i18n words each id in fi, sv and en).
type Message struct {
	Detail string   `json:"detail"`
	Msg    string   `json:"msg,omitempty"`
	Args   []string `json:"args,omitempty"`
	// Also is a second finding the first was found beside, e.g. failing
	// calls beside answers about another patient.
	Also *Message `json:"also,omitempty"`
}

// Messages are the English texts of the steps' findings, by id. Every
// argument is a string (%s): a translation can place it anywhere.
var Messages = map[string]string{
	"dns-resolved":                       "%s is %s",
	"ca-bundle-holds-no":                 "the CA bundle %s holds no readable certificate",
	"calls-failed":                       "%s of %s recent %s calls failed: %s",
	"calls-none":                         "no recent calls in the fault log",
	"calls-ok":                           "%s recent calls, none failing out of the ordinary",
	"calls-slow":                         "recent %s calls take %s ms, %s times their normal %s ms",
	"calls-wrong-patient":                "%s recent calls answered about another patient than the one asked for (%s), each refused whole: patient privacy may be at risk",
	"cannot-ask-hub":                     "cannot ask the hub: %s",
	"cannot-connect":                     "cannot connect to %s:%s: %s",
	"cannot-parse-client-certificate":    "cannot parse the client certificate %s: %s",
	"cannot-read-client-certificate":     "cannot read the client certificate %s and key %s: %s",
	"cannot-read-fault-log":              "cannot read the fault log: %s",
	"cannot-read-free-space":             "cannot read the free space of %s: %s",
	"cannot-resolve":                     "cannot resolve %s: %s",
	"client-certificate-expired-on":      "the client certificate \"%s\" expired on %s",
	"client-certificate-valid-only":      "the client certificate \"%s\" is valid only from %s: check this PC's clock",
	"client-certificate-valid-until":     "the client certificate \"%s\" is valid until %s",
	"connected":                          "connected to %s in %s",
	"metadata-answered":                  "/metadata answered %s in %s",
	"metadata-throttled":                 "/metadata answered 429 (throttled) in %s",
	"mib-free":                           "%s MiB free in %s",
	"no-answer-metadata":                 "no answer to /metadata: %s",
	"no-client-certificate-configured":   "no client certificate configured (plain HTTP)",
	"no-client-certificate-configured-2": "no client certificate configured",
	"no-hub-other-counters":              "no hub: the other counters are not known",
	"no-journal-no-fault":                "no journal: no fault log",
	"no-other-counter-has":               "no other counter has announced itself to the hub",
	"no-usable-certificates-shake":       "no usable certificates to shake hands with",
	"none-other-counters-fault":          "none of %s other counters is in FAULT",
	"not-asked-way-service":              "not asked: the way to the service is not sound",
	"other-counters-fault":               "%s of %s other counters in FAULT: %s",
	"plain-http-no-tls":                  "plain HTTP: no TLS",
	"prescription-centres-url-not":       "the Prescription Centre's URL \"%s\" is not a URL",
	"request-failed":                     "%s",
	"server-certificate-valid-until":     "%s, server certificate \"%s\" valid until %s",
	"service-sent-no-date":               "the service sent no Date header",
	"this-pcs-clock-off":                 "this PC's clock is %s off the service's (%s)",
	"tls-handshake-failed":               "the TLS handshake with %s failed: %s",
	"within-services-clock":              "within %s of the service's clock",
}

// msg makes the message id with args, worded in English.
func msg(id string, args ...any) Message {
	sargs := make([]string, len(args))
	as := make([]any, len(args))
	for i, a := range args {
		sargs[i] = fmt.Sprint(a)
		as[i] = sargs[i]
	}
	tmpl, ok := Messages[id]
	if !ok {
		panic("triage: no message " + id) // a bug: every id used is in Messages
	}
	return Message{Detail: fmt.Sprintf(tmpl, as...), Msg: id, Args: sargs}
}

// besides adds another finding to m.
func (m Message) besides(o Message) Message {
	m.Also = &o
	m.Detail += "; besides, " + o.Detail
	return m
}
