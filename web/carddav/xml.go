package carddav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// XML namespaces.
const (
	nsDAV     = "DAV:"
	nsCardDAV = "urn:ietf:params:xml:ns:carddav"
	nsCS      = "http://calendarserver.org/ns/"
)

// maxXMLDepth bounds the nesting of a request body; CardDAV's deepest
// (addressbook-query) needs five.
const maxXMLDepth = 32

// errBadXML is a request body this surface refuses.
type errBadXML struct{ msg string }

func (e *errBadXML) Error() string { return e.msg }

// checkXML walks a request body once before it is decoded: it refuses a
// DTD (no entity, internal or external, is ever expanded), nesting
// deeper than maxXMLDepth and more elements than maxElems.
func checkXML(body []byte, maxElems int) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	depth, elems := 0, 0
	for {
		t, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &errBadXML{"malformed XML: " + err.Error()}
		}
		switch t := t.(type) {
		case xml.Directive:
			return &errBadXML{"XML with a DTD (<!DOCTYPE ...>) is not accepted"}
		case xml.ProcInst:
			if t.Target != "xml" {
				return &errBadXML{"XML processing instructions are not accepted"}
			}
		case xml.StartElement:
			depth++
			elems++
			if depth > maxXMLDepth {
				return &errBadXML{fmt.Sprintf("XML nested deeper than %d elements", maxXMLDepth)}
			}
			if elems > maxElems {
				return &errBadXML{fmt.Sprintf("XML with more than %d elements", maxElems)}
			}
		case xml.EndElement:
			depth--
		}
	}
}

// propNames collects the names of a <prop> element's children, and the
// address-data request if there is one.
type propNames struct {
	Names       []xml.Name
	AddressData *addressDataReq
}

type addressDataReq struct {
	ContentType string `xml:"content-type,attr"`
	Version     string `xml:"version,attr"`
}

