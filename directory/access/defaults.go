package access

import "strings"

// DefaultOptions shape the default rules.
type DefaultOptions struct {
	// SelfWritable lists the attributes a user may change on their own
	// entry (besides userPassword); nil means DefaultSelfWritable.
	SelfWritable []string
	// AdminGroup, if set, is the DN of a group whose members (nested
	// groups included) may read and write everything.
	AdminGroup string
}

// DefaultSelfWritable are the attributes users may change on their own
// entry by default: phone numbers and photo.
var DefaultSelfWritable = []string{"telephoneNumber", "mobile", "jpegPhoto"}

// DefaultRules returns the rules that apply when the configuration has
// none: anonymous clients may read the Root DSE and the subschema and
// authenticate (auth on userPassword) but see nothing else; authenticated
// users read everything but userPassword and pwdHistory; a user may change their own
// password and the SelfWritable attributes; members of AdminGroup (and
// the root DN, which no rule restricts) may do everything.
func DefaultRules(o DefaultOptions) []string {
	self := o.SelfWritable
	if self == nil {
		self = DefaultSelfWritable
	}
	admin := ""
	if o.AdminGroup != "" {
		admin = " by group=" + quote(o.AdminGroup) + " write"
	}
	rules := []string{
		`to dn.base="" by * read`,
		`to dn.base="cn=Subschema" by * read`,
		"to attrs=userPassword" + admin + " by self write by anonymous auth by * none",
		// Former password hashes, kept by the password policy overlay:
		// no one but the root DN reads them.
		"to attrs=pwdHistory by * none",
	}
	if len(self) > 0 {
		rules = append(rules, "to attrs="+strings.Join(self, ",")+admin+" by self write by users read by * none")
	}
	return append(rules, "to *"+admin+" by users read by * none")
}
