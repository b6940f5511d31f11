package ldap

// Search filters: BER decoding into the Request arena (RFC 4511 section
// 4.5.1.7), BER encoding, and the RFC 4515 string form.

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Filter identifier octets.
const (
	tagFilterAnd        = classContext | bitConstructed /* [0] */
	tagFilterOr         = classContext | bitConstructed | 1
	tagFilterNot        = classContext | bitConstructed | 2
	tagFilterEquality   = classContext | bitConstructed | 3
	tagFilterSubstrings = classContext | bitConstructed | 4
	tagFilterGE         = classContext | bitConstructed | 5
	tagFilterLE         = classContext | bitConstructed | 6
	tagFilterPresent    = classContext | 7
	tagFilterApprox     = classContext | bitConstructed | 8
	tagFilterExtensible = classContext | bitConstructed | 9
)

// filterCount accumulates the sizes the fill pass needs.
type filterCount struct {
	nodes int
	anys  int
}

// decodeFilter decodes the filter element b (one complete TLV). A first
// pass validates the whole tree and counts nodes and substring "any" parts;
// the arenas are then sized once, so that the second pass can hand out
// contiguous child slices without the arena ever moving.
func (req *Request) decodeFilter(b []byte) (*Filter, error) {
	var cnt filterCount
	tag, c, _, err := readTLV(b)
	if err != nil {
		return nil, err
	}
	if err := countFilter(tag, c, 1, &cnt); err != nil {
		return nil, err
	}
	if cap(req.filters)-len(req.filters) < cnt.nodes {
		req.filters = make([]Filter, 0, cnt.nodes)
	}
	if cap(req.anys)-len(req.anys) < cnt.anys {
		req.anys = make([][]byte, 0, cnt.anys)
	}
	start := len(req.filters)
	req.filters = req.filters[:start+1]
	f := &req.filters[start]
	req.fillFilter(f, tag, c)
	return f, nil
}

// countFilter validates one filter (identifier tag, contents c) at nesting
// depth and adds its nodes to cnt.
func countFilter(tag byte, c []byte, depth int, cnt *filterCount) error {
	if depth > MaxFilterDepth {
		return errTooDeep
	}
	cnt.nodes++
	if cnt.nodes > MaxFilterNodes {
		return errTooMany
	}
	switch tag {
	case tagFilterAnd, tagFilterOr:
		for len(c) > 0 {
			t, cc, rest, err := readTLV(c)
			if err != nil {
				return err
			}
			if err := countFilter(t, cc, depth+1, cnt); err != nil {
				return err
			}
			c = rest
		}
		return nil
	case tagFilterNot:
		t, cc, rest, err := readTLV(c)
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return errTrailing
		}
		return countFilter(t, cc, depth+1, cnt)
	case tagFilterEquality, tagFilterGE, tagFilterLE, tagFilterApprox:
		_, c, err := expect(c, tagOctetString)
		if err != nil {
			return err
		}
		_, c, err = expect(c, tagOctetString)
		if err != nil {
			return err
		}
		return checkElements(c)
	case tagFilterPresent:
		return nil
	case tagFilterSubstrings:
		_, c, err := expect(c, tagOctetString)
		if err != nil {
			return err
		}
		subs, c, err := expect(c, tagSequence)
		if err != nil {
			return err
		}
		if err := checkElements(c); err != nil {
			return err
		}
		n := 0
		final := false
		for len(subs) > 0 {
			t, _, rest, err := readTLV(subs)
			if err != nil {
				return err
			}
			switch {
			case final:
				return errSubstrings // nothing may follow final
			case t == classContext /* [0] */ :
				if n != 0 {
					return errSubstrings // initial must come first
				}
			case t == classContext|1:
				cnt.anys++
			case t == classContext|2:
				final = true
			default:
				return errSubstrings
			}
			n++
			subs = rest
		}
		if n == 0 {
			return errSubstrings
		}
		return nil
	case tagFilterExtensible:
		// MatchingRuleAssertion ::= SEQUENCE {
		//      matchingRule [1] MatchingRuleId OPTIONAL,
		//      type         [2] AttributeDescription OPTIONAL,
		//      matchValue   [3] AssertionValue,
		//      dnAttributes [4] BOOLEAN DEFAULT FALSE }
		next := byte(1)
		hasValue := false
		for len(c) > 0 {
			t, v, rest, err := readTLV(c)
			if err != nil {
				return err
			}
			if t&0xc0 == classContext && t&bitConstructed == 0 && t&0x1f >= 1 && t&0x1f <= 4 {
				n := t & 0x1f
				if n < next {
					return errExtensible // out of order or repeated
				}
				next = n + 1
				switch n {
				case 3:
					hasValue = true
				case 4:
					if _, err := parseBool(v); err != nil {
						return err
					}
				}
			} else if next <= 4 {
				// Unknown elements may only follow the defined ones.
				return errExtensible
			}
			c = rest
		}
		if !hasValue {
			return errExtensible
		}
		return nil
	}
	return errUnexpTag
}

