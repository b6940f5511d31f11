package replication

// The merge tests' helpers (replication/merge/merge_helpers_test.go), for
// the tests here that build a State.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
)

// testSchema: displayName and uidNumber are single-valued; userPassword
// compares exactly; everything else ignores case.
type testSchema struct{}

func (testSchema) SingleValued(attr string) bool {
	return attr == "displayname" || attr == "uidnumber"
}

func (testSchema) EqualityKey(attr, value string) string {
	if attr == "userpassword" {
		return value
	}
	return strings.ToLower(value)
}

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMicro()

// at is the CSN of second sec on replica rid.
func at(sec int, rid uint16) change.CSN {
	return change.CSN{Time: epoch + int64(sec)*1_000_000, Replica: rid}
}

// id returns a readable UUID: 00000000-0000-4000-8000-0000000000nn.
func id(n byte) UUID {
	var u UUID
	u[6], u[8], u[15] = 0x40, 0x80, n
	return u
}

var suffix = id(1)

const suffixDN = "dc=example,dc=com"

// av parses "name: value" pairs into attributes.
func av(pairs ...string) []Attribute {
	var out []Attribute
	for _, p := range pairs {
		name, value, _ := strings.Cut(p, ": ")
		i := slices.IndexFunc(out, func(a Attribute) bool { return a.Name == name })
		if i < 0 {
			out = append(out, Attribute{Name: name})
			i = len(out) - 1
		}
		out[i].Values = append(out[i].Values, value)
	}
	return out
}

func opAdd(c change.CSN, u, parent UUID, rdn string, pairs ...string) *Op {
	return &Op{CSN: c, Kind: change.Add, Entry: u, Parent: parent, RDN: rdn, Attrs: av(pairs...)}
}

func opMod(c change.CSN, u UUID, mods ...Mod) *Op {
	return &Op{CSN: c, Kind: change.Modify, Entry: u, Mods: mods}
}

func modAdd(attr string, v ...string) Mod { return Mod{Op: change.ModAdd, Attr: attr, Values: v} }

// suffixAdd creates the naming context entry every scenario starts from.
func suffixAdd() *Op {
	return opAdd(at(0, 1), suffix, UUID{}, suffixDN, "objectClass: top", "objectClass: domain", "dc: example")
}

// show renders the materialised state as LDIF-like text.
func show(s *State) string {
	var b strings.Builder
	for _, e := range s.Materialize() {
		fmt.Fprintf(&b, "dn: %s\n", e.DN)
		for _, a := range e.Attrs {
			for _, v := range a.Values {
				fmt.Fprintf(&b, "%s: %s\n", a.Name, v)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
