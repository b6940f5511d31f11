package console

// Schema-aware forms: the fields of an entry's form come from the
// subschema the server publishes (its object classes' required and
// allowed attribute types, each single- or multi-valued, with a syntax),
// read through the user's connection; values are checked against the
// syntax before anything is written, and the server checks them again.

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/schema"
)

// schemaCache is the subschema and naming context as last read.
type schemaCache struct {
	at     time.Time
	schema *schema.Schema
	suffix string
}

// schemaTTL is how long the subschema read from the server is reused.
const schemaTTL = time.Minute

// directoryInfo returns the server's schema and naming context, read from
// the root DSE and the subschema subentry through s's connection, cached
// for schemaTTL (the schema is the same for every user).
func (c *Console) directoryInfo(s *session) (*schemaCache, error) {
	c.schemaMu.Lock()
	defer c.schemaMu.Unlock()
	if c.schema != nil && time.Since(c.schema.at) < schemaTTL {
		return c.schema, nil
	}
	res, err := s.conn().Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{"namingContexts", "subschemaSubentry"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return nil, fmt.Errorf("read the root DSE: %v", err)
	}
	root := res.Entries[0]
	sub := root.GetAttributeValue("subschemaSubentry")
	if sub == "" {
		sub = "cn=Subschema"
	}
	res, err = s.conn().Search(goldap.NewSearchRequest(sub, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=subschema)", []string{"attributeTypes", "objectClasses"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return nil, fmt.Errorf("read the subschema %s: %v", sub, err)
	}
	sch, err := buildSchema(res.Entries[0].GetAttributeValues("attributeTypes"), res.Entries[0].GetAttributeValues("objectClasses"))
	if err != nil {
		return nil, err
	}
	c.schema = &schemaCache{at: time.Now(), schema: sch, suffix: root.GetAttributeValue("namingContexts")}
	return c.schema, nil
}

// buildSchema resolves published definitions over the built-in schema
// (for the syntaxes' validators); definitions that do not parse are left
// out.
func buildSchema(ats, ocs []string) (*schema.Schema, error) {
	var atDefs []*schema.AttributeTypeDescription
	for _, v := range ats {
		if d, err := schema.ParseAttributeType(v); err == nil {
			atDefs = append(atDefs, d)
		}
	}
	var ocDefs []*schema.ObjectClassDescription
	for _, v := range ocs {
		if d, err := schema.ParseObjectClass(v); err == nil {
			ocDefs = append(ocDefs, d)
		}
	}
	base, err := schema.Default()
	if err != nil {
		return nil, err
	}
	sch, err := base.ExtendDefinitions(atDefs, ocDefs)
	if err != nil {
		// A published schema this server cannot rebuild: its built-in
		// one still gives the forms.
		return base, nil
	}
	return sch, nil
}

// A field is one attribute of an entry's form.
type field struct {
	Name     string
	Desc     string
	Syntax   string // the syntax's description
	Required bool
	Single   bool
	More     bool // shown under "more attributes"
	Values   []string
	Error    string
}

// Value is a single-valued field's value.
func (f field) Value() string {
	if len(f.Values) == 0 {
		return ""
	}
	return f.Values[0]
}

// Text is a multi-valued field's values, one a line.
func (f field) Text() string { return strings.Join(f.Values, "\n") }

// common are the attributes shown before the others on a form, in this
// order, when the classes allow them.
var common = []string{"cn", "sn", "givenName", "uid", "mail", "displayName", "title", "ou", "telephoneNumber", "mobile",
	"employeeNumber", "description", "member", "uniqueMember", "manager"}

// notOnForms are attributes with their own pages or not edited as text.
var notOnForms = map[string]bool{"objectclass": true, "userpassword": true}

// binarySyntaxes are syntaxes a text field cannot carry.
var binarySyntaxes = map[string]bool{
	schema.SyntaxBinary: true, schema.SyntaxCertificate: true, schema.SyntaxJPEG: true, schema.SyntaxOctetString: true,
	"1.3.6.1.4.1.1466.115.121.1.4": true, "1.3.6.1.4.1.1466.115.121.1.9": true, "1.3.6.1.4.1.1466.115.121.1.10": true,
}

