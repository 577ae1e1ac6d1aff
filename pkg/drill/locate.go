package drill

import (
	"strconv"
	"strings"
)

// lines maps the path of every key in a TOML document to the line it is on,
// so that an error can name the line of the field it is about. Paths name
// the elements of arrays of tables by index: "step[2].at", "expect.records.dispensing".
//
// BurntSushi/toml reports the line of a syntax error, but the line it gives
// for a type error inside an array of tables is that of the key's last
// occurrence, not of the element at fault, and it has no positions for
// unknown keys. So the scenario is decoded into plain maps first and checked
// here, field by field, against these lines.
type lines map[string]int

// locate reads the keys of a TOML document line by line. It understands
// what scenario files use: comments, [table] and [[array]] headers (also
// nested under an array element), dotted keys, one-line inline tables, and
// multi-line arrays and strings, which it skips over. A key it cannot place
// just has no line; the error then names the field without one.
func locate(src string) lines {
	out := lines{}
	arrays := map[string]int{} // array-of-tables path (with outer indexes) → last index
	prefix := ""
	var closing string // the end of a multi-line value being skipped: `"""`, `'''` or "]"
	depth := 0         // bracket depth of a multi-line array
	for i, raw := range strings.Split(src, "\n") {
		n := i + 1
		line := stripComment(raw)
		if closing != "" {
			switch closing {
			case "]":
				depth += bracketDepth(line)
				if depth <= 0 {
					closing = ""
				}
			default:
				if strings.Contains(line, closing) {
					closing = ""
				}
			}
			continue
		}
		t := strings.TrimSpace(line)
		switch {
		case t == "":
			continue
		case strings.HasPrefix(t, "[["):
			// The outer segments name elements of the arrays they are in;
			// the last one is the array itself.
			h := dotted(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t, "[["), "]]")))
			name := h
			if i := strings.LastIndex(h, "."); i >= 0 {
				name = resolveHeader(h[:i], arrays) + h[i:]
			}
			idx := arrays[name] + 1 // elements are numbered from 1, as people count
			arrays[name] = idx
			prefix = name + "[" + strconv.Itoa(idx) + "]"
			out[prefix] = n
			continue
		case strings.HasPrefix(t, "["):
			prefix = resolveHeader(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t, "["), "]")), arrays)
			out[prefix] = n
			continue
		}
		eq := strings.Index(t, "=")
		if eq < 0 {
			continue
		}
		key := join(prefix, dotted(t[:eq]))
		out[key] = n
		value := strings.TrimSpace(t[eq+1:])
		switch {
		case strings.HasPrefix(value, `"""`) && strings.Count(value, `"""`) == 1:
			closing = `"""`
		case strings.HasPrefix(value, `'''`) && strings.Count(value, `'''`) == 1:
			closing = `'''`
		case strings.HasPrefix(value, "["):
			if d := bracketDepth(value); d > 0 {
				closing, depth = "]", d
			}
		case strings.HasPrefix(value, "{"):
			inner := strings.TrimSuffix(strings.TrimPrefix(value, "{"), "}")
			for _, part := range strings.Split(inner, ",") {
				if e := strings.Index(part, "="); e >= 0 {
					out[join(key, dotted(part[:e]))] = n
				}
			}
		}
	}
	return out
}

// resolveHeader gives a table header's path, with the index of every array
// of tables it is nested in: [step.fault] after a second [[step]] is
// "step[1].fault".
func resolveHeader(h string, arrays map[string]int) string {
	path := ""
	for _, seg := range strings.Split(dotted(h), ".") {
		path = join(path, seg)
		if idx, ok := arrays[path]; ok {
			path += "[" + strconv.Itoa(idx) + "]"
		}
	}
	return path
}

// dotted normalises a (possibly dotted, possibly quoted) key.
func dotted(k string) string {
	parts := strings.Split(strings.TrimSpace(k), ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// stripComment drops a # comment that is not inside a string.
func stripComment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#':
			return s[:i]
		}
	}
	return s
}

// bracketDepth counts [ less ] outside strings.
func bracketDepth(s string) int {
	d := 0
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[':
			d++
		case r == ']':
			d--
		}
	}
	return d
}
