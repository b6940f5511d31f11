package console

import (
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/schema"
)

// FuzzReadFields feeds arbitrary form text to an inetOrgPerson's form:
// readFields must not panic, and whatever it accepts obeys the schema
// (required present, single-valued at most one value, every value valid
// in its syntax, no blank value).
func FuzzReadFields(f *testing.F) {
	for _, seed := range [][3]string{
		{"Jane Doe", "Doe", "jane@example.com"},
		{"", "", ""},
		{"a\nb", "x\r\ny", "é@example.com"},
		{"<script>alert(1)</script>", "\x00", "a@b\n\n c@d "},
		{strings.Repeat("x", 70000), "Doe", "+1 555"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	sch, err := schema.Default()
	if err != nil {
		f.Fatal(err)
	}
	fields, err := fieldsFor(sch, kindPerson.Classes)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, cn, sn, rest string) {
		form := url.Values{"a.cn": {cn}, "a.sn": {sn}, "a.mail": {rest}, "a.displayName": {rest}, "a.telephoneNumber": {rest},
			"a.employeeNumber": {rest}, "a.manager": {rest}, "a.preferredLanguage": {rest}}
		got := append([]field(nil), fields...)
		ok := readFields(sch, got, form)
		for _, fl := range got {
			if fl.Error != "" {
				if ok {
					t.Fatalf("%s: error %q but the form passed", fl.Name, fl.Error)
				}
				continue
			}
			if fl.Required && len(fl.Values) == 0 || fl.Single && len(fl.Values) > 1 {
				t.Fatalf("%s: %q passed", fl.Name, fl.Values)
			}
			at, _ := sch.Attribute(fl.Name)
			for _, v := range fl.Values {
				if strings.TrimSpace(v) == "" || strings.Contains(v, "\n") {
					t.Fatalf("%s: value %q passed", fl.Name, v)
				}
				if at.Syntax != nil && at.Syntax.Validate != nil && at.Syntax.Validate([]byte(v)) != nil {
					t.Fatalf("%s: invalid value %q passed", fl.Name, v)
				}
			}
		}
	})
}

func TestFieldsForPerson(t *testing.T) {
	sch, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	fields, err := fieldsFor(sch, kindPerson.Classes)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]field{}
	for i, f := range fields {
		byName[f.Name] = f
		if i < 2 && !f.Required {
			t.Errorf("field %d %s: the required ones come first", i, f.Name)
		}
	}
	for _, name := range []string{"userPassword", "objectClass", "jpegPhoto", "createTimestamp"} {
		if _, ok := byName[name]; ok {
			t.Errorf("%s is on the form", name)
		}
	}
	if f := byName["cn"]; !f.Required || f.Single {
		t.Errorf("cn: %+v, want required and multi-valued", f)
	}
	if f := byName["displayName"]; f.Required || !f.Single || f.More {
		t.Errorf("displayName: %+v, want optional, single-valued, among the common ones", f)
	}
	if f := byName["x121Address"]; !f.More {
		t.Errorf("x121Address: %+v, want under more attributes", f)
	}
}