// fieldsFor returns the form fields of an entry of the given object
// classes: the attributes they require, then those they allow.
func fieldsFor(sch *schema.Schema, classes []string) ([]field, error) {
	var must, may []*schema.AttributeType
	for _, name := range classes {
		oc, ok := sch.ObjectClass(name)
		if !ok {
			return nil, fmt.Errorf("the schema has no object class %q", name)
		}
		must = append(must, oc.AllMust()...)
		may = append(may, oc.AllMay()...)
	}
	seen := map[string]bool{}
	var out []field
	add := func(at *schema.AttributeType, required bool) {
		name := at.Name()
		if seen[at.OID] || notOnForms[strings.ToLower(name)] || at.NoUserModification || at.IsOperational() || at.Obsolete ||
			at.Syntax != nil && binarySyntaxes[at.Syntax.OID] {
			return
		}
		seen[at.OID] = true
		f := field{Name: name, Desc: at.Desc, Required: required, Single: at.SingleValue}
		if at.Syntax != nil {
			f.Syntax = at.Syntax.Desc
		}
		out = append(out, f)
	}
	for _, at := range must {
		add(at, true)
	}
	for _, at := range may {
		if slices.ContainsFunc(must, func(m *schema.AttributeType) bool { return m.OID == at.OID }) {
			continue
		}
		add(at, false)
	}
	rank := func(f field) int {
		if f.Required {
			return -1
		}
		for i, n := range common {
			if strings.EqualFold(n, f.Name) {
				return i
			}
		}
		return len(common)
	}
	slices.SortStableFunc(out, func(a, b field) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		if a.Required {
			return 0
		}
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	for i := range out {
		out[i].More = rank(out[i]) == len(common)
	}
	return out, nil
}

// Bounds on what one form field may carry.
const (
	maxValueBytes = 64 << 10
	maxValues     = 1000
)

// splitValues splits a multi-valued field's text into its values, one a
// line; blank lines and the spaces around each value are dropped.
func splitValues(text string) []string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if v := strings.TrimSpace(line); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// readFields fills fields from a submitted form (field "a.NAME": one
// input for a single-valued attribute, a text area of lines for a
// multi-valued one) and checks each against the schema: required
// present, one value at most where single-valued, the syntax. It reports
// whether all passed; each failing field has its Error.
func readFields(sch *schema.Schema, fields []field, form url.Values) bool {
	ok := true
	for i := range fields {
		f := &fields[i]
		raw := strings.Join(form["a."+f.Name], "\n")
		f.Values = splitValues(raw)
		f.Error = checkField(sch, f)
		if f.Error != "" {
			ok = false
		}
	}
	return ok
}

// checkField returns what is wrong with a field's values, or "".
func checkField(sch *schema.Schema, f *field) string {
	if f.Required && len(f.Values) == 0 {
		return "required"
	}
	if f.Single && len(f.Values) > 1 {
		return fmt.Sprintf("takes one value, got %d", len(f.Values))
	}
	if len(f.Values) > maxValues {
		return fmt.Sprintf("%d values; at most %d are taken from a form", len(f.Values), maxValues)
	}
	at, ok := sch.Attribute(f.Name)
	for i, v := range f.Values {
		what := "the value"
		if len(f.Values) > 1 {
			what = fmt.Sprintf("value %d", i+1)
		}
		if len(v) > maxValueBytes {
			return fmt.Sprintf("%s is too long (%d bytes; at most %d)", what, len(v), maxValueBytes)
		}
		if !utf8.ValidString(v) {
			return what + " is not valid UTF-8"
		}
		if ok && at.Syntax != nil && at.Syntax.Validate != nil {
			if err := at.Syntax.Validate([]byte(v)); err != nil {
				syn := at.Syntax.Desc
				if syn == "" {
					syn = at.Syntax.OID
				}
				return fmt.Sprintf("%s %q is not a valid %s: %v", what, clip(v), syn, err)
			}
		}
	}
	return ""
}

// clip shortens a value quoted in a message.
func clip(v string) string {
	if len(v) <= 60 {
		return v
	}
	for i := 57; i > 0; i-- {
		if utf8.RuneStart(v[i]) {
			return v[:i] + "..."
		}
	}
	return "..."
}
