package carddav

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A Card is one vCard (RFC 6350 for 4.0, RFC 2426 for 3.0): its
// properties in the order they came, BEGIN and END excepted.
type Card struct {
	Props []Prop
}

// A Prop is one content line. Value is as written (unfolded, escapes
// kept): properties this package does not map pass through untouched.
type Prop struct {
	Group  string // the "group." prefix, "" for none
	Name   string // upper case
	Params []Param
	Value  string
}

// A Param is one property parameter; quoted values are unquoted.
type Param struct {
	Name   string // upper case
	Values []string
}

// Versions this package reads and writes.
const (
	Version3 = "3.0"
	Version4 = "4.0"
)

// ParseError is a vCard that does not parse, with the line at fault.
type ParseError struct {
	Line int // 1-based, after unfolding; 0 for the whole card
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return "vcard: " + e.Msg
	}
	return fmt.Sprintf("vcard: line %d: %s", e.Line, e.Msg)
}

// maxLines bounds the content lines of one card, so that a card of many
// empty properties costs no more than its size says.
const maxLines = 10000

// Parse reads exactly one vCard 3.0 or 4.0 from data, which must be
// UTF-8. Line breaks may be CRLF or LF; folded lines are unfolded.
func Parse(data []byte) (*Card, error) {
	if !utf8.Valid(data) {
		return nil, &ParseError{Msg: "not UTF-8"}
	}
	lines := unfold(data)
	if len(lines) > maxLines {
		return nil, &ParseError{Msg: fmt.Sprintf("more than %d lines", maxLines)}
	}
	c := &Card{}
	state := 0 // 0 before BEGIN, 1 inside, 2 after END
	for i, l := range lines {
		n := i + 1
		if l == "" {
			continue
		}
		if state == 2 {
			return nil, &ParseError{n, "content after END:VCARD (one card per resource)"}
		}
		p, err := parseLine(l)
		if err != nil {
			return nil, &ParseError{n, err.Error()}
		}
		switch {
		case p.Name == "BEGIN":
			if state != 0 || !strings.EqualFold(p.Value, "VCARD") {
				return nil, &ParseError{n, "unexpected BEGIN:" + p.Value}
			}
			state = 1
		case state == 0:
			return nil, &ParseError{n, "expected BEGIN:VCARD"}
		case p.Name == "END":
			if !strings.EqualFold(p.Value, "VCARD") {
				return nil, &ParseError{n, "unexpected END:" + p.Value}
			}
			state = 2
		default:
			c.Props = append(c.Props, p)
		}
	}
	if state != 2 {
		return nil, &ParseError{Msg: "missing BEGIN:VCARD or END:VCARD"}
	}
	switch v := c.Value("VERSION"); v {
	case Version3, Version4:
	case "":
		return nil, &ParseError{Msg: "missing VERSION"}
	default:
		return nil, &ParseError{Msg: "unsupported VERSION " + v + " (3.0 and 4.0 are)"}
	}
	return c, nil
}

// unfold splits data into logical lines: a line break followed by a
// space or tab continues the previous line.
func unfold(data []byte) []string {
	var out []string
	var cur strings.Builder
	started := false
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		l = bytes.TrimSuffix(l, []byte{'\r'})
		if started && len(l) > 0 && (l[0] == ' ' || l[0] == '\t') {
			cur.Write(l[1:])
			continue
		}
		if started {
			out = append(out, cur.String())
			cur.Reset()
		}
		cur.Write(l)
		started = true
	}
	if started {
		out = append(out, cur.String())
	}
	return out
}

