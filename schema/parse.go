package schema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Extension is an X- extension of a definition (RFC 4512 section 4.2). The
// parser keeps extensions so they can be republished; they have no effect.
type Extension struct {
	Name   string
	Values []string
}

// AttributeTypeDescription is a parsed, unresolved AttributeTypeDescription
// (RFC 4512 section 4.1.2): references to other definitions are names or
// OIDs as written.
type AttributeTypeDescription struct {
	OID                string
	Names              []string
	Desc               string
	Obsolete           bool
	Sup                string
	Equality           string
	Ordering           string
	Substr             string
	Syntax             string
	SyntaxLen          int
	SingleValue        bool
	Collective         bool
	NoUserModification bool
	Usage              Usage
	Extensions         []Extension
}

// ObjectClassDescription is a parsed, unresolved ObjectClassDescription
// (RFC 4512 section 4.1.1).
type ObjectClassDescription struct {
	OID        string
	Names      []string
	Desc       string
	Obsolete   bool
	Sup        []string
	Kind       ClassKind
	Must       []string
	May        []string
	Extensions []Extension
}

// String returns the definition in RFC 4512 form.
func (d *AttributeTypeDescription) String() string {
	var b strings.Builder
	b.WriteString("( ")
	b.WriteString(d.OID)
	writeNames(&b, d.Names)
	if d.Desc != "" {
		b.WriteString(" DESC ")
		writeQDString(&b, d.Desc)
	}
	if d.Obsolete {
		b.WriteString(" OBSOLETE")
	}
	if d.Sup != "" {
		b.WriteString(" SUP " + d.Sup)
	}
	if d.Equality != "" {
		b.WriteString(" EQUALITY " + d.Equality)
	}
	if d.Ordering != "" {
		b.WriteString(" ORDERING " + d.Ordering)
	}
	if d.Substr != "" {
		b.WriteString(" SUBSTR " + d.Substr)
	}
	if d.Syntax != "" {
		b.WriteString(" SYNTAX " + d.Syntax)
		if d.SyntaxLen > 0 {
			b.WriteString("{" + strconv.Itoa(d.SyntaxLen) + "}")
		}
	}
	if d.SingleValue {
		b.WriteString(" SINGLE-VALUE")
	}
	if d.Collective {
		b.WriteString(" COLLECTIVE")
	}
	if d.NoUserModification {
		b.WriteString(" NO-USER-MODIFICATION")
	}
	if d.Usage != UserApplications {
		b.WriteString(" USAGE " + d.Usage.String())
	}
	writeExtensions(&b, d.Extensions)
	b.WriteString(" )")
	return b.String()
}

// String returns the definition in RFC 4512 form.
func (d *ObjectClassDescription) String() string {
	var b strings.Builder
	b.WriteString("( ")
	b.WriteString(d.OID)
	writeNames(&b, d.Names)
	if d.Desc != "" {
		b.WriteString(" DESC ")
		writeQDString(&b, d.Desc)
	}
	if d.Obsolete {
		b.WriteString(" OBSOLETE")
	}
	writeOIDList(&b, "SUP", d.Sup)
	b.WriteString(" " + d.Kind.String())
	writeOIDList(&b, "MUST", d.Must)
	writeOIDList(&b, "MAY", d.May)
	writeExtensions(&b, d.Extensions)
	b.WriteString(" )")
	return b.String()
}

func writeExtensions(b *strings.Builder, exts []Extension) {
	for _, e := range exts {
		b.WriteString(" " + e.Name)
		if len(e.Values) == 1 {
			b.WriteByte(' ')
			writeQDString(b, e.Values[0])
			continue
		}
		b.WriteString(" (")
		for _, v := range e.Values {
			b.WriteByte(' ')
			writeQDString(b, v)
		}
		b.WriteString(" )")
	}
}

// token is one lexical element of a definition.
type token struct {
	kind byte // '(' ')' '$' 'q' (quoted string) 'w' (word)
	text string
}

