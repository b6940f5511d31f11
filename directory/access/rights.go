package access

import "strings"

// Privileges is a set of the privileges a "by" clause grants, OpenLDAP's
// =dxcsraz: disclose, auth, compare, search, read, add and delete. The
// level names are cumulative sets of them (see ParseAccess).
type Privileges uint8

// The single privileges.
const (
	Disclose Privileges = 1 << iota // tell that the entry exists (noSuchObject vs insufficientAccessRights)
	Auth                            // use the value to authenticate (simple bind on userPassword)
	Compare                         // compare a value
	Search                          // test the attribute in a search filter
	Read                            // read the values; on "entry": return the entry
	Add                             // add values; on "children": add entries below; on "entry": be added
	Delete                          // delete values; on "children": delete entries below; on "entry": be deleted
)

// Write is add and delete together: replace values, rename an entry.
const Write = Add | Delete

// The cumulative levels, lowest first: each includes those before it.
const (
	LevelNone     Privileges = 0
	LevelDisclose            = Disclose
	LevelAuth                = LevelDisclose | Auth
	LevelCompare             = LevelAuth | Compare
	LevelSearch              = LevelCompare | Search
	LevelRead                = LevelSearch | Read
	LevelWrite               = LevelRead | Write
	// LevelAdd and LevelDelete are read plus one half of write: "add"
	// may create entries or add values but not remove any.
	LevelAdd    = LevelRead | Add
	LevelDelete = LevelRead | Delete
)

var levels = []struct {
	name string
	p    Privileges
}{
	{"none", LevelNone}, {"disclose", LevelDisclose}, {"auth", LevelAuth}, {"compare", LevelCompare},
	{"search", LevelSearch}, {"read", LevelRead}, {"write", LevelWrite}, {"add", LevelAdd}, {"delete", LevelDelete},
}

const privLetters = "dxcsraz"

// Has reports whether p includes every privilege of q.
func (p Privileges) Has(q Privileges) bool { return p&q == q }

// String returns the level name when p is one, else the =letters form.
func (p Privileges) String() string {
	for _, l := range levels {
		if l.p == p {
			return l.name
		}
	}
	var b strings.Builder
	b.WriteByte('=')
	for i := range privLetters {
		if p&(1<<i) != 0 {
			b.WriteByte(privLetters[i])
		}
	}
	return b.String()
}

// ParseAccess parses the access part of a "by" clause: a level name
// (none, disclose, auth, compare, search, read, write, add, delete) or an
// explicit privilege set "=" followed by letters from dxcsrazw, where w
// stands for a and z together ("=" alone is no privilege).
func ParseAccess(s string) (Privileges, bool) {
	if rest, ok := strings.CutPrefix(s, "="); ok {
		var p Privileges
		for i := 0; i < len(rest); i++ {
			c := rest[i]
			if c == 'w' {
				p |= Write
				continue
			}
			j := strings.IndexByte(privLetters, c)
			if j < 0 {
				return 0, false
			}
			p |= 1 << j
		}
		return p, true
	}
	for _, l := range levels {
		if l.name == strings.ToLower(s) {
			return l.p, true
		}
	}
	return 0, false
}
