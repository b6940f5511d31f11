package access

import (
	"fmt"
	"math/bits"
	"net/netip"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// MaxRules bounds a policy's rules, so that the rules matching an entry fit
// in a fixed bit set and evaluating an entry does not allocate.
const MaxRules = 1024

// Pseudo-attribute names of rule targets (OpenLDAP's).
const (
	AttrEntry    = "entry"    // the entry itself: disclose, read (return it), add, delete
	AttrChildren = "children" // the entries below it: add and delete them
)

// Env is what compiling a policy needs from the directory: the schema (to
// normalise DNs and resolve attribute types) and compiled filters.
// *directory.Engine implements it.
type Env interface {
	Schema() *schema.Schema
	Subtypes(at *schema.AttributeType) map[string]bool
	CompileFilter(f *ldap.Filter) *directory.CompiledFilter
}

// Policy is a compiled, immutable list of rules; it is safe for
// concurrent use. Swap a whole Policy to reload.
type Policy struct {
	rules  []rule
	groups []string // distinct normalised group DNs of "group=" terms
	text   []string
}

type rule struct {
	scope    Scope
	ndn      string
	filter   *directory.CompiledFilter
	allAttrs bool            // no attrs=: every attribute and both pseudo-attributes
	attrs    map[string]bool // canonical names, subtypes included
	entry    bool            // attrs= lists "entry"
	children bool            // attrs= lists "children"
	by       []clause
}

type clause struct {
	who    []who
	access Privileges
	self   bool // has a self term: depends on the entry
	below  bool // has a self.children term: depends on the entry
	id     int  // index in Requester.static
}

type who struct {
	kind  WhoKind
	scope Scope
	ndn   string
	group int // index in Policy.groups
	net   netip.Prefix
}

// Compile parses and compiles rules, in order. Errors name the rule by
// its 1-based number.
func Compile(env Env, rules []string) (*Policy, error) {
	if len(rules) > MaxRules {
		return nil, fmt.Errorf("access: %d rules; at most %d", len(rules), MaxRules)
	}
	p := &Policy{text: append([]string(nil), rules...)}
	groups := map[string]int{}
	nclauses := 0
	for i, text := range rules {
		r, err := Parse(text)
		if err != nil {
			return nil, fmt.Errorf("access rule %d: %w", i+1, err)
		}
		cr, err := compileRule(env, r, groups, &p.groups, &nclauses)
		if err != nil {
			return nil, fmt.Errorf("access rule %d: %w", i+1, err)
		}
		p.rules = append(p.rules, cr)
	}
	return p, nil
}

func compileRule(env Env, r *Rule, groups map[string]int, glist *[]string, nclauses *int) (rule, error) {
	s := env.Schema()
	cr := rule{scope: r.Scope}
	if r.Scope != ScopeAll {
		n, err := s.NormalizeDNString(r.DN)
		if err != nil {
			return cr, fmt.Errorf("dn %q: %w", r.DN, err)
		}
		cr.ndn = n
	}
	if r.Filter != "" {
		f, err := ldap.ParseFilter(r.Filter)
		if err != nil {
			return cr, fmt.Errorf("filter %q: %w", r.Filter, err)
		}
		cr.filter = env.CompileFilter(f)
	}
	if len(r.Attrs) == 0 {
		cr.allAttrs = true
	} else {
		cr.attrs = map[string]bool{}
	}
	for _, a := range r.Attrs {
		switch strings.ToLower(a) {
		case AttrEntry:
			cr.entry = true
			continue
		case AttrChildren:
			cr.children = true
			continue
		}
		base, _ := schema.SplitOptions(a)
		at, ok := s.Attribute(base)
		if !ok {
			return cr, fmt.Errorf("attrs: unknown attribute type %q", a)
		}
		for n := range env.Subtypes(at) {
			cr.attrs[n] = true
		}
	}
	for _, c := range r.By {
		cc := clause{access: c.Access, id: *nclauses}
		*nclauses++
		for _, w := range c.Who {
			cw := who{kind: w.Kind, scope: w.Scope, net: w.Network}
			switch w.Kind {
			case WhoSelf:
				cc.self = true
			case WhoSelfChildren:
				cc.below = true
			case WhoDN:
				n, err := s.NormalizeDNString(w.DN)
				if err != nil {
					return cr, fmt.Errorf("by dn %q: %w", w.DN, err)
				}
				cw.ndn = n
			case WhoGroup:
				n, err := s.NormalizeDNString(w.DN)
				if err != nil {
					return cr, fmt.Errorf("by group %q: %w", w.DN, err)
				}
				id, ok := groups[n]
				if !ok {
					id = len(*glist)
					groups[n] = id
					*glist = append(*glist, n)
				}
				cw.ndn, cw.group = n, id
			}
			cc.who = append(cc.who, cw)
		}
		cr.by = append(cr.by, cc)
	}
	return cr, nil
}

// Rules returns the rules' text as compiled.
func (p *Policy) Rules() []string { return append([]string(nil), p.text...) }

// Subject is who makes a request.
type Subject struct {
	DN   string     // normalised bind DN; "" is anonymous
	Addr netip.Addr // the client's address; invalid if unknown (a Unix socket)
	TLS  bool       // the connection has TLS
}

// Membership reports whether the subject is a member of the group with
// the normalised DN, directly or through nested groups.
type Membership func(groupNDN string) bool

// Requester is a Subject bound to a Policy for one request: every subject
// term that does not depend on the entry is decided once, here.
type Requester struct {
	p      *Policy
	dn     string
	static []bool // per clause id: the clause's terms other than self hold
}

// For prepares a request by s. member is asked once per group the rules
// name, and only for an authenticated subject; nil means no groups.
func (p *Policy) For(s Subject, member Membership) *Requester {
	n := 0
	for i := range p.rules {
		n += len(p.rules[i].by)
	}
	r := &Requester{p: p, dn: s.DN, static: make([]bool, n)}
	var gm []int8 // per group: 0 unknown, 1 member, -1 not
	if len(p.groups) > 0 {
		gm = make([]int8, len(p.groups))
	}
	for i := range p.rules {
		for _, c := range p.rules[i].by {
			ok := true
			for _, w := range c.who {
				if !ok {
					break
				}
				switch w.kind {
				case WhoAnonymous:
					ok = s.DN == ""
				case WhoUsers, WhoSelf, WhoSelfChildren:
					ok = s.DN != ""
				case WhoDN:
					ok = s.DN != "" && inScope(s.DN, w.scope, w.ndn)
				case WhoGroup:
					if s.DN == "" || member == nil {
						ok = false
						break
					}
					if gm[w.group] == 0 {
						gm[w.group] = -1
						if member(w.ndn) {
							gm[w.group] = 1
						}
					}
					ok = gm[w.group] == 1
				case WhoNetwork:
					ok = s.Addr.IsValid() && w.net.Contains(s.Addr.Unmap())
				case WhoTLS:
					ok = s.TLS
				}
			}
			r.static[c.id] = ok
		}
	}
	return r
}

// DN returns the requester's normalised DN ("" anonymous).
func (r *Requester) DN() string { return r.dn }

// ruleSet is a set of rule indexes.
type ruleSet [MaxRules / 64]uint64

// EntryAccess is a requester's access to one entry: the rules whose DN and
// filter select the entry, found once. It is a value: evaluating an
// entry's attributes does not allocate.
type EntryAccess struct {
	r       *Requester
	rules   ruleSet
	self    bool
	below   bool // the entry is below the requester's own
	unknown bool // a rule's filter could not be tested: no entry given
}

// Entry evaluates the rules' targets for the entry with normalised DN ndn.
// en supplies the attributes rule filters test; with en nil, rules with a
// filter make the result incomplete (Complete reports false).
func (r *Requester) Entry(ndn string, en *directory.Entry) EntryAccess {
	a := EntryAccess{r: r, self: r.dn != "" && r.dn == ndn}
	a.below = r.dn != "" && ldap.IsBelowNDN(ndn, r.dn)
	for i := range r.p.rules {
		ru := &r.p.rules[i]
		if ru.scope != ScopeAll && !inScope(ndn, ru.scope, ru.ndn) {
			continue
		}
		if ru.filter != nil {
			if en == nil {
				a.unknown = true
				continue
			}
			if !ru.filter.Match(en) {
				continue
			}
		}
		a.rules[i/64] |= 1 << (i % 64)
	}
	return a
}

// Complete reports whether every rule could be evaluated (see Entry).
func (a *EntryAccess) Complete() bool { return !a.unknown }

// Attr returns the privileges on the attribute with the canonical name
// (options allowed), or on AttrEntry or AttrChildren.
func (a *EntryAccess) Attr(name string) Privileges {
	if a.r == nil {
		return 0
	}
	base := name
	if i := strings.IndexByte(name, ';'); i >= 0 {
		base = name[:i]
	}
	nw := (len(a.r.p.rules) + 63) / 64
	for w, word := range a.rules[:nw] {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			word &^= 1 << b
			ru := &a.r.p.rules[w*64+b]
			if !ru.selects(base) {
				continue
			}
			return a.r.clauses(ru, a.self, a.below)
		}
	}
	return 0
}