// fillFilter decodes an already validated filter into f.
func (req *Request) fillFilter(f *Filter, tag byte, c []byte) {
	*f = Filter{Kind: FilterKind(tag & 0x1f)}
	switch tag {
	case tagFilterAnd, tagFilterOr, tagFilterNot:
		n := 0
		for rest := c; len(rest) > 0; n++ {
			_, _, rest, _ = readTLV(rest)
		}
		start := len(req.filters)
		req.filters = req.filters[:start+n]
		f.Children = req.filters[start : start+n : start+n]
		for i := 0; i < n; i++ {
			t, cc, rest, _ := readTLV(c)
			req.fillFilter(&f.Children[i], t, cc)
			c = rest
		}
	case tagFilterEquality, tagFilterGE, tagFilterLE, tagFilterApprox:
		f.Attr, c, _ = expect(c, tagOctetString)
		f.Value, _, _ = expect(c, tagOctetString)
	case tagFilterPresent:
		f.Attr = c
	case tagFilterSubstrings:
		f.Attr, c, _ = expect(c, tagOctetString)
		subs, _, _ := expect(c, tagSequence)
		start := len(req.anys)
		for len(subs) > 0 {
			t, v, rest, _ := readTLV(subs)
			switch t {
			case classContext /* [0] */ :
				f.Initial = v
			case classContext | 1:
				req.anys = append(req.anys, v)
			case classContext | 2:
				f.Final = v
			}
			subs = rest
		}
		if len(req.anys) > start {
			f.Any = req.anys[start:len(req.anys):len(req.anys)]
		}
	case tagFilterExtensible:
		for len(c) > 0 {
			t, v, rest, _ := readTLV(c)
			switch t {
			case classContext | 1:
				f.MatchingRule = v
			case classContext | 2:
				f.Attr = v
			case classContext | 3:
				f.Value = v
			case classContext | 4:
				f.DNAttributes, _ = parseBool(v)
			}
			c = rest
		}
	}
}

// AppendFilter appends the BER encoding of f to b.
func AppendFilter(b []byte, f *Filter) []byte {
	n := filterContentSize(f)
	switch f.Kind {
	case FilterAnd, FilterOr, FilterNot:
		b = appendHeader(b, classContext|bitConstructed|byte(f.Kind), n)
		for i := range f.Children {
			b = AppendFilter(b, &f.Children[i])
		}
	case FilterEqualityMatch, FilterGreaterOrEqual, FilterLessOrEqual, FilterApproxMatch:
		b = appendHeader(b, classContext|bitConstructed|byte(f.Kind), n)
		b = appendBytes(b, tagOctetString, f.Attr)
		b = appendBytes(b, tagOctetString, f.Value)
	case FilterPresent:
		b = appendBytes(b, tagFilterPresent, f.Attr)
	case FilterSubstrings:
		b = appendHeader(b, tagFilterSubstrings, n)
		b = appendBytes(b, tagOctetString, f.Attr)
		b = appendHeader(b, tagSequence, substringsSize(f))
		if f.Initial != nil {
			b = appendBytes(b, classContext /* [0] */, f.Initial)
		}
		for _, a := range f.Any {
			b = appendBytes(b, classContext|1, a)
		}
		if f.Final != nil {
			b = appendBytes(b, classContext|2, f.Final)
		}
	case FilterExtensible:
		b = appendHeader(b, tagFilterExtensible, n)
		if f.MatchingRule != nil {
			b = appendBytes(b, classContext|1, f.MatchingRule)
		}
		if f.Attr != nil {
			b = appendBytes(b, classContext|2, f.Attr)
		}
		b = appendBytes(b, classContext|3, f.Value)
		if f.DNAttributes {
			b = appendBool(b, classContext|4, true)
		}
	}
	return b
}