func tokenize(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '$':
			toks = append(toks, token{kind: c})
			i++
		case c == '\'':
			j := i + 1
			for j < len(s) && s[j] != '\'' {
				j++
			}
			if j >= len(s) {
				return nil, errors.New("unterminated quoted string")
			}
			v, err := unescapeQD(s[i+1 : j])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{kind: 'q', text: v})
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()$'", rune(s[j])) {
				j++
			}
			// A noidlen like 1.2.3{64} is one word; braces never contain the
			// delimiters above.
			toks = append(toks, token{kind: 'w', text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

// unescapeQD decodes the \27 and \5C escapes of a dstring (RFC 4512
// section 4.1). Other backslashes are an error.
func unescapeQD(s string) (string, error) {
	if strings.IndexByte(s, '\\') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("bad escape in quoted string")
		}
		switch strings.ToUpper(s[i+1 : i+3]) {
		case "27":
			b.WriteByte('\'')
		case "5C":
			b.WriteByte('\\')
		default:
			return "", fmt.Errorf("bad escape %q in quoted string", s[i:i+3])
		}
		i += 2
	}
	return b.String(), nil
}

// defParser walks the tokens of one definition.
type defParser struct {
	toks []token
	pos  int
}

func (p *defParser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.pos], true
}

func (p *defParser) next() (token, bool) {
	t, ok := p.peek()
	if ok {
		p.pos++
	}
	return t, ok
}

// value reads one value or a parenthesised list of values, with optional $
// separators. Quoted and bare values are both accepted.
func (p *defParser) values(key string) ([]string, error) {
	t, ok := p.next()
	if !ok {
		return nil, fmt.Errorf("%s: missing value", key)
	}
	switch t.kind {
	case 'w', 'q':
		return []string{t.text}, nil
	case '(':
		var out []string
		for {
			t, ok := p.next()
			if !ok {
				return nil, fmt.Errorf("%s: unterminated list", key)
			}
			switch t.kind {
			case ')':
				if len(out) == 0 {
					return nil, fmt.Errorf("%s: empty list", key)
				}
				return out, nil
			case '$':
			case 'w', 'q':
				out = append(out, t.text)
			default:
				return nil, fmt.Errorf("%s: unexpected %q", key, t.kind)
			}
		}
	}
	return nil, fmt.Errorf("%s: unexpected %q", key, t.kind)
}

func (p *defParser) single(key string) (string, error) {
	v, err := p.values(key)
	if err != nil {
		return "", err
	}
	if len(v) != 1 {
		return "", fmt.Errorf("%s: expected one value", key)
	}
	return v[0], nil
}

// definition parses "( oid fields... )", calling field for each keyword.
func parseDefinition(s string, field func(p *defParser, key string) error) (string, error) {
	toks, err := tokenize(s)
	if err != nil {
		return "", err
	}
	p := &defParser{toks: toks}
	if t, ok := p.next(); !ok || t.kind != '(' {
		return "", errors.New("definition must start with (")
	}
	t, ok := p.next()
	if !ok || t.kind != 'w' {
		return "", errors.New("missing OID")
	}
	oid := t.text
	seen := map[string]bool{}
	for {
		t, ok := p.next()
		if !ok {
			return "", errors.New("definition must end with )")
		}
		if t.kind == ')' {
			if p.pos != len(p.toks) {
				return "", errors.New("text after closing )")
			}
			return oid, nil
		}
		if t.kind != 'w' {
			return "", fmt.Errorf("expected keyword, found %q", t.kind)
		}
		key := strings.ToUpper(t.text)
		if !strings.HasPrefix(key, "X-") {
			if seen[key] {
				return "", fmt.Errorf("%s given twice", t.text)
			}
			seen[key] = true
		}
		if err := field(p, key); err != nil {
			return "", err
		}
	}
}

func parseExtension(p *defParser, key string, exts *[]Extension) error {
	if !strings.HasPrefix(key, "X-") || len(key) < 3 {
		return fmt.Errorf("unknown keyword %s", key)
	}
	v, err := p.values(key)
	if err != nil {
		return err
	}
	*exts = append(*exts, Extension{Name: key, Values: v})
	return nil
}

// ParseAttributeType parses an RFC 4512 section 4.1.2
// AttributeTypeDescription. The OID must be a numeric OID.
func ParseAttributeType(s string) (*AttributeTypeDescription, error) {
	d, err := parseAttributeType(s)
	if err != nil {
		return nil, err
	}
	if !isNumericOID(d.OID) {
		return nil, fmt.Errorf("attribute type: invalid OID %q", d.OID)
	}
	return d, nil
}

