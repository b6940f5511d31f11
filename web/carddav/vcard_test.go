package carddav

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	in := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:Jöns \\, Jr.\r\n" +
		"item1.EMAIL;TYPE=\"work,pref\";PREF=1:j@example.com\r\nX-UNKNOWN;X-P=a:keep me\\; please\r\n" +
		"NOTE:" + strings.Repeat("ä", 60) + "\r\nEND:VCARD\r\n"
	c, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Get("FN").Text(); got != "Jöns , Jr." {
		t.Errorf("FN = %q", got)
	}
	e := c.Get("EMAIL")
	if e.Group != "item1" || !e.HasType("pref") || !e.HasType("WORK") {
		t.Errorf("EMAIL = %+v", e)
	}
	out := c.Encode()
	for _, l := range bytes.Split(out, []byte("\r\n")) {
		if len(l) > 75 {
			t.Errorf("line longer than 75 octets: %q", l)
		}
	}
	c2, err := Parse(out)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("round trip changed the card:\n%+v\n%+v", c, c2)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "missing BEGIN"},
		{"no begin", "VERSION:4.0\r\n", "expected BEGIN"},
		{"no end", "BEGIN:VCARD\r\nVERSION:4.0\r\n", "missing BEGIN:VCARD or END"},
		{"no version", "BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n", "missing VERSION"},
		{"2.1", "BEGIN:VCARD\r\nVERSION:2.1\r\nEND:VCARD\r\n", "unsupported VERSION"},
		{"two cards", "BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\nBEGIN:VCARD\r\n", "after END"},
		{"nested", "BEGIN:VCARD\r\nBEGIN:VCARD\r\n", "unexpected BEGIN"},
		{"no colon", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN\r\nEND:VCARD\r\n", "expected ':'"},
		{"bad quote", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN;X=\"a:b\r\nEND:VCARD\r\n", "unterminated"},
		{"not utf8", "BEGIN:VCARD\r\nFN:\xff\r\n", "UTF-8"},
		{"bad name", "BEGIN:VCARD\r\n:x\r\n", "property name"},
	} {
		_, err := Parse([]byte(tc.in))
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestUnfoldLF(t *testing.T) {
	c, err := Parse([]byte("BEGIN:VCARD\nVERSION:3.0\nFN:Ab\n cd\n\tef\nEND:VCARD"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Value("FN"); got != "Abcdef" {
		t.Errorf("FN = %q", got)
	}
}

func TestEscape(t *testing.T) {
	for _, s := range []string{"", "plain", `a\b`, "a,b;c", "line1\nline2", "ünï"} {
		if got := Unescape(Escape(s)); got != s {
			t.Errorf("Unescape(Escape(%q)) = %q", s, got)
		}
	}
	if got := Escape("a\r\nb"); got != `a\nb` {
		t.Errorf("Escape CRLF = %q", got)
	}
}

func person() Attrs {
	return Attrs{
		"entryuuid": {"6f1c0d2a-1111-2222-3333-444455556666"}, "cn": {"Zoë Ångström"}, "sn": {"Ångström"},
		"givenname": {"Zoë"}, "mail": {"zoe@example.com", "z@example.org"}, "telephonenumber": {"+1 555 0100"},
		"mobile": {"+1 555 0101"}, "homephone": {"+1 555 0102"}, "facsimiletelephonenumber": {"+1 555 0103"},
		"o": {"Example, Inc."}, "ou": {"R&D"}, "title": {"Engineer"}, "employeetype": {"Lead"},
		"street": {"1 Main St"}, "l": {"Springfield"}, "st": {"IL"}, "postalcode": {"62701"},
		"homepostaladdress": {"2 Elm St$Springfield"}, "jpegphoto": {"\xff\xd8\xff\xe0JFIF"},
		"labeleduri": {"https://example.com/zoe My page"}, "description": {"note; with, specials\nand a line"},
		"businesscategory": {"Sales", "Ops"}, "modifytimestamp": {"20260102030405Z"},
	}
}

func TestPersonCard(t *testing.T) {
	for _, v := range []string{Version3, Version4} {
		c := PersonCard(person(), v)
		out := string(c.Encode())
		wants := map[string][]string{
			Version3: {"UID:6f1c0d2a-1111-2222-3333-444455556666", "TEL;TYPE=WORK,VOICE:+1 555 0100",
				"TEL;TYPE=CELL:+1 555 0101", "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4EpGSUY=", "EMAIL;TYPE=WORK:zoe@example.com"},
			Version4: {"UID:urn:uuid:6f1c0d2a-1111-2222-3333-444455556666", "TEL;TYPE=\"work,voice\":+1 555 0100",
				"TEL;TYPE=cell:+1 555 0101", "PHOTO:data:image/jpeg;base64,/9j/4EpGSUY=", "KIND:individual"},
		}[v]
		wants = append(wants, "VERSION:"+v, "FN:Zoë Ångström", "N:Ångström;Zoë;;;", `ORG:Example\, Inc.;R&D`,
			"TITLE:Engineer", "ROLE:Lead", "ADR;TYPE=", ";;1 Main St;Springfield;IL;62701;", "URL:https://example.com/zoe",
			`NOTE:note\; with\, specials\nand a line`, "CATEGORIES:Sales,Ops", "REV:20260102T030405Z", ":;;2 Elm St\\nSpringfield;;;;")
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s: card lacks %q:\n%s", v, w, out)
			}
		}
		back, err := Parse([]byte(out))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		a := CardAttrs(back)
		p := person()
		for _, name := range []string{"cn", "sn", "givenname", "mail", "telephonenumber", "mobile", "homephone",
			"facsimiletelephonenumber", "o", "ou", "title", "employeetype", "street", "l", "st", "postalcode",
			"homepostaladdress", "jpegphoto", "description", "businesscategory"} {
			if !reflect.DeepEqual(a[name], p[name]) {
				t.Errorf("%s: %s = %q, want %q", v, name, a[name], p[name])
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\nVERSION:3.0\nN:a;b;;;\nORG:o\\;x;y\nPHOTO;ENCODING=b;TYPE=JPEG:AAAA\nEND:VCARD"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\ng.TEL;TYPE=\"a,b\";CELL:1\r\n x\r\nEND:VCARD\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		CardAttrs(c)
		out := c.Encode()
		c2, err := Parse(out)
		if err != nil {
			t.Fatalf("encoded card does not parse: %v\n%q", err, out)
		}
		if !bytes.Equal(c2.Encode(), out) {
			t.Fatalf("encoding not stable:\n%q\n%q", out, c2.Encode())
		}
	})
}
