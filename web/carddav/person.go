package carddav

import (
	"encoding/base64"
	"strings"
)

// Attrs are an entry's attributes by lower-case type name, values as
// LDAP sends them (jpegPhoto as raw JPEG bytes).
type Attrs map[string][]string

func (a Attrs) first(name string) string {
	if v := a[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// PersonAttrs are the attributes PersonCard reads, to request in a
// search.
var PersonAttrs = []string{"entryUUID", "cn", "sn", "givenName", "displayName", "initials", "mail",
	"telephoneNumber", "mobile", "homePhone", "facsimileTelephoneNumber", "pager",
	"o", "ou", "title", "employeeType", "street", "l", "st", "postalCode", "postOfficeBox",
	"postalAddress", "homePostalAddress", "jpegPhoto", "labeledURI", "description",
	"businessCategory", "uid", "modifyTimestamp"}

// telTypes maps the telephone attributes to vCard TEL types.
var telTypes = []struct{ attr, typ string }{
	{"telephonenumber", "work,voice"},
	{"mobile", "cell"},
	{"homephone", "home,voice"},
	{"facsimiletelephonenumber", "fax"},
	{"pager", "pager"},
}

// PersonCard renders an inetOrgPerson entry as a vCard of the given
// version, with UID from its entryUUID. International text is written
// as it is stored (UTF-8).
func PersonCard(a Attrs, version string) *Card {
	c := &Card{}
	add := func(name, value string, params ...Param) {
		c.Props = append(c.Props, Prop{Name: name, Params: params, Value: value})
	}
	typ := func(t string) Param {
		if version == Version3 {
			return Param{Name: "TYPE", Values: strings.Split(strings.ToUpper(t), ",")}
		}
		return Param{Name: "TYPE", Values: []string{t}}
	}
	add("VERSION", version)
	if version == Version4 {
		add("KIND", "individual")
	}
	uid := a.first("entryuuid")
	if version == Version4 {
		add("UID", "urn:uuid:"+uid)
	} else {
		add("UID", uid)
	}
	fn := a.first("displayname")
	if fn == "" {
		fn = a.first("cn")
	}
	add("FN", Escape(fn))
	add("N", strings.Join([]string{Escape(a.first("sn")), Escape(a.first("givenname")), "", "", ""}, ";"))
	for _, m := range a["mail"] {
		add("EMAIL", Escape(m), typ("work"))
	}
	for _, t := range telTypes {
		for _, v := range a[t.attr] {
			add("TEL", Escape(v), typ(t.typ))
		}
	}
	if o := a.first("o"); o != "" || len(a["ou"]) > 0 {
		parts := []string{Escape(o)}
		for _, ou := range a["ou"] {
			parts = append(parts, Escape(ou))
		}
		add("ORG", strings.Join(parts, ";"))
	}
	if t := a.first("title"); t != "" {
		add("TITLE", Escape(t))
	}
	if r := a.first("employeetype"); r != "" {
		add("ROLE", Escape(r))
	}
	if hasAny(a, "street", "l", "st", "postalcode", "postofficebox") {
		// ADR: post office box; extended; street; locality; region;
		// postal code; country.
		parts := []string{Escape(a.first("postofficebox")), "", Escape(a.first("street")),
			Escape(a.first("l")), Escape(a.first("st")), Escape(a.first("postalcode")), ""}
		var params []Param
		params = append(params, typ("work"))
		if pa := a.first("postaladdress"); pa != "" && version == Version4 {
			params = append(params, Param{Name: "LABEL", Values: []string{postalLines(pa)}})
		}
		add("ADR", strings.Join(parts, ";"), params...)
	} else if pa := a.first("postaladdress"); pa != "" {
		add("ADR", ";;"+Escape(postalLines(pa))+";;;;", typ("work"))
	}
	if ha := a.first("homepostaladdress"); ha != "" {
		add("ADR", ";;"+Escape(postalLines(ha))+";;;;", typ("home"))
	}
	if p := a.first("jpegphoto"); p != "" {
		b64 := base64.StdEncoding.EncodeToString([]byte(p))
		if version == Version3 {
			add("PHOTO", b64, Param{Name: "ENCODING", Values: []string{"b"}}, Param{Name: "TYPE", Values: []string{"JPEG"}})
		} else {
			add("PHOTO", "data:image/jpeg;base64,"+b64)
		}
	}
	for _, u := range a["labeleduri"] {
		u, _, _ = strings.Cut(u, " ")
		if u != "" {
			add("URL", u)
		}
	}
	if d := a.first("description"); d != "" {
		add("NOTE", Escape(d))
	}
	if cats := a["businesscategory"]; len(cats) > 0 {
		esc := make([]string, len(cats))
		for i, v := range cats {
			esc[i] = Escape(v)
		}
		add("CATEGORIES", strings.Join(esc, ","))
	}
	if ts := a.first("modifytimestamp"); len(ts) >= 14 {
		// GeneralizedTime YYYYMMDDHHMMSSZ to the basic ISO 8601 form.
		add("REV", ts[:8]+"T"+ts[8:14]+"Z")
	}
	return c
}

func hasAny(a Attrs, names ...string) bool {
	for _, n := range names {
		if len(a[n]) > 0 {
			return true
		}
	}
	return false
}

// postalLines turns the Postal Address syntax's "$" line separators into
// newlines (and its \24 and \5C escapes back into $ and \).
func postalLines(s string) string {
	lines := strings.Split(s, "$")
	for i, l := range lines {
		l = strings.ReplaceAll(l, `\24`, "$")
		l = strings.ReplaceAll(l, `\5C`, `\`)
		l = strings.ReplaceAll(l, `\5c`, `\`)
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, "\n")
}

// CardAttrs maps a vCard the other way, to the inetOrgPerson attributes
// it gives values for: what a personal card's entry carries so that it
// can be found by LDAP searches, and what an import would store.
// Properties without an attribute are left out (a personal card keeps
// them in its stored text).
func CardAttrs(c *Card) Attrs {
	a := Attrs{}
	put := func(name, v string) {
		if v = strings.TrimSpace(v); v != "" {
			a[name] = append(a[name], v)
		}
	}
	if fn := c.Get("FN"); fn != nil {
		put("cn", fn.Text())
	}
	if n := c.Get("N"); n != nil {
		parts := n.Components()
		put("sn", parts[0])
		if len(parts) > 1 {
			put("givenname", parts[1])
		}
		if len(a["cn"]) == 0 && len(parts) > 1 {
			put("cn", strings.TrimSpace(parts[1]+" "+parts[0]))
		}
	}
	for _, e := range c.All("EMAIL") {
		put("mail", e.Text())
	}
	for _, t := range c.All("TEL") {
		v := strings.TrimPrefix(t.Text(), "tel:")
		switch {
		case t.HasType("cell"):
			put("mobile", v)
		case t.HasType("fax"):
			put("facsimiletelephonenumber", v)
		case t.HasType("pager"):
			put("pager", v)
		case t.HasType("home"):
			put("homephone", v)
		default:
			put("telephonenumber", v)
		}
	}
	if o := c.Get("ORG"); o != nil {
		parts := o.Components()
		put("o", parts[0])
		for _, ou := range parts[1:] {
			put("ou", ou)
		}
	}
	if t := c.Get("TITLE"); t != nil {
		put("title", t.Text())
	}
	if r := c.Get("ROLE"); r != nil {
		put("employeetype", r.Text())
	}
	for _, adr := range c.All("ADR") {
		parts := adr.Components()
		for len(parts) < 7 {
			parts = append(parts, "")
		}
		if adr.HasType("home") {
			put("homepostaladdress", postalSyntax(parts))
			continue
		}
		if len(a["street"]) > 0 {
			continue
		}
		put("postofficebox", parts[0])
		put("street", parts[2])
		put("l", parts[3])
		put("st", parts[4])
		put("postalcode", parts[5])
	}
	if p := c.Get("PHOTO"); p != nil {
		if b, ok := photoBytes(p); ok {
			a["jpegphoto"] = []string{string(b)}
		}
	}
	for _, u := range c.All("URL") {
		put("labeleduri", u.Text())
	}
	if n := c.Get("NOTE"); n != nil {
		put("description", n.Text())
	}
	for _, cat := range c.All("CATEGORIES") {
		for _, v := range cat.List() {
			put("businesscategory", v)
		}
	}
	return a
}

// postalSyntax joins ADR components as a Postal Address value.
func postalSyntax(parts []string) string {
	var lines []string
	for _, p := range parts {
		for _, l := range strings.Split(p, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				l = strings.ReplaceAll(l, `\`, `\5C`)
				lines = append(lines, strings.ReplaceAll(l, "$", `\24`))
			}
		}
	}
	return strings.Join(lines, "$")
}

// photoBytes decodes an inline PHOTO (3.0 ENCODING=b, 4.0 data: URI).
func photoBytes(p *Prop) ([]byte, bool) {
	v := p.Value
	if rest, ok := strings.CutPrefix(v, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return nil, false
		}
		v = data
	} else {
		enc := p.Param("ENCODING")
		if len(enc) == 0 || !strings.EqualFold(enc[0], "b") && !strings.EqualFold(enc[0], "base64") {
			return nil, false
		}
	}
	b, err := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, v))
	return b, err == nil
}