func isNameChar(c byte) bool {
	return c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// parseLine parses one unfolded content line:
// [group "."] name *(";" param) ":" value.
func parseLine(l string) (Prop, error) {
	var p Prop
	i := 0
	for i < len(l) && isNameChar(l[i]) {
		i++
	}
	if i == 0 {
		return p, errors.New("expected a property name")
	}
	p.Name = strings.ToUpper(l[:i])
	if i < len(l) && l[i] == '.' {
		p.Group = l[:i]
		j := i + 1
		i = j
		for i < len(l) && isNameChar(l[i]) {
			i++
		}
		if i == j {
			return p, errors.New("expected a property name after the group")
		}
		p.Name = strings.ToUpper(l[j:i])
	}
	for i < len(l) && l[i] == ';' {
		i++
		j := i
		for i < len(l) && isNameChar(l[i]) {
			i++
		}
		if i == j {
			return p, errors.New("expected a parameter name")
		}
		prm := Param{Name: strings.ToUpper(l[j:i])}
		if i >= len(l) || l[i] != '=' {
			// vCard 2.1 style bare type ("TEL;CELL:"), still seen from
			// old clients: a TYPE value.
			prm.Values = []string{prm.Name}
			prm.Name = "TYPE"
			p.Params = append(p.Params, prm)
			continue
		}
		i++
		for {
			var v string
			if i < len(l) && l[i] == '"' {
				k := strings.IndexByte(l[i+1:], '"')
				if k < 0 {
					return p, errors.New("unterminated quoted parameter value")
				}
				v = l[i+1 : i+1+k]
				i += k + 2
			} else {
				j := i
				for i < len(l) && l[i] != ';' && l[i] != ':' && l[i] != ',' && l[i] != '"' {
					i++
				}
				v = l[j:i]
			}
			prm.Values = append(prm.Values, v)
			if i < len(l) && l[i] == ',' {
				i++
				continue
			}
			break
		}
		p.Params = append(p.Params, prm)
	}
	if i >= len(l) || l[i] != ':' {
		return p, errors.New("expected ':' after the property name and parameters")
	}
	p.Value = l[i+1:]
	return p, nil
}

// Encode writes the card with CRLF line breaks, folding lines longer
// than 75 octets without splitting a UTF-8 sequence.
func (c *Card) Encode() []byte {
	var b bytes.Buffer
	b.WriteString("BEGIN:VCARD\r\n")
	for _, p := range c.Props {
		writeFolded(&b, p.line())
	}
	b.WriteString("END:VCARD\r\n")
	return b.Bytes()
}

func (p Prop) line() string {
	var b strings.Builder
	if p.Group != "" {
		b.WriteString(p.Group)
		b.WriteByte('.')
	}
	b.WriteString(p.Name)
	for _, prm := range p.Params {
		b.WriteByte(';')
		b.WriteString(prm.Name)
		b.WriteByte('=')
		for i, v := range prm.Values {
			if i > 0 {
				b.WriteByte(',')
			}
			if strings.ContainsAny(v, ";:,") {
				b.WriteByte('"')
				b.WriteString(strings.ReplaceAll(v, `"`, "'"))
				b.WriteByte('"')
			} else {
				b.WriteString(v)
			}
		}
	}
	b.WriteByte(':')
	b.WriteString(p.Value)
	return b.String()
}

func writeFolded(b *bytes.Buffer, l string) {
	const width = 75
	first := true
	for len(l) > 0 {
		w := width
		if !first {
			w-- // the leading space counts
			b.WriteByte(' ')
		}
		if len(l) <= w {
			b.WriteString(l)
			break
		}
		cut := w
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		b.WriteString(l[:cut])
		b.WriteString("\r\n")
		l = l[cut:]
		first = false
	}
	b.WriteString("\r\n")
}

// Get returns the first property named name (upper case), or nil.
func (c *Card) Get(name string) *Prop {
	for i := range c.Props {
		if c.Props[i].Name == name {
			return &c.Props[i]
		}
	}
	return nil
}

// All returns every property named name.
func (c *Card) All(name string) []*Prop {
	var out []*Prop
	for i := range c.Props {
		if c.Props[i].Name == name {
			out = append(out, &c.Props[i])
		}
	}
	return out
}

// Value returns the raw value of the first property named name.
func (c *Card) Value(name string) string {
	if p := c.Get(name); p != nil {
		return p.Value
	}
	return ""
}

// Version is the card's VERSION.
func (c *Card) Version() string { return c.Value("VERSION") }

// Param returns the values of the parameter named name.
func (p *Prop) Param(name string) []string {
	var out []string
	for _, prm := range p.Params {
		if prm.Name == name {
			out = append(out, prm.Values...)
		}
	}
	return out
}

// HasType reports whether the property has TYPE t (case-insensitive),
// TYPE values given comma-separated or as one string with commas.
func (p *Prop) HasType(t string) bool {
	for _, v := range p.Param("TYPE") {
		for _, s := range strings.Split(v, ",") {
			if strings.EqualFold(s, t) {
				return true
			}
		}
	}
	return false
}

// Text is the property's value unescaped as one text value.
func (p *Prop) Text() string { return Unescape(p.Value) }

// Components splits a structured value (N, ADR, ORG) at unescaped
// semicolons and unescapes each component.
func (p *Prop) Components() []string {
	parts := splitUnescaped(p.Value, ';')
	for i := range parts {
		parts[i] = Unescape(parts[i])
	}
	return parts
}

// List splits a list value (CATEGORIES, NICKNAME) at unescaped commas.
func (p *Prop) List() []string {
	parts := splitUnescaped(p.Value, ',')
	for i := range parts {
		parts[i] = Unescape(parts[i])
	}
	return parts
}

func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Escape escapes a text value: backslash, comma, semicolon, newline.
func Escape(s string) string {
	if !strings.ContainsAny(s, "\\,;\n\r") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', ',', ';':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Unescape undoes Escape; an unknown escape keeps its character.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
