package schema

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// ParseSchemaFile parses the definitions of a schema file, in one of two
// formats, chosen by content (LDIF when the first statement is "dn:" or
// "version:"):
//
//   - OpenLDAP .schema: "attributetype", "objectclass" and
//     "objectidentifier" statements; '#' comment lines; a line that starts
//     with white space continues the previous one, as does any line while
//     the parentheses of a definition are unbalanced. objectidentifier
//     macros (NAME OID, NAME OTHER:suffix) may be used in the OIDs of
//     definitions and in SYNTAX. Other statements are an error.
//   - LDIF: every entry's olcAttributeTypes / attributeTypes,
//     olcObjectClasses / objectClasses and olcObjectIdentifier values, with
//     "{N}" ordering prefixes stripped; base64 (::) values and folded lines
//     are supported. Other attributes are ignored.
func ParseSchemaFile(data []byte) ([]*AttributeTypeDescription, []*ObjectClassDescription, error) {
	stmts, err := schemaStatements(data)
	if err != nil {
		return nil, nil, err
	}
	macros := map[string]string{}
	var ats []*AttributeTypeDescription
	var ocs []*ObjectClassDescription
	for _, st := range stmts {
		switch st.kind {
		case "objectidentifier":
			f := strings.Fields(st.text)
			if len(f) != 2 || !isDescr(f[0]) {
				return nil, nil, fmt.Errorf("line %d: objectidentifier needs a name and an OID", st.line)
			}
			oid, err := expandOID(f[1], macros)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", st.line, err)
			}
			macros[strings.ToLower(f[0])] = oid
		case "attributetype":
			d, err := parseAttributeType(st.text)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", st.line, err)
			}
			if d.OID, err = expandOID(d.OID, macros); err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", st.line, err)
			}
			if d.Syntax != "" {
				if d.Syntax, err = expandOID(d.Syntax, macros); err != nil {
					return nil, nil, fmt.Errorf("line %d: %w", st.line, err)
				}
			}
			ats = append(ats, d)
		case "objectclass":
			d, err := parseObjectClass(st.text)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", st.line, err)
			}
			if d.OID, err = expandOID(d.OID, macros); err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", st.line, err)
			}
			ocs = append(ocs, d)
		}
	}
	return ats, ocs, nil
}

// expandOID resolves an objectidentifier macro reference: "NAME" or
// "NAME:suffix". A numeric OID is returned as is.
func expandOID(s string, macros map[string]string) (string, error) {
	if isNumericOID(s) {
		return s, nil
	}
	name, suffix, hasSuffix := strings.Cut(s, ":")
	base, ok := macros[strings.ToLower(name)]
	if !ok {
		return "", fmt.Errorf("invalid OID or unknown macro %q", s)
	}
	if hasSuffix {
		base += "." + suffix
	}
	if !isNumericOID(base) {
		return "", fmt.Errorf("macro %q expands to invalid OID %q", s, base)
	}
	return base, nil
}

type statement struct {
	kind string // attributetype, objectclass, objectidentifier
	text string
	line int
}

func isLDIF(data []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		ll := strings.ToLower(l)
		return strings.HasPrefix(ll, "dn:") || strings.HasPrefix(ll, "version:")
	}
	return false
}

func schemaStatements(data []byte) ([]statement, error) {
	if isLDIF(data) {
		return ldifStatements(data)
	}
	return dotSchemaStatements(data)
}

func splitLines(data []byte) []string {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return strings.Split(s, "\n")
}

func parenDepth(s string) int {
	depth := 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			inQuote = !inQuote
		case '(':
			if !inQuote {
				depth++
			}
		case ')':
			if !inQuote {
				depth--
			}
		}
	}
	return depth
}

func dotSchemaStatements(data []byte) ([]statement, error) {
	var out []statement
	var cur *statement
	var buf strings.Builder
	flush := func() error {
		if cur == nil {
			return nil
		}
		text := strings.TrimSpace(buf.String())
		kw, rest := text, ""
		if i := strings.IndexAny(text, " \t("); i >= 0 {
			kw, rest = text[:i], text[i:]
		}
		switch strings.ToLower(kw) {
		case "attributetype", "attributetypes":
			cur.kind = "attributetype"
		case "objectclass", "objectclasses":
			cur.kind = "objectclass"
		case "objectidentifier":
			cur.kind = "objectidentifier"
		default:
			return fmt.Errorf("line %d: unknown statement %q", cur.line, kw)
		}
		cur.text = strings.TrimSpace(rest)
		out = append(out, *cur)
		cur = nil
		buf.Reset()
		return nil
	}
	for i, line := range splitLines(data) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		continuation := line[0] == ' ' || line[0] == '\t'
		if cur != nil && (continuation || parenDepth(buf.String()) > 0) {
			buf.WriteByte(' ')
			buf.WriteString(trimmed)
			continue
		}
		if continuation && cur == nil {
			return nil, fmt.Errorf("line %d: continuation line without a statement", i+1)
		}
		if err := flush(); err != nil {
			return nil, err
		}
		cur = &statement{line: i + 1}
		buf.WriteString(trimmed)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// stripOrdering removes an OpenLDAP "{N}" ordering prefix.
func stripOrdering(v string) string {
	v = strings.TrimLeft(v, " ")
	if len(v) > 0 && v[0] == '{' {
		if j := strings.IndexByte(v, '}'); j > 0 {
			ok := true
			for _, c := range v[1:j] {
				if c < '0' || c > '9' {
					ok = false
				}
			}
			if ok {
				return strings.TrimLeft(v[j+1:], " ")
			}
		}
	}
	return v
}

func ldifStatements(data []byte) ([]statement, error) {
	// Unfold: a line starting with one space continues the previous line.
	type logical struct {
		text string
		line int
	}
	var lines []logical
	for i, l := range splitLines(data) {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, " ") && len(lines) > 0 && lines[len(lines)-1].text != "" {
			lines[len(lines)-1].text += l[1:]
			continue
		}
		lines = append(lines, logical{l, i + 1})
	}
	var out []statement
	for _, l := range lines {
		if strings.TrimSpace(l.text) == "" {
			continue
		}
		attr, val, ok := strings.Cut(l.text, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: expected attribute: value", l.line)
		}
		if strings.HasPrefix(val, ":") {
			dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val[1:]))
			if err != nil {
				return nil, fmt.Errorf("line %d: bad base64: %w", l.line, err)
			}
			val = string(dec)
		} else if strings.HasPrefix(val, "<") {
			continue // URL values are not followed
		}
		base, _ := SplitOptions(strings.TrimSpace(attr))
		var kind string
		switch strings.ToLower(base) {
		case "olcattributetypes", "attributetypes":
			kind = "attributetype"
		case "olcobjectclasses", "objectclasses":
			kind = "objectclass"
		case "olcobjectidentifier":
			kind = "objectidentifier"
		default:
			continue
		}
		out = append(out, statement{kind: kind, text: stripOrdering(strings.TrimSpace(val)), line: l.line})
	}
	return out, nil
}