func substringsSize(f *Filter) int {
	n := 0
	if f.Initial != nil {
		n += tlvSize(len(f.Initial))
	}
	for _, a := range f.Any {
		n += tlvSize(len(a))
	}
	if f.Final != nil {
		n += tlvSize(len(f.Final))
	}
	return n
}

// filterContentSize is the number of content octets of f's encoding.
func filterContentSize(f *Filter) int {
	switch f.Kind {
	case FilterAnd, FilterOr, FilterNot:
		n := 0
		for i := range f.Children {
			n += tlvSize(filterContentSize(&f.Children[i]))
		}
		return n
	case FilterEqualityMatch, FilterGreaterOrEqual, FilterLessOrEqual, FilterApproxMatch:
		return tlvSize(len(f.Attr)) + tlvSize(len(f.Value))
	case FilterPresent:
		return len(f.Attr)
	case FilterSubstrings:
		return tlvSize(len(f.Attr)) + tlvSize(substringsSize(f))
	case FilterExtensible:
		n := tlvSize(len(f.Value))
		if f.MatchingRule != nil {
			n += tlvSize(len(f.MatchingRule))
		}
		if f.Attr != nil {
			n += tlvSize(len(f.Attr))
		}
		if f.DNAttributes {
			n += 3
		}
		return n
	}
	return 0
}

// String returns the RFC 4515 string form of f. Values are escaped as
// \XX (lower-case hex) for NUL, '(', ')', '*', '\' and every octet above
// 0x7F, which keeps the output ASCII and valid whatever the value bytes.
func (f *Filter) String() string {
	return string(f.appendText(nil))
}

func (f *Filter) appendText(b []byte) []byte {
	b = append(b, '(')
	switch f.Kind {
	case FilterAnd, FilterOr, FilterNot:
		b = append(b, "&|!"[f.Kind])
		for i := range f.Children {
			b = f.Children[i].appendText(b)
		}
	case FilterEqualityMatch, FilterGreaterOrEqual, FilterLessOrEqual, FilterApproxMatch:
		b = appendEscaped(b, f.Attr)
		switch f.Kind {
		case FilterEqualityMatch:
			b = append(b, '=')
		case FilterGreaterOrEqual:
			b = append(b, ">="...)
		case FilterLessOrEqual:
			b = append(b, "<="...)
		case FilterApproxMatch:
			b = append(b, "~="...)
		}
		b = appendEscaped(b, f.Value)
	case FilterPresent:
		b = appendEscaped(b, f.Attr)
		b = append(b, "=*"...)
	case FilterSubstrings:
		b = appendEscaped(b, f.Attr)
		b = append(b, '=')
		b = appendEscaped(b, f.Initial)
		b = append(b, '*')
		for _, a := range f.Any {
			b = appendEscaped(b, a)
			b = append(b, '*')
		}
		b = appendEscaped(b, f.Final)
	case FilterExtensible:
		b = appendEscaped(b, f.Attr)
		if f.DNAttributes {
			b = append(b, ":dn"...)
		}
		if len(f.MatchingRule) > 0 {
			b = append(b, ':')
			b = appendEscaped(b, f.MatchingRule)
		}
		b = append(b, ":="...)
		b = appendEscaped(b, f.Value)
	}
	return append(b, ')')
}

func filterMustEscape(c byte) bool {
	return c == 0 || c == '(' || c == ')' || c == '*' || c == '\\' || c > 0x7f
}

func appendEscaped(b, v []byte) []byte {
	const hex = "0123456789abcdef"
	for _, c := range v {
		if filterMustEscape(c) {
			b = append(b, '\\', hex[c>>4], hex[c&0xf])
		} else {
			b = append(b, c)
		}
	}
	return b
}

