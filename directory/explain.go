package directory

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory/index"
)

// String methods of the planner's plans and candidate sources, for tests
// (directory/testdata/plan) and debugging. A posting list shows as its
// index kind, attribute and key, e.g. eq uid "u17".

// String describes p: a posting list (list), a gathered set of n IDs
// (set n) or a union, with its probes and size estimate.
func (p *plan) String() string {
	if p == nil {
		return "none"
	}
	var b strings.Builder
	switch {
	case p.union != nil:
		b.WriteString("union(")
		for i, u := range p.union {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(u.String())
		}
		b.WriteString(")")
	case p.bm != nil:
		fmt.Fprintf(&b, "set %d", p.bm.GetCardinality())
	default:
		b.WriteString("list " + describeKey(p.prefix))
	}
	writeProbes(&b, p.probes)
	if p.union == nil {
		if p.large() {
			fmt.Fprintf(&b, " est>=%d", p.est)
		} else {
			fmt.Fprintf(&b, " est=%d", p.est)
		}
	}
	return b.String()
}

func writeProbes(b *strings.Builder, probes [][]byte) {
	for _, pr := range probes {
		b.WriteString(" probe[" + describeKey(pr) + "]")
	}
}

func (s *prefixSource) String() string {
	var b strings.Builder
	if len(s.prefix) > 0 && s.prefix[0] == prefixChild {
		fmt.Fprintf(&b, "children of %d", readID(s.prefix[1:]))
	} else {
		b.WriteString("list " + describeKey(s.prefix))
	}
	writeProbes(&b, s.probes)
	return b.String()
}

func (s *bitmapSource) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "set %d", s.bm.GetCardinality())
	writeProbes(&b, s.probes)
	return b.String()
}

func (s unionSource) String() string {
	parts := make([]string, len(s))
	for i, src := range s {
		parts[i] = fmt.Sprint(src)
	}
	return "union(" + strings.Join(parts, ", ") + ")"
}

func (s listSource) String() string { return fmt.Sprintf("ids %v", []ID(s)) }

func (allSource) String() string { return "all entries" }

func (s *indexedFirst) String() string {
	return fmt.Sprintf("first %v, then %v but those", s.first, s.rest)
}

// describeKey renders an index key prefix (package index's layout).
func describeKey(k []byte) string {
	if len(k) < 2 || int(k[1]) > len(k)-2 {
		return fmt.Sprintf("%q", k)
	}
	kind := map[byte]string{index.PrefixPresence: "pres", index.PrefixEquality: "eq", index.PrefixSubstring: "sub",
		index.PrefixOrdering: "ord", index.PrefixApprox: "approx"}[k[0]]
	if kind == "" {
		return fmt.Sprintf("%q", k)
	}
	attr, rest := k[2:2+int(k[1])], k[2+int(k[1]):]
	switch k[0] {
	case index.PrefixEquality, index.PrefixApprox:
		if n, w := binary.Uvarint(rest); w > 0 && int(n) == len(rest)-w {
			rest = rest[w:]
		}
	case index.PrefixSubstring:
		if len(rest) > 0 && int(rest[0]) == len(rest)-1 {
			rest = rest[1:]
		}
	}
	if len(rest) == 0 {
		return kind + " " + string(attr)
	}
	return fmt.Sprintf("%s %s %q", kind, attr, rest)
}
