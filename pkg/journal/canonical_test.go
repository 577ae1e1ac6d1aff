package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// sameAsSlow checks that canonicalFast, where it takes an input, gives
// byte for byte what encoding/json gives, and that canonicalJSON agrees
// with canonicalSlow on errors.
func sameAsSlow(t *testing.T, in []byte) (fast bool) {
	t.Helper()
	want, werr := canonicalSlow(in)
	if got, ok := canonicalFast(in); ok {
		if werr != nil {
			t.Fatalf("canonicalFast(%q) = %s, but encoding/json refuses it: %v", in, got, werr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("canonicalFast(%q)\n got %s\nwant %s", in, got, want)
		}
		fast = true
	}
	if len(bytes.TrimSpace(in)) == 0 {
		return fast
	}
	got, err := canonicalJSON(in)
	if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
		t.Fatalf("canonicalJSON(%q) = %s, %v; canonicalSlow: %s, %v", in, got, err, want, werr)
	}
	return fast
}

func TestCanonicalFastMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		`{"b":2,"a":1}`, `{"a":1,"a":2}`, `{"a!":1,"a":2,"a ":3,"":4}`, `{"é":1,"e":2,"z":3}`,
		`[1,2,[3,[4,{}]],[]]`, ` { } `, `[ ]`, `"x"`, `0`, `-0`, `-0.0e+00`, `1E5`, `01`, `1.`, `.5`, `+1`, `-`, `1e`, `1e+`,
		`true`, `false`, `null`, `tru`, `nul`, `{"a":true,"b":false,"c":null}`,
		`"tab\there"`, `"quote\"d"`, `"\u00e4"`, `"a\/b"`, "\"raw\ttab\"", "\"line\u2028sep\"", "\"bad \xff utf8\"",
		`"ä & <x>"`, `{"a":1}{"b":2}`, `{"a":1} x`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`, `{"a":}`, `[`, `{`, `"unterminated`,
		strings.Repeat("[", 150) + strings.Repeat("]", 150), "\n {\"k\" :\t[ 1 , 2 ]\r\n}\n",
	}
	for _, in := range cases {
		t.Run(in, func(t *testing.T) { sameAsSlow(t, []byte(in)) })
	}
}

// TestCanonicalFastOnRecordBodies: the bodies tiski writes (encoding/json
// output of structs: keys in field order, Finnish text) take the fast way.
func TestCanonicalFastOnRecordBodies(t *testing.T) {
	body, _ := json.Marshal(struct {
		Patient  string   `json:"patient"`
		Medicine string   `json:"medicine"`
		Quantity float64  `json:"quantity"`
		Rules    []string `json:"rules"`
		Basis    string   `json:"basis"`
		Note     string   `json:"note,omitempty"`
	}{"131052-308T", "Panadol 500 mg tabletti", 30, []string{"essential.quantity"}, "previous_label", "Äkäslompolon apteekki, ÖLJY"})
	if !sameAsSlow(t, body) {
		t.Fatalf("a record body took the slow way: %s", body)
	}
}

// TestCanonicalFastRandom compares the two ways on generated documents:
// nesting, repeated and similar keys, escapes, non-ASCII text and numbers
// of every shape, with random whitespace.
func TestCanonicalFastRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	fast := 0
	const n = 3000
	for range n {
		var b strings.Builder
		randomJSON(r, &b, 0)
		if sameAsSlow(t, []byte(b.String())) {
			fast++
		}
	}
	if fast < n/4 {
		t.Fatalf("only %d of %d documents took the fast way", fast, n)
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range []string{`{"b":2,"a":1}`, `[1,"x",{"a":null}]`, `"ä"`, `-1.5e3`, `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { sameAsSlow(t, in) })
}

func randomJSON(r *rand.Rand, b *strings.Builder, depth int) {
	ws := func() {
		if r.IntN(4) == 0 {
			b.WriteString([]string{" ", "\n", "\t ", "\r\n  "}[r.IntN(4)])
		}
	}
	ws()
	kind := r.IntN(7)
	if depth > 4 {
		kind = 2 + r.IntN(5)
	}
	switch kind {
	case 0, 1:
		b.WriteByte('{')
		keys := []string{"a", "b", "a!", "a ", "ä", "B", "", "aa", "pitkä avain", `q\"x`}
		for i := range r.IntN(5) {
			if i > 0 {
				b.WriteByte(',')
			}
			ws()
			fmt.Fprintf(b, `"%s"`, keys[r.IntN(len(keys))])
			ws()
			b.WriteByte(':')
			randomJSON(r, b, depth+1)
		}
		ws()
		b.WriteByte('}')
	case 2:
		b.WriteByte('[')
		for i := range r.IntN(4) {
			if i > 0 {
				b.WriteByte(',')
			}
			randomJSON(r, b, depth+1)
		}
		b.WriteByte(']')
	case 3:
		strs := []string{"", "plain", "Äkäslompolo", "tab\\t", "quote\\\"", "\\u00e4", "<&>", "emoji 💊", "sep\u2028", "slash\\/"}
		fmt.Fprintf(b, `"%s"`, strs[r.IntN(len(strs))])
	case 4, 5:
		nums := []string{"0", "-0", "1", "-12", "3.25", "0.10", "1e3", "2E-7", "-4.5e+10", "100"}
		b.WriteString(nums[r.IntN(len(nums))])
	default:
		b.WriteString([]string{"true", "false", "null"}[r.IntN(3)])
	}
	ws()
}