// Entry returns the privileges on the entry itself.
func (a *EntryAccess) Entry() Privileges { return a.Attr(AttrEntry) }

// Children returns the privileges on the entries below.
func (a *EntryAccess) Children() Privileges { return a.Attr(AttrChildren) }

// Discloses reports whether the requester may learn that the entry
// exists: the disclose privilege on its "entry" pseudo-attribute.
func (a *EntryAccess) Discloses() bool { return a.Entry().Has(Disclose) }

func (ru *rule) selects(base string) bool {
	if ru.allAttrs {
		return true
	}
	switch base {
	case AttrEntry:
		return ru.entry
	case AttrChildren:
		return ru.children
	}
	return ru.attrs[base]
}

// clauses evaluates the "by" clauses of ru: the first that holds grants
// its access; none holding grants nothing.
func (r *Requester) clauses(ru *rule, self, below bool) Privileges {
	for i := range ru.by {
		c := &ru.by[i]
		if r.static[c.id] && (!c.self || self) && (!c.below || below) {
			return c.access
		}
	}
	return 0
}

// Static returns the privileges on attribute name (or a pseudo-attribute)
// that hold for every entry a search from base with the given scope can
// reach, when the rules decide it without looking at the entry: ok is
// false when the answer depends on the entry.
func (r *Requester) Static(baseNDN string, scope ldap.Scope, name string) (p Privileges, ok bool) {
	base := name
	if i := strings.IndexByte(name, ';'); i >= 0 {
		base = name[:i]
	}
	for i := range r.p.rules {
		ru := &r.p.rules[i]
		if !ru.selects(base) {
			continue
		}
		switch relate(baseNDN, scope, ru.scope, ru.ndn) {
		case disjoint:
			continue
		case overlaps:
			return 0, false
		}
		if ru.filter != nil {
			return 0, false
		}
		for j := range ru.by {
			c := &ru.by[j]
			if !r.static[c.id] {
				continue
			}
			if c.self || c.below {
				if r.dn == "" {
					continue
				}
				return 0, false
			}
			return c.access, true
		}
		return 0, true
	}
	return 0, true
}

