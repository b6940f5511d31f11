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

// PrivateAttrs are the attributes of personal address books (package
// web/carddav), which by default only their owner reads.
var PrivateAttrs = []string{"switchboardName", "switchboardVCard", "switchboardCardRemoved"}

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
	// Personal address books (package web/carddav): a user may create
	// entries below their own entry and change or delete them; their
	// contents (the vCards) are theirs alone.
	rules = append(rules,
		"to attrs="+strings.Join(PrivateAttrs, ",")+admin+" by self.children write by * none",
		"to attrs=children"+admin+" by self write by self.children write by users read by * none",
		"to attrs=entry,objectClass"+admin+" by self.children write by users read by * none")
	if len(self) > 0 {
		rules = append(rules, "to attrs="+strings.Join(self, ",")+admin+" by self write by users read by * none")
	}
	return append(rules, "to *"+admin+" by users read by * none")
}
