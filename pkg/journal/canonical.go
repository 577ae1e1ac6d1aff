package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"unicode/utf8"
)

// canonicalJSON returns v compact, with object keys sorted and numbers as
// written, so the same content always hashes the same. nil gives {}.
//
// The canonical form is what encoding/json makes of v decoded with
// UseNumber and encoded without HTML escaping (canonicalSlow). Decoding
// into maps and encoding them again was a tenth of a durable append's
// time, so canonicalFast rewrites the bytes directly where that is sure to
// give the same result: strings without escapes, keys that appear once,
// numbers in JSON's own syntax. Anything else goes the slow way.
func canonicalJSON(v json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(v)) == 0 {
		return json.RawMessage(`{}`), nil
	}
	if out, ok := canonicalFast(v); ok {
		return out, nil
	}
	return canonicalSlow(v)
}

func canonicalSlow(v json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

// canonicalFast is canonicalJSON for the common case; ok is false when v
// has anything it leaves to canonicalSlow (which also reports errors).
func canonicalFast(v []byte) (json.RawMessage, bool) {
	c := canonicalizer{in: v, out: make([]byte, 0, len(v))}
	c.space()
	if !c.value(0) {
		return nil, false
	}
	c.space()
	if c.pos != len(c.in) {
		return nil, false
	}
	return c.out, true
}

// maxFastDepth bounds the nesting canonicalFast follows; deeper documents go
// the slow way, whose decoder has a limit of its own.
const maxFastDepth = 100

type canonicalizer struct {
	in  []byte
	pos int
	out []byte

	// Shared by every object in turn, so that a document costs a few
	// allocations rather than two for each object: the members of the
	// objects being read (a stack), and the values of the one being put in
	// order.
	members []member
	values  []byte
}

// member is an object's member as read: its key, quoted, and where its
// value was written in out.
type member struct {
	key        []byte
	start, end int
}

func (c *canonicalizer) space() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

// value copies one value at pos to out, canonically.
func (c *canonicalizer) value(depth int) bool {
	if c.pos >= len(c.in) || depth > maxFastDepth {
		return false
	}
	switch b := c.in[c.pos]; {
	case b == '{':
		return c.object(depth)
	case b == '[':
		return c.array(depth)
	case b == '"':
		s, ok := c.str()
		c.out = append(c.out, s...)
		return ok
	case b == '-' || (b >= '0' && b <= '9'):
		return c.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(c.in[c.pos:], []byte(lit)) {
				c.pos += len(lit)
				c.out = append(c.out, lit...)
				return true
			}
		}
		return false
	}
}

// str returns the string at pos, quotes included, when encoding/json would
// write it back byte for byte: no escapes, no control characters, valid
// UTF-8, neither U+2028 nor U+2029 (which it escapes).
func (c *canonicalizer) str() ([]byte, bool) {
	start := c.pos
	i := c.pos + 1
	for i < len(c.in) {
		b := c.in[i]
		switch {
		case b == '"':
			c.pos = i + 1
			return c.in[start:c.pos], true
		case b == '\\' || b < 0x20:
			return nil, false
		case b < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(c.in[i:])
			if r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
				return nil, false
			}
			i += size
		}
	}
	return nil, false
}

// number copies a number in JSON's syntax: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (c *canonicalizer) number() bool {
	in, i := c.in, c.pos
	digits := func() bool {
		start := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(in) && in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(in) && in[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	c.out = append(c.out, in[c.pos:i]...)
	c.pos = i
	return true
}

func (c *canonicalizer) array(depth int) bool {
	c.pos++
	c.out = append(c.out, '[')
	c.space()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		c.out = append(c.out, ']')
		return true
	}
	for {
		c.space()
		if !c.value(depth + 1) {
			return false
		}
		c.space()
		if c.pos >= len(c.in) {
			return false
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			c.out = append(c.out, ',')
		case ']':
			c.pos++
			c.out = append(c.out, ']')
			return true
		default:
			return false
		}
	}
}

// object writes the members sorted by key. Each member's value is written
// to out as it is read, then the members are put in order.
func (c *canonicalizer) object(depth int) bool {
	c.pos++
	c.space()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		c.out = append(c.out, "{}"...)
		return true
	}
	base := len(c.members)
	defer func() { c.members = c.members[:base] }()
	mark := len(c.out)
	for {
		c.space()
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return false
		}
		key, ok := c.str()
		if !ok {
			return false
		}
		c.space()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return false
		}
		c.pos++
		c.space()
		start := len(c.out)
		if !c.value(depth + 1) {
			return false
		}
		c.members = append(c.members, member{key, start, len(c.out)})
		c.space()
		if c.pos >= len(c.in) {
			return false
		}
		if c.in[c.pos] == '}' {
			c.pos++
			break
		}
		if c.in[c.pos] != ',' {
			return false
		}
		c.pos++
	}
	// Keys sort by their text (without escapes, the bytes between the
	// quotes), as encoding/json sorts a map's. A repeated key (which
	// decoding resolves, the last one winning) goes the slow way.
	members := c.members[base:]
	unquoted := func(k []byte) []byte { return k[1 : len(k)-1] }
	slices.SortFunc(members, func(a, b member) int { return bytes.Compare(unquoted(a.key), unquoted(b.key)) })
	for i := 1; i < len(members); i++ {
		if bytes.Equal(members[i-1].key, members[i].key) {
			return false
		}
	}
	c.values = append(c.values[:0], c.out[mark:]...)
	values := c.values
	c.out = append(c.out[:mark], '{')
	for i, m := range members {
		if i > 0 {
			c.out = append(c.out, ',')
		}
		c.out = append(c.out, m.key...)
		c.out = append(c.out, ':')
		c.out = append(c.out, values[m.start-mark:m.end-mark]...)
	}
	c.out = append(c.out, '}')
	return true
}