// StaticHas reports whether every entry a search from base with the
// given scope can reach grants want on attribute name (or a
// pseudo-attribute), when the rules decide that without looking at the
// entry: ok is false when the answer depends on the entry. It knows more
// than Static: a rule with a filter, or a clause with self or
// self.children, is no obstacle when every way the entry could go gives
// the same answer (for instance "by self.children write by users read"
// and want read).
func (r *Requester) StaticHas(baseNDN string, scope ldap.Scope, name string, want Privileges) (has, ok bool) {
	base := name
	if i := strings.IndexByte(name, ';'); i >= 0 {
		base = name[:i]
	}
	return r.staticHas(0, baseNDN, scope, base, want)
}

func (r *Requester) staticHas(from int, baseNDN string, scope ldap.Scope, base string, want Privileges) (has, ok bool) {
	for i := from; i < len(r.p.rules); i++ {
		ru := &r.p.rules[i]
		if !ru.selects(base) {
			continue
		}
		switch relate(baseNDN, scope, ru.scope, ru.ndn) {
		case disjoint:
			continue
		case overlaps:
			return false, false
		}
		has, ok := r.ruleHas(ru, want)
		if !ok || ru.filter == nil {
			return has, ok
		}
		// The entry may or may not match the filter: the rules after
		// this one must agree.
		rest, ok := r.staticHas(i+1, baseNDN, scope, base, want)
		return has, ok && rest == has
	}
	return want == 0, true
}