// Filter parsing (RFC 4515 section 3):
//
//	filter         = LPAREN filtercomp RPAREN
//	filtercomp     = and / or / not / item
//	item           = simple / present / substring / extensible
//	extensible     = ( attr [dnattrs] [matchingrule] COLON EQUALS assertionvalue )
//	                 / ( [dnattrs] matchingrule COLON EQUALS assertionvalue )
//
// As a leniency, a filter without the outer parentheses ("uid=x") is
// accepted, and so is an extensible match naming neither type nor rule,
// which the wire form also allows (the evaluator makes it Undefined).

// ErrFilterSyntax wraps every ParseFilter error.
var ErrFilterSyntax = errors.New("ldap: bad search filter")

type filterSyntaxError struct {
	pos int
	msg string
}

func (e *filterSyntaxError) Error() string {
	return "ldap: bad search filter at offset " + itoa(e.pos) + ": " + e.msg
}

func (e *filterSyntaxError) Unwrap() error { return ErrFilterSyntax }

// ParseFilter parses the RFC 4515 string form of a filter.
func ParseFilter(s string) (*Filter, error) {
	if s == "" {
		return nil, &filterSyntaxError{0, "empty filter"}
	}
	if s[0] != '(' {
		s = "(" + s + ")"
	}
	p := filterParser{s: s}
	var f Filter
	if err := p.parse(&f, 1); err != nil {
		return nil, err
	}
	if p.pos != len(s) {
		return nil, p.errf("data after filter")
	}
	return &f, nil
}

type filterParser struct {
	s     string
	pos   int
	nodes int
}

func (p *filterParser) errf(msg string) error { return &filterSyntaxError{p.pos, msg} }

func (p *filterParser) parse(f *Filter, depth int) error {
	if depth > MaxFilterDepth {
		return p.errf("filter nested too deeply")
	}
	if p.nodes++; p.nodes > MaxFilterNodes {
		return p.errf("filter has too many nodes")
	}
	if p.pos >= len(p.s) || p.s[p.pos] != '(' {
		return p.errf("expected '('")
	}
	p.pos++
	if p.pos >= len(p.s) {
		return p.errf("unexpected end of filter")
	}
	switch c := p.s[p.pos]; c {
	case '&', '|':
		p.pos++
		f.Kind = FilterAnd
		if c == '|' {
			f.Kind = FilterOr
		}
		for p.pos < len(p.s) && p.s[p.pos] == '(' {
			f.Children = append(f.Children, Filter{})
			if err := p.parse(&f.Children[len(f.Children)-1], depth+1); err != nil {
				return err
			}
		}
	case '!':
		p.pos++
		f.Kind = FilterNot
		f.Children = make([]Filter, 1)
		if err := p.parse(&f.Children[0], depth+1); err != nil {
			return err
		}
	default:
		if err := p.parseItem(f); err != nil {
			return err
		}
	}
	if p.pos >= len(p.s) || p.s[p.pos] != ')' {
		return p.errf("expected ')'")
	}
	p.pos++
	return nil
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ';' || c == '_'
}

