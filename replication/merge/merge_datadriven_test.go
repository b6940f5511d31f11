package merge

import (
	"fmt"
	"github.com/switchboard-ldap/switchboard/change"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/internal/datadriven"
)

// TestMergeDataDriven runs the merge-rule cases of testdata/merge. Each
// case starts from the suffix entry (dc=example,dc=com, named suffix, at
// 0.1); entries are named, and their UUIDs shown by name. Commands:
//
//	merge    input: ops, one a line; applied in every order (allOrders),
//	         which must agree; shows the result
//	apply    input: ops, applied in the order given to the case's state
//	         (kept until the next merge or apply new); shows the result
//	apply new  the same, on a new state
//
// An op is a CSN written second.replica, then one of
//
//	add NAME RDN,PARENT: attr=value; attr=value ...
//	modify NAME: add attr=v1,v2; delete attr[=v...]; replace attr[=v...]
//	delete NAME
//	modrdn NAME RDN,PARENT [delold=RDN]
//
// The result is one line per visible entry but the suffix (its DN, then
// its attributes but objectClass and entryUUID; glue marked), then one
// line per conflict.
func TestMergeDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/merge/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no files in testdata/merge: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			var s *State
			var names *entryNames
			datadriven.RunFile(t, file, func(t *testing.T, c *datadriven.Case) string {
				if _, ok := c.Arg("new"); c.Cmd == "merge" || ok || s == nil {
					names = &entryNames{ids: map[string]UUID{"suffix": suffix}}
					s = nil
				}
				var ops []*Op
				for _, line := range strings.Split(c.Input, "\n") {
					if line = strings.TrimSpace(line); line == "" {
						continue
					}
					op, err := parseOp(names, line)
					if err != nil {
						t.Fatalf("%s: %s: %v", c.Pos, line, err)
					}
					ops = append(ops, op)
				}
				switch c.Cmd {
				case "merge":
					s = allOrders(t, append([]*Op{suffixAdd()}, ops...)...)
				case "apply":
					if s == nil {
						s = apply(t, suffixAdd())
					}
					for _, o := range ops {
						if err := s.Apply(o); err != nil {
							return "error: " + err.Error()
						}
					}
				default:
					t.Fatalf("%s: unknown command %s", c.Pos, c.Cmd)
				}
				return names.show(s)
			})
		})
	}
}

// entryNames maps the names of a case to UUIDs (id(10), id(11), ... in
// order of first use) and back.
type entryNames struct {
	ids   map[string]UUID
	order []string
}

func (n *entryNames) id(name string) UUID {
	if u, ok := n.ids[name]; ok {
		return u
	}
	u := id(byte(10 + len(n.order)))
	n.ids[name] = u
	n.order = append(n.order, name)
	return u
}

func (n *entryNames) name(u UUID) string {
	for name, v := range n.ids {
		if v == u {
			return name
		}
	}
	return u.String()
}

// named replaces the UUIDs in s by the names.
func (n *entryNames) named(s string) string {
	for name, u := range n.ids {
		s = strings.ReplaceAll(s, u.String(), "<"+name+">")
	}
	return s
}

func (n *entryNames) show(s *State) string {
	var b strings.Builder
	for _, e := range s.Materialize() {
		if e.UUID == suffix {
			continue
		}
		fmt.Fprintf(&b, "%s:", n.named(e.DN))
		if e.Glue {
			b.WriteString(" (glue)")
		}
		for _, a := range e.Attrs {
			if strings.EqualFold(a.Name, "objectClass") || strings.EqualFold(a.Name, "entryUUID") {
				continue
			}
			fmt.Fprintf(&b, " %s=%s", a.Name, n.named(strings.Join(a.Values, ",")))
		}
		b.WriteByte('\n')
	}
	for _, c := range s.Conflicts() {
		fmt.Fprintf(&b, "conflict %s %s at %s", c.Kind, n.name(c.Entry), csnText(c.CSN))
		if c.DN != "" {
			fmt.Fprintf(&b, " shown %s", n.named(c.DN))
		}
		if c.WantedDN != "" {
			fmt.Fprintf(&b, " wanted %s", n.named(c.WantedDN))
		}
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "(empty)"
	}
	return b.String()
}

// csnText writes c as the cases do: second.replica.
func csnText(c change.CSN) string {
	return fmt.Sprintf("%d.%d", (c.Time-epoch)/1_000_000, c.Replica)
}

func parseCSN(s string) (change.CSN, error) {
	sec, rid, ok := strings.Cut(s, ".")
	t, err1 := strconv.Atoi(sec)
	r, err2 := strconv.ParseUint(rid, 10, 16)
	if !ok || err1 != nil || err2 != nil {
		return change.CSN{}, fmt.Errorf("CSN %q is not second.replica", s)
	}
	return at(t, uint16(r)), nil
}

// placeOf splits "RDN,PARENT" into the RDN and the parent's UUID.
func placeOf(n *entryNames, s string) (string, UUID, error) {
	rdn, parent, ok := strings.Cut(s, ",")
	if !ok {
		return "", UUID{}, fmt.Errorf("%q is not RDN,PARENT", s)
	}
	return rdn, n.id(parent), nil
}

func parseOp(n *entryNames, line string) (*Op, error) {
	head, body, _ := strings.Cut(line, ":")
	f := strings.Fields(head)
	if len(f) < 3 {
		return nil, fmt.Errorf("want CSN, kind and entry")
	}
	c, err := parseCSN(f[0])
	if err != nil {
		return nil, err
	}
	u := n.id(f[2])
	switch f[1] {
	case "add":
		if len(f) != 4 {
			return nil, fmt.Errorf("add NAME RDN,PARENT: attributes")
		}
		rdn, parent, err := placeOf(n, f[3])
		if err != nil {
			return nil, err
		}
		var pairs []string
		for _, a := range splitList(body) {
			k, v, _ := strings.Cut(a, "=")
			pairs = append(pairs, k+": "+v)
		}
		return opAdd(c, u, parent, rdn, pairs...), nil
	case "modify":
		var mods []Mod
		for _, m := range splitList(body) {
			kind, spec, _ := strings.Cut(m, " ")
			attr, vals, hasVals := strings.Cut(spec, "=")
			var vs []string
			if hasVals {
				vs = strings.Split(vals, ",")
			}
			switch kind {
			case "add":
				mods = append(mods, modAdd(attr, vs...))
			case "delete":
				mods = append(mods, modDel(attr, vs...))
			case "replace":
				mods = append(mods, modRepl(attr, vs...))
			default:
				return nil, fmt.Errorf("modification %q", m)
			}
		}
		return opMod(c, u, mods...), nil
	case "delete":
		return opDel(c, u), nil
	case "modrdn":
		if len(f) < 4 {
			return nil, fmt.Errorf("modrdn NAME RDN,PARENT [delold=RDN]")
		}
		rdn, parent, err := placeOf(n, f[3])
		if err != nil {
			return nil, err
		}
		old := ""
		if len(f) > 4 {
			old = strings.TrimPrefix(f[4], "delold=")
		}
		return opMove(c, u, parent, rdn, old), nil
	}
	return nil, fmt.Errorf("unknown kind %s", f[1])
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