// ruleHas is whether ru's clauses grant want, whichever entry it is:
// ok is false when clauses depending on the entry (self, self.children)
// disagree with the one that holds otherwise.
func (r *Requester) ruleHas(ru *rule, want Privileges) (has, ok bool) {
	var cond *bool
	for i := range ru.by {
		c := &ru.by[i]
		if !r.static[c.id] {
			continue
		}
		v := c.access&want == want
		if c.self || c.below {
			if cond != nil && *cond != v {
				return false, false
			}
			cond = &v
			continue
		}
		if cond != nil && *cond != v {
			return false, false
		}
		return v, true
	}
	v := want == 0
	if cond != nil && *cond != v {
		return false, false
	}
	return v, true
}

type relation uint8

const (
	disjoint relation = iota
	covers
	overlaps
)

// relate compares the entries of a search (base, scope) with the entries
// a rule's DN selects: none of them, all of them, or some (or unsure).
func relate(base string, scope ldap.Scope, rs Scope, rdn string) relation {
	if rs == ScopeAll {
		return covers
	}
	switch rs {
	case ScopeBase:
		var in bool
		switch scope {
		case ldap.ScopeBaseObject:
			if base == rdn {
				return covers
			}
		default:
			in = ldap.InScopeNDN(rdn, base, scope)
		}
		if in {
			return overlaps
		}
		return disjoint
	case ScopeSubtree:
		if base == rdn || ldap.IsBelowNDN(base, rdn) {
			return covers
		}
	case ScopeChildren:
		if ldap.IsBelowNDN(base, rdn) || (base == rdn && (scope == ldap.ScopeSingleLevel || scope == ldap.ScopeChildren)) {
			return covers
		}
		if base == rdn && scope == ldap.ScopeBaseObject {
			return disjoint
		}
	case ScopeOne:
		if scope == ldap.ScopeBaseObject {
			if ldap.ParentNDN(base) == rdn && base != "" {
				return covers
			}
			return disjoint
		}
		if base == rdn && scope == ldap.ScopeSingleLevel {
			return covers
		}
	}
	if base == rdn || ldap.IsBelowNDN(base, rdn) || ldap.IsBelowNDN(rdn, base) {
		return overlaps
	}
	return disjoint
}

// inScope reports whether the normalised DN ndn is selected by scope
// around the normalised DN of.
func inScope(ndn string, scope Scope, of string) bool {
	switch scope {
	case ScopeAll:
		return true
	case ScopeBase:
		return ndn == of
	case ScopeSubtree:
		return ndn == of || ldap.IsBelowNDN(ndn, of)
	case ScopeChildren:
		return ldap.IsBelowNDN(ndn, of)
	case ScopeOne:
		return ndn != "" && ldap.IsBelowNDN(ndn, of) && ldap.ParentNDN(ndn) == of
	}
	return false
}