func (p *filterParser) word() string {
	start := p.pos
	for p.pos < len(p.s) && isKeyChar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *filterParser) parseItem(f *Filter) error {
	attr := p.word()
	if p.pos >= len(p.s) {
		return p.errf("unexpected end of filter")
	}
	switch {
	case p.s[p.pos] == ':':
		f.Kind = FilterExtensible
		if attr != "" {
			f.Attr = []byte(attr)
		}
		if p.pos+3 <= len(p.s) && strings.EqualFold(p.s[p.pos:p.pos+3], ":dn") &&
			(p.pos+3 == len(p.s) || p.s[p.pos+3] == ':') {
			f.DNAttributes = true
			p.pos += 3
		}
		if p.pos+1 < len(p.s) && p.s[p.pos] == ':' && p.s[p.pos+1] != '=' {
			p.pos++
			rule := p.word()
			if rule == "" {
				return p.errf("bad matching rule")
			}
			f.MatchingRule = []byte(rule)
		}
		if !strings.HasPrefix(p.s[p.pos:], ":=") {
			return p.errf("expected ':='")
		}
		p.pos += 2
		v, star, err := p.value(false)
		if err != nil {
			return err
		}
		_ = star
		f.Value = v
		return nil
	case attr == "":
		return p.errf("missing attribute description")
	case strings.HasPrefix(p.s[p.pos:], ">="):
		f.Kind = FilterGreaterOrEqual
		p.pos += 2
	case strings.HasPrefix(p.s[p.pos:], "<="):
		f.Kind = FilterLessOrEqual
		p.pos += 2
	case strings.HasPrefix(p.s[p.pos:], "~="):
		f.Kind = FilterApproxMatch
		p.pos += 2
	case p.s[p.pos] == '=':
		f.Kind = FilterEqualityMatch
		p.pos++
		if strings.HasPrefix(p.s[p.pos:], "*)") {
			f.Kind = FilterPresent
			f.Attr = []byte(attr)
			p.pos++
			return nil
		}
		return p.parseEqualityOrSubstrings(f, attr)
	default:
		return p.errf("bad attribute description")
	}
	f.Attr = []byte(attr)
	v, _, err := p.value(false)
	if err != nil {
		return err
	}
	f.Value = v
	return nil
}

func (p *filterParser) parseEqualityOrSubstrings(f *Filter, attr string) error {
	f.Attr = []byte(attr)
	var parts [][]byte
	for {
		v, star, err := p.value(true)
		if err != nil {
			return err
		}
		parts = append(parts, v)
		if !star {
			break
		}
		p.pos++ // the '*'
	}
	if len(parts) == 1 {
		f.Value = parts[0]
		return nil
	}
	// substring = attr EQUAL [initial] any [final]; empty parts are absent.
	f.Kind = FilterSubstrings
	last := len(parts) - 1
	if len(parts[0]) > 0 {
		f.Initial = parts[0]
	}
	for _, a := range parts[1:last] {
		if len(a) > 0 {
			f.Any = append(f.Any, a)
		}
	}
	if len(parts[last]) > 0 {
		f.Final = parts[last]
	}
	if f.Initial == nil && f.Any == nil && f.Final == nil {
		return p.errf("substring filter without a substring")
	}
	return nil
}

// value reads an assertion value up to ')' (or, with stopAtStar, '*'),
// decoding \XX escapes. star reports that it stopped at a '*'.
func (p *filterParser) value(stopAtStar bool) (v []byte, star bool, err error) {
	v = []byte{}
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == ')':
			return v, false, nil
		case c == '*':
			if stopAtStar {
				return v, true, nil
			}
			return nil, false, p.errf("unescaped '*' in value")
		case c == '(' || c == 0:
			return nil, false, p.errf("character must be escaped")
		case c == '\\':
			if p.pos+2 >= len(p.s) {
				return nil, false, p.errf("truncated escape")
			}
			hi, ok1 := unhex(p.s[p.pos+1])
			lo, ok2 := unhex(p.s[p.pos+2])
			if !ok1 || !ok2 {
				return nil, false, p.errf("bad escape")
			}
			v = append(v, hi<<4|lo)
			p.pos += 3
		case c < utf8.RuneSelf:
			v = append(v, c)
			p.pos++
		default:
			r, n := utf8.DecodeRuneInString(p.s[p.pos:])
			if r == utf8.RuneError && n <= 1 {
				return nil, false, p.errf("invalid UTF-8")
			}
			v = append(v, p.s[p.pos:p.pos+n]...)
			p.pos += n
		}
	}
	return nil, false, p.errf("unexpected end of filter")
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DecodeFilter decodes one BER-encoded Filter (RFC 4511 section 4.5.1.7)
// that is the whole of b, as carried in control values such as the
// assertion control (RFC 4528). It applies the limits and validation of
// the request decoder (MaxFilterDepth, MaxFilterNodes). Unlike filters
// decoded with a request, the result is allocated for the caller; its byte
// slices still alias b.
func DecodeFilter(b []byte) (*Filter, error) {
	_, _, rest, err := readTLV(b)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, errTrailing
	}
	var req Request
	return req.decodeFilter(b)
}
