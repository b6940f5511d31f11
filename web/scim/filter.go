package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A Filter is a parsed SCIM filter (RFC 7644 section 3.4.2.2) or a
// value filter inside a PATCH path.
type Filter struct {
	Op    string   // "and", "or", "not", "pr", "[]" (a value path) or a comparison: "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"
	Left  *Filter  // and, or: the operands; not, []: the operand (for [], the value filter)
	Right *Filter  // and, or
	Path  AttrPath // pr, comparisons, []
	Value any      // comparisons: string, bool, json.Number or nil (null)
}

// An AttrPath names an attribute: [URN ":"] attr ["." sub]. URN is the
// schema's, when given; names keep the case they were written in.
type AttrPath struct {
	URN, Attr, Sub string
}

func (p AttrPath) String() string {
	s := p.Attr
	if p.URN != "" {
		s = p.URN + ":" + s
	}
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}

// Limits of what ParseFilter accepts, against abuse.
const (
	maxFilterLen   = 4096
	maxFilterDepth = 32
)

// ErrFilter is wrapped by every ParseFilter error.
var ErrFilter = errors.New("invalid filter")

// ParseFilter parses a SCIM filter. Operators and the literals true,
// false and null are case-insensitive; "not" binds tighter than "and",
// "and" than "or". A value path may be followed by a sub-attribute
// comparison (emails[type eq "work"].value eq "x"), read as the
// comparison joined to the value filter.
func ParseFilter(s string) (*Filter, error) {
	if len(s) > maxFilterLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrFilter, maxFilterLen)
	}
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrFilter)
	}
	p := &filterParser{s: s}
	f, err := p.or(0, false)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, p.errf("unexpected %q", p.rest())
	}
	return f, nil
}

type filterParser struct {
	s string
	i int
}

func (p *filterParser) errf(format string, a ...any) error {
	return fmt.Errorf("%w at offset %d: %s", ErrFilter, p.i, fmt.Sprintf(format, a...))
}

func (p *filterParser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (p *filterParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// word reads a run of characters that may make up an attribute path,
// operator or literal.
func (p *filterParser) word() string {
	p.space()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ' ' || c == '\t' || c == '(' || c == ')' || c == '[' || c == ']' || c == '"' {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

// peekWord returns the next word without consuming it.
func (p *filterParser) peekWord() string {
	i := p.i
	w := p.word()
	p.i = i
	return w
}

// or parses FILTER with "or" at the lowest precedence; inValue is true
// inside a value path's brackets, where value paths may not nest.
func (p *filterParser) or(depth int, inValue bool) (*Filter, error) {
	left, err := p.and(depth, inValue)
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peekWord(), "or") {
		p.word()
		right, err := p.and(depth, inValue)
		if err != nil {
			return nil, err
		}
		left = &Filter{Op: "or", Left: left, Right: right}
	}
	return left, nil
}

func (p *filterParser) and(depth int, inValue bool) (*Filter, error) {
	left, err := p.unary(depth, inValue)
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peekWord(), "and") {
		p.word()
		right, err := p.unary(depth, inValue)
		if err != nil {
			return nil, err
		}
		left = &Filter{Op: "and", Left: left, Right: right}
	}
	return left, nil
}

func (p *filterParser) unary(depth int, inValue bool) (*Filter, error) {
	if depth > maxFilterDepth {
		return nil, p.errf("nested deeper than %d", maxFilterDepth)
	}
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		f, err := p.or(depth+1, inValue)
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, p.errf("missing )")
		}
		p.i++
		return f, nil
	}
	if w := p.peekWord(); strings.EqualFold(w, "not") {
		p.word()
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != '(' {
			return nil, p.errf("not must be followed by (")
		}
		f, err := p.unary(depth+1, inValue)
		if err != nil {
			return nil, err
		}
		return &Filter{Op: "not", Left: f}, nil
	}
	return p.attrExp(depth, inValue)
}

func (p *filterParser) attrExp(depth int, inValue bool) (*Filter, error) {
	w := p.word()
	if w == "" {
		if p.i >= len(p.s) {
			return nil, p.errf("expression expected at the end")
		}
		return nil, p.errf("attribute expected, not %q", p.rest())
	}
	path, err := parseAttrPath(w)
	if err != nil {
		return nil, p.errf("%v", err)
	}
	if p.i < len(p.s) && p.s[p.i] == '[' {
		if inValue {
			return nil, p.errf("value filters do not nest")
		}
		if path.Sub != "" {
			return nil, p.errf("a value filter follows an attribute, not a sub-attribute")
		}
		p.i++
		inner, err := p.or(depth+1, true)
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ']' {
			return nil, p.errf("missing ]")
		}
		p.i++
		vp := &Filter{Op: "[]", Path: path, Left: inner}
		// emails[type eq "work"].value eq "x"
		if p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
			sw := p.word()
			sub, err := parseAttrPath(sw)
			if err != nil || sub.URN != "" || sub.Sub != "" {
				return nil, p.errf("sub-attribute expected after ]., not %q", sw)
			}
			cmp, err := p.comparison(AttrPath{Attr: sub.Attr})
			if err != nil {
				return nil, err
			}
			vp.Left = &Filter{Op: "and", Left: inner, Right: cmp}
		}
		return vp, nil
	}
	return p.comparison(path)
}