func (p *propNames) UnmarshalXML(d *xml.Decoder, _ xml.StartElement) error {
	for {
		t, err := d.Token()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			p.Names = append(p.Names, t.Name)
			if t.Name == (xml.Name{Space: nsCardDAV, Local: "address-data"}) {
				ad := &addressDataReq{}
				if err := d.DecodeElement(ad, &t); err != nil {
					return err
				}
				p.AddressData = ad
				continue
			}
			if err := d.Skip(); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

type propfindReq struct {
	XMLName  xml.Name   `xml:"DAV: propfind"`
	Prop     *propNames `xml:"DAV: prop"`
	AllProp  *struct{}  `xml:"DAV: allprop"`
	PropName *struct{}  `xml:"DAV: propname"`
}

type multigetReq struct {
	XMLName xml.Name   `xml:"urn:ietf:params:xml:ns:carddav addressbook-multiget"`
	Prop    *propNames `xml:"DAV: prop"`
	Hrefs   []string   `xml:"DAV: href"`
}

type queryReq struct {
	XMLName xml.Name    `xml:"urn:ietf:params:xml:ns:carddav addressbook-query"`
	Prop    *propNames  `xml:"DAV: prop"`
	Filter  queryFilter `xml:"urn:ietf:params:xml:ns:carddav filter"`
	Limit   *struct {
		NResults int `xml:"urn:ietf:params:xml:ns:carddav nresults"`
	} `xml:"urn:ietf:params:xml:ns:carddav limit"`
}

type queryFilter struct {
	Test        string       `xml:"test,attr"`
	PropFilters []propFilter `xml:"urn:ietf:params:xml:ns:carddav prop-filter"`
}

type propFilter struct {
	Name         string      `xml:"name,attr"`
	Test         string      `xml:"test,attr"`
	IsNotDefined *struct{}   `xml:"urn:ietf:params:xml:ns:carddav is-not-defined"`
	TextMatches  []textMatch `xml:"urn:ietf:params:xml:ns:carddav text-match"`
	ParamFilters []struct {
		Name string `xml:"name,attr"`
	} `xml:"urn:ietf:params:xml:ns:carddav param-filter"`
}

type textMatch struct {
	Collation string `xml:"collation,attr"`
	MatchType string `xml:"match-type,attr"`
	Negate    string `xml:"negate-condition,attr"`
	Text      string `xml:",chardata"`
}

type syncReq struct {
	XMLName   xml.Name   `xml:"DAV: sync-collection"`
	SyncToken string     `xml:"DAV: sync-token"`
	SyncLevel string     `xml:"DAV: sync-level"`
	Prop      *propNames `xml:"DAV: prop"`
}

// reportKind is the root element of a REPORT body.
func reportKind(body []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		t, err := d.Token()
		if err != nil {
			return xml.Name{}, &errBadXML{"REPORT body without a root element"}
		}
		if s, ok := t.(xml.StartElement); ok {
			return s.Name, nil
		}
	}
}

func decodeXML(body []byte, v any) error {
	if err := xml.Unmarshal(body, v); err != nil {
		return &errBadXML{"malformed request: " + err.Error()}
	}
	return nil
}

// A multistatus builds a 207 response body.
type multistatus struct {
	b bytes.Buffer
}

func newMultistatus() *multistatus {
	m := &multistatus{}
	m.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/">`)
	return m
}

// A prop is one property of a response: its XML (inner, already escaped)
// or, with missing set, one the resource does not have.
type prop struct {
	name    xml.Name
	inner   string
	missing bool
}

func (m *multistatus) response(href string, props []prop) {
	m.b.WriteString("<D:response><D:href>")
	xml.EscapeText(&m.b, []byte(href))
	m.b.WriteString("</D:href>")
	var ok, missing []prop
	for _, p := range props {
		if p.missing {
			missing = append(missing, p)
		} else {
			ok = append(ok, p)
		}
	}
	for _, set := range []struct {
		props  []prop
		status string
	}{{ok, "HTTP/1.1 200 OK"}, {missing, "HTTP/1.1 404 Not Found"}} {
		if len(set.props) == 0 {
			continue
		}
		m.b.WriteString("<D:propstat><D:prop>")
		for _, p := range set.props {
			m.element(p.name, p.inner)
		}
		m.b.WriteString("</D:prop><D:status>" + set.status + "</D:status></D:propstat>")
	}
	m.b.WriteString("</D:response>")
}

// status writes a response with a status and no properties.
func (m *multistatus) status(href, status string) {
	m.b.WriteString("<D:response><D:href>")
	xml.EscapeText(&m.b, []byte(href))
	m.b.WriteString("</D:href><D:status>HTTP/1.1 " + status + "</D:status></D:response>")
}

func (m *multistatus) element(n xml.Name, inner string) {
	prefix := ""
	switch n.Space {
	case nsDAV:
		prefix = "D:"
	case nsCardDAV:
		prefix = "C:"
	case nsCS:
		prefix = "CS:"
	}
	if prefix == "" {
		fmt.Fprintf(&m.b, `<X:%s xmlns:X="%s">%s</X:%s>`, n.Local, escapeAttr(n.Space), inner, n.Local)
		return
	}
	if inner == "" {
		m.b.WriteString("<" + prefix + n.Local + "/>")
		return
	}
	m.b.WriteString("<" + prefix + n.Local + ">" + inner + "</" + prefix + n.Local + ">")
}

func (m *multistatus) syncToken(tok string) {
	m.b.WriteString("<D:sync-token>" + escape(tok) + "</D:sync-token>")
}

func (m *multistatus) bytes() []byte {
	m.b.WriteString("</D:multistatus>\n")
	return m.b.Bytes()
}

// escape escapes character data; carriage returns too, so that a
// vCard's CRLF line breaks survive in address-data.
func escape(s string) string { return textEscaper.Replace(s) }

var textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")

func escapeAttr(s string) string {
	return strings.NewReplacer(`"`, "&quot;", "<", "&lt;", "&", "&amp;").Replace(s)
}

// davError is the body of an error response naming a precondition
// (RFC 4918 section 16) with a human-readable message.
func davError(space, precondition, msg string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">`)
	if precondition != "" {
		p := "D:"
		if space == nsCardDAV {
			p = "C:"
		}
		b.WriteString("<" + p + precondition + "/>")
	}
	b.WriteString("<D:responsedescription>")
	b.WriteString(escape(msg))
	b.WriteString("</D:responsedescription></D:error>\n")
	return b.Bytes()
}

var errNoBody = errors.New("no body")