// parseAttributeType parses without checking the OID form, so that the
// file loader can expand objectidentifier macros afterwards.
func parseAttributeType(s string) (*AttributeTypeDescription, error) {
	d := &AttributeTypeDescription{}
	oid, err := parseDefinition(s, func(p *defParser, key string) error {
		var err error
		switch key {
		case "NAME":
			d.Names, err = p.values(key)
			if err == nil {
				err = checkDescrs(d.Names)
			}
		case "DESC":
			d.Desc, err = p.single(key)
		case "OBSOLETE":
			d.Obsolete = true
		case "SUP":
			d.Sup, err = p.single(key)
		case "EQUALITY":
			d.Equality, err = p.single(key)
		case "ORDERING":
			d.Ordering, err = p.single(key)
		case "SUBSTR":
			d.Substr, err = p.single(key)
		case "SYNTAX":
			var v string
			v, err = p.single(key)
			if err == nil {
				d.Syntax, d.SyntaxLen, err = splitNoidlen(v)
			}
		case "SINGLE-VALUE":
			d.SingleValue = true
		case "COLLECTIVE":
			d.Collective = true
		case "NO-USER-MODIFICATION":
			d.NoUserModification = true
		case "USAGE":
			var v string
			v, err = p.single(key)
			if err == nil {
				d.Usage, err = parseUsage(v)
			}
		default:
			err = parseExtension(p, key, &d.Extensions)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attribute type: %w", err)
	}
	d.OID = oid
	if d.Sup == "" && d.Syntax == "" {
		return nil, fmt.Errorf("attribute type %s: needs SUP or SYNTAX", oid)
	}
	return d, nil
}

// ParseObjectClass parses an RFC 4512 section 4.1.1 ObjectClassDescription.
// The OID must be a numeric OID.
func ParseObjectClass(s string) (*ObjectClassDescription, error) {
	d, err := parseObjectClass(s)
	if err != nil {
		return nil, err
	}
	if !isNumericOID(d.OID) {
		return nil, fmt.Errorf("object class: invalid OID %q", d.OID)
	}
	return d, nil
}

func parseObjectClass(s string) (*ObjectClassDescription, error) {
	d := &ObjectClassDescription{}
	kinds := 0
	oid, err := parseDefinition(s, func(p *defParser, key string) error {
		var err error
		switch key {
		case "NAME":
			d.Names, err = p.values(key)
			if err == nil {
				err = checkDescrs(d.Names)
			}
		case "DESC":
			d.Desc, err = p.single(key)
		case "OBSOLETE":
			d.Obsolete = true
		case "SUP":
			d.Sup, err = p.values(key)
		case "ABSTRACT":
			d.Kind = Abstract
			kinds++
		case "STRUCTURAL":
			d.Kind = Structural
			kinds++
		case "AUXILIARY":
			d.Kind = Auxiliary
			kinds++
		case "MUST":
			d.Must, err = p.values(key)
		case "MAY":
			d.May, err = p.values(key)
		default:
			err = parseExtension(p, key, &d.Extensions)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("object class: %w", err)
	}
	if kinds > 1 {
		return nil, fmt.Errorf("object class %s: more than one kind", oid)
	}
	d.OID = oid
	return d, nil
}

func parseUsage(v string) (Usage, error) {
	for i, n := range usageNames {
		if strings.EqualFold(n, v) {
			return Usage(i), nil
		}
	}
	return 0, fmt.Errorf("unknown USAGE %q", v)
}

// splitNoidlen splits "1.2.3{64}" into the OID and the length bound.
func splitNoidlen(v string) (string, int, error) {
	i := strings.IndexByte(v, '{')
	if i < 0 {
		return v, 0, nil
	}
	if !strings.HasSuffix(v, "}") || i == 0 {
		return "", 0, fmt.Errorf("bad SYNTAX %q", v)
	}
	n, err := strconv.Atoi(v[i+1 : len(v)-1])
	if err != nil || n <= 0 {
		return "", 0, fmt.Errorf("bad SYNTAX length in %q", v)
	}
	return v[:i], n, nil
}

func checkDescrs(names []string) error {
	for _, n := range names {
		if !isDescr(n) {
			return fmt.Errorf("invalid name %q", n)
		}
	}
	return nil
}

// isDescr reports whether s is a descr: keystring = leadkeychar *keychar
// (RFC 4512 section 1.4). Underscores are tolerated, as many deployed
// schemas contain them.
func isDescr(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// isNumericOID reports whether s is a numericoid (RFC 4512 section 1.4):
// number *( DOT number ), number without leading zeros.
func isNumericOID(s string) bool {
	if s == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			n := s[start:i]
			if n == "" || (len(n) > 1 && n[0] == '0') {
				return false
			}
			start = i + 1
			continue
		}
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