var compareOps = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "ge": true, "lt": true, "le": true}

func (p *filterParser) comparison(path AttrPath) (*Filter, error) {
	op := strings.ToLower(p.word())
	if op == "pr" {
		return &Filter{Op: "pr", Path: path}, nil
	}
	if !compareOps[op] {
		return nil, p.errf("operator expected after %s, not %q", path, op)
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	return &Filter{Op: op, Path: path, Value: v}, nil
}

// value reads compValue: a JSON string, number, true, false or null.
func (p *filterParser) value() (any, error) {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '"' {
		start := p.i
		p.i++
		for p.i < len(p.s) && p.s[p.i] != '"' {
			if p.s[p.i] == '\\' {
				p.i++
			}
			p.i++
		}
		if p.i >= len(p.s) {
			return nil, p.errf("unterminated string")
		}
		p.i++
		var s string
		if err := json.Unmarshal([]byte(p.s[start:p.i]), &s); err != nil {
			return nil, p.errf("bad string %s", p.s[start:p.i])
		}
		return s, nil
	}
	w := p.word()
	switch strings.ToLower(w) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	case "":
		return nil, p.errf("value expected")
	}
	var n json.Number
	if err := json.Unmarshal([]byte(w), &n); err != nil {
		return nil, p.errf("value expected, not %q (strings are quoted)", w)
	}
	return n, nil
}

// parseAttrPath parses [URN ":"] ATTRNAME ["." subAttr].
func parseAttrPath(w string) (AttrPath, error) {
	var p AttrPath
	if i := strings.LastIndexByte(w, ':'); i >= 0 {
		p.URN, w = w[:i], w[i+1:]
		if !strings.HasPrefix(strings.ToLower(p.URN), "urn:") {
			return p, fmt.Errorf("%q is not a schema URN", p.URN)
		}
	}
	attr, sub, dotted := strings.Cut(w, ".")
	if !validAttrName(attr) || dotted && !validAttrName(sub) {
		return p, fmt.Errorf("%q is not an attribute name", w)
	}
	p.Attr, p.Sub = attr, sub
	return p, nil
}

// validAttrName: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" /
// DIGIT / ALPHA; "$ref" too.
func validAttrName(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !(c >= '0' && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// String writes f back in SCIM filter syntax.
func (f *Filter) String() string {
	switch f.Op {
	case "and", "or":
		return "(" + f.Left.String() + " " + f.Op + " " + f.Right.String() + ")"
	case "not":
		return "not (" + f.Left.String() + ")"
	case "pr":
		return f.Path.String() + " pr"
	case "[]":
		return f.Path.String() + "[" + f.Left.String() + "]"
	}
	b, _ := json.Marshal(f.Value)
	return f.Path.String() + " " + f.Op + " " + string(b)
}

// match evaluates a value filter against one element of a multi-valued
// complex attribute (a JSON object with canonical sub-attribute names):
// strings compare case-insensitively, as every sub-attribute the
// resources here filter on is caseExact false.
func (f *Filter) match(el map[string]any) bool {
	switch f.Op {
	case "and":
		return f.Left.match(el) && f.Right.match(el)
	case "or":
		return f.Left.match(el) || f.Right.match(el)
	case "not":
		return !f.Left.match(el)
	case "[]":
		return false
	}
	v, ok := lookupFold(el, f.Path.Attr)
	if f.Path.Sub != "" {
		if m, isMap := v.(map[string]any); isMap {
			v, ok = lookupFold(m, f.Path.Sub)
		} else {
			ok = false
		}
	}
	if f.Op == "pr" {
		return ok && v != nil && v != ""
	}
	if f.Op == "ne" {
		return !(&Filter{Op: "eq", Path: f.Path, Value: f.Value}).match(el)
	}
	if !ok {
		return false
	}
	switch want := f.Value.(type) {
	case bool:
		got, isBool := v.(bool)
		return isBool && f.Op == "eq" && got == want
	case nil:
		return false
	}
	got, want := strings.ToLower(fmt.Sprint(v)), strings.ToLower(fmt.Sprint(f.Value))
	switch f.Op {
	case "eq":
		return got == want
	case "co":
		return strings.Contains(got, want)
	case "sw":
		return strings.HasPrefix(got, want)
	case "ew":
		return strings.HasSuffix(got, want)
	case "gt":
		return got > want
	case "ge":
		return got >= want
	case "lt":
		return got < want
	case "le":
		return got <= want
	}
	return false
}

// lookupFold finds a key case-insensitively.
func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
