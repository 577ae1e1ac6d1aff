package centre

import (
	"math"
	"net/http"
	"strconv"
	"strings"
)

// The server's rate-limit hint (issue 20). A server may say how much of its
// request quota is left in the RateLimit header fields of
// draft-ietf-httpapi-ratelimit-headers, in the structured form of its later
// drafts,
//
//	RateLimit-Policy: "capacity";q=300;w=1
//	RateLimit: "capacity";r=120;t=1
//
// or the separate fields of its earlier ones (RateLimit-Limit,
// RateLimit-Remaining). The client keeps the share left as of the last
// answer that carried one, for the upload queue's pacing: it is a hint
// only, and a server that sends none is paced by its 429s alone.

// roomUnknown marks no hint seen (NaN bits).
var roomUnknown = math.Float64bits(math.NaN())

// Room returns the share (0 to 1) of the server's request quota that was
// left when it last answered with a rate-limit hint, and false when it has
// sent none.
func (c *Client) Room() (float64, bool) {
	v := math.Float64frombits(c.room.Load())
	if math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// noteRoom keeps the hint of an answer, if it has one.
func (c *Client) noteRoom(h http.Header) {
	if v, ok := parseRoom(h); ok {
		c.room.Store(math.Float64bits(v))
	}
}

// parseRoom reads the share of the quota left from the RateLimit fields.
func parseRoom(h http.Header) (float64, bool) {
	limit, okL := sfParam(h.Get("RateLimit-Policy"), "q")
	left, okR := sfParam(h.Get("RateLimit"), "r")
	if !okL || !okR {
		limit, okL = plainNumber(h.Get("RateLimit-Limit"))
		left, okR = plainNumber(h.Get("RateLimit-Remaining"))
	}
	if !okL || !okR || limit <= 0 || left < 0 {
		return 0, false
	}
	return min(1, left/limit), true
}

// sfParam reads the numeric parameter name of the first item of a
// structured-field list such as `"capacity";q=300;w=1`.
func sfParam(v, name string) (float64, bool) {
	item, _, _ := strings.Cut(v, ",")
	parts := strings.Split(item, ";")
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && k == name {
			return plainNumber(val)
		}
	}
	return 0, false
}

// plainNumber reads a non-negative number, or the first of a list
// ("100, 100;w=60" in some servers' RateLimit-Limit).
func plainNumber(v string) (float64, bool) {
	v, _, _ = strings.Cut(v, ",")
	v, _, _ = strings.Cut(v, ";")
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
