package directory

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// tri is the three-valued result of filter evaluation (RFC 4511 4.5.1.7).
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triUndefined
)

// matcher is a filter compiled against the schema once per search:
// attribute types resolved, subtypes expanded and assertion values
// normalised, so evaluating it per entry does no lookups.
type matcher struct {
	kind      ldap.FilterKind
	schema    *schema.Schema
	undefined bool // the item is Undefined whatever the entry
	at        *schema.AttributeType
	names     map[string]bool // canonical names of at and its subtypes
	only      string          // the one name in names, when it has one
	opts      []string        // lower-case options of the item's attribute description
	rule      *schema.MatchingRule
	value     []byte // normalised assertion value
	initial   []byte
	final     []byte
	any       [][]byte
	dnAttrs   bool
	isOC      bool                // (objectClass=*) is true of every entry
	class     *schema.ObjectClass // (objectClass=X): X, matched with its subclasses
	children  []matcher
	chain     *chainSet // LDAP_MATCHING_RULE_IN_CHAIN: resolved per search
	// guard, when set, is asked per entry whether the item may test its
	// attribute (or, for an extensible item without a type, each one).
	guard SearchAccess
	// subGuard names the subtypes of at (by canonical name) whose
	// values the item may test only where guard allows it per entry.
	subGuard map[string]*schema.AttributeType
	cost     *SearchCost // nil: unlimited
	// norm, when set, is the buffer values are normalised into for
	// comparison (a search's, used by one goroutine); without it each
	// tested value that is not in normal form already costs an
	// allocation. The buffer is never replaced: a value whose normal
	// form outgrows it allocates (a normal form from another rule may
	// be shared, so none is adopted).
	norm *[]byte
}

// CostLimits bound the work of one search. Zero fields are unlimited.
type CostLimits struct {
	// Work is the work units the search may spend: one per candidate
	// entry examined, per attribute value a filter item tests, per DN
	// component an extensible :dn: item tests, per value or ID read to
	// compute operational attributes of a candidate (memberOf,
	// hasSubordinates), and per entry an in-chain item reaches.
	Work int64
	// ChainDepth is the levels of nesting an in-chain item
	// (LDAP_MATCHING_RULE_IN_CHAIN) may follow, ChainEntries the entries
	// it may collect.
	ChainDepth   int
	ChainEntries int
}

// SearchCost is a search's budget (SearchRequest.Cost) and what it has
// spent. A search that goes over ends with adminLimitExceeded (11), the
// entries already returned standing, and Work stops just past
// Limits.Work: by at most what one value, entry or group read costs.
type SearchCost struct {
	Limits CostLimits
	Work   int64 // units spent, set by the search
	err    error
}

// charge spends n units; it reports false once the budget is exceeded.
func (c *SearchCost) charge(n int) bool {
	if c == nil {
		return true
	}
	if c.err != nil {
		return false
	}
	c.Work += int64(n)
	if c.Limits.Work > 0 && c.Work > c.Limits.Work {
		c.fail(fmt.Sprintf("search cost limit exceeded: %d work units spent, limit %d (limits.filter_work)", c.Work, c.Limits.Work))
		return false
	}
	return true
}

// fail ends the search with adminLimitExceeded and the diagnostic msg.
func (c *SearchCost) fail(msg string) {
	if c != nil && c.err == nil {
		c.err = &ldap.Error{Code: ldap.AdminLimitExceeded, Message: msg}
	}
}

// Err returns the adminLimitExceeded error of an exceeded budget, or nil.
func (c *SearchCost) Err() error {
	if c == nil || c.err == nil {
		return nil
	}
	return c.err
}

// subtypeCache maps an attribute type to the canonical names of itself and
// every type derived from it. It is filled lazily, once per type.
type subtypeCache struct {
	mu sync.Mutex
	m  map[*schema.AttributeType]map[string]bool
}

func (c *subtypeCache) names(s *schema.Schema, at *schema.AttributeType) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.m[at]; ok {
		return n
	}
	n := map[string]bool{}
	for _, t := range s.Attributes() {
		if t.IsSubtypeOf(at) {
			n[t.Name()] = true
		}
	}
	if c.m == nil {
		c.m = map[*schema.AttributeType]map[string]bool{}
	}
	c.m[at] = n
	return n
}

// compileOptions restrict what a filter may test.
type compileOptions struct {
	// hidden names attributes the requester may not read; items on them
	// evaluate to Undefined so a filter cannot probe their values.
	hidden map[string]bool
	// access, when set, classifies each item's attribute (SearchAccess).
	access SearchAccess
	// cost, when set, is charged for the filter's work.
	cost *SearchCost
	// norm, when set, is the matchers' normalisation buffer: only for a
	// filter evaluated by one goroutine (matcher.norm).
	norm *[]byte
}

// restrict applies opt's access to an item on at: it reports whether the
// item is Undefined whatever the entry, and sets the per-entry guard.
func (opt *compileOptions) restrict(m *matcher, at *schema.AttributeType) bool {
	if opt.hidden[strings.ToLower(at.Name())] {
		return true
	}
	if opt.access == nil {
		return false
	}
	switch opt.access.FilterAttr(at) {
	case AttrDenied:
		return true
	case AttrPerEntry:
		m.guard = opt.access
	}
	return false
}

// searchable narrows names, the canonical names of at and its subtypes,
// to those an item on at may test: an item on a supertype ((name=x))
// must not test the values of a subtype the requester may not search
// (title), which would probe them. A subtype decided per entry goes to
// m.subGuard. names is shared and never changed: a narrowed set is new.
func (opt *compileOptions) searchable(e *Engine, m *matcher, at *schema.AttributeType, names map[string]bool) map[string]bool {
	if len(names) < 2 || (opt.hidden == nil && opt.access == nil) {
		return names
	}
	var out map[string]bool
	for n := range names {
		sub, ok := e.schema.Attribute(n)
		if !ok || sub == at {
			continue
		}
		denied := opt.hidden[strings.ToLower(sub.Name())]
		if !denied && opt.access != nil {
			switch opt.access.FilterAttr(sub) {
			case AttrDenied:
				denied = true
			case AttrPerEntry:
				if m.subGuard == nil {
					m.subGuard = map[string]*schema.AttributeType{}
				}
				m.subGuard[n] = sub
				m.guard = opt.access
			}
		}
		if denied {
			if out == nil {
				out = maps.Clone(names)
			}
			delete(out, n)
		}
	}
	if out == nil {
		return names
	}
	return out
}

func (e *Engine) compile(f *ldap.Filter, opt compileOptions) matcher {
	m := matcher{kind: f.Kind, schema: e.schema, cost: opt.cost, norm: opt.norm}
	switch f.Kind {
	case ldap.FilterAnd, ldap.FilterOr, ldap.FilterNot:
		m.children = make([]matcher, len(f.Children))
		for i := range f.Children {
			m.children[i] = e.compile(&f.Children[i], opt)
		}
		return m
	case ldap.FilterExtensible:
		return e.compileExtensible(f, opt)
	}
	base, opts := schema.SplitOptions(string(f.Attr))
	at, ok := e.schema.Attribute(base)
	if !ok || opt.restrict(&m, at) {
		m.undefined = true
		return m
	}
	m.at = at
	m.setNames(opt.searchable(e, &m, at, e.subtypes.names(e.schema, at)))
	m.opts = lowerOptions(opts)
	m.isOC = strings.EqualFold(at.Name(), "objectClass")
	var err error
	switch f.Kind {
	case ldap.FilterEqualityMatch:
		if at.Equality == nil || e.schema.UnknownDescriptor(at, f.Value) {
			m.undefined = true
		} else if m.value, err = at.Normalize(f.Value); err != nil {
			m.undefined = true
		}
		if m.isOC {
			// An entry belongs to the superclasses of its classes too
			// (RFC 4512 2.4.1), whether or not it lists them. A class
			// the schema does not know, by name or OID, no entry can
			// hold: the assertion is Undefined, as slapd has it.
			if m.class, _ = e.schema.ObjectClass(string(f.Value)); m.class == nil {
				m.undefined = true
			}
		}
	case ldap.FilterApproxMatch:
		if at.Equality == nil {
			m.undefined = true
		} else {
			m.value = at.ApproxKey(f.Value)
		}
	case ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual:
		if at.Ordering == nil {
			m.undefined = true
		} else if err = validate(at, f.Value); err != nil {
			m.undefined = true
		} else {
			m.value = f.Value
		}
	case ldap.FilterSubstrings:
		if at.Substr == nil {
			m.undefined = true
			break
		}
		if f.Initial != nil {
			if m.initial, err = at.NormalizeSubstring(f.Initial, schema.SubInitial); err != nil {
				m.undefined = true
			}
		}
		for _, a := range f.Any {
			n, err := at.NormalizeSubstring(a, schema.SubAny)
			if err != nil {
				m.undefined = true
			}
			m.any = append(m.any, n)
		}
		if f.Final != nil {
			if m.final, err = at.NormalizeSubstring(f.Final, schema.SubFinal); err != nil {
				m.undefined = true
			}
		}
	}
	return m
}

// compileExtensible handles extensible match (RFC 4511 4.5.1.7.7): with a
// type and no rule the type's equality rule applies; with a rule it applies
// to the named type or, with no type, to every attribute of the entry whose
// equality rule it is; dnAttributes also tests the DN's AVAs.
func (e *Engine) compileExtensible(f *ldap.Filter, opt compileOptions) matcher {
	m := matcher{kind: ldap.FilterExtensible, dnAttrs: f.DNAttributes, cost: opt.cost}
	if len(f.MatchingRule) == 0 && len(f.Attr) == 0 {
		m.undefined = true
		return m
	}
	if len(f.Attr) > 0 {
		base, opts := schema.SplitOptions(string(f.Attr))
		at, ok := e.schema.Attribute(base)
		if !ok || opt.restrict(&m, at) {
			m.undefined = true
			return m
		}
		m.at, m.rule = at, at.Equality
		m.setNames(opt.searchable(e, &m, at, e.subtypes.names(e.schema, at)))
		m.opts = lowerOptions(opts)
	}
	if m.at == nil && opt.access != nil {
		m.guard = opt.access // every attribute is tested: ask for each
	}
	if string(f.MatchingRule) == OIDMatchingRuleInChain {
		return e.compileInChain(f, m)
	}
	if len(f.MatchingRule) > 0 {
		r, ok := e.schema.MatchingRule(string(f.MatchingRule))
		if !ok || r.Kind == schema.SubstringRule {
			m.undefined = true
			return m
		}
		m.rule = r
		if r.Kind == schema.OrderingRule {
			// X.501: an ordering rule in an extensible match holds
			// when the value orders before the assertion (as slapd
			// evaluates it).
			if _, err := r.Compare(f.Value, f.Value); err != nil || (m.at != nil && !ruleApplies(r, m.at)) {
				m.undefined = true
				return m
			}
			m.value = f.Value
			return m
		}
	}
	if m.rule == nil || (m.at != nil && m.rule == m.at.Equality && e.schema.UnknownDescriptor(m.at, f.Value)) {
		m.undefined = true
		return m
	}
	v, err := m.rule.Normalize(f.Value)
	if err != nil {
		m.undefined = true
		return m
	}
	m.value = v
	return m
}

// eval evaluates m against en.
func (e *Engine) eval(m *matcher, en *Entry) tri {
	switch m.kind {
	case ldap.FilterAnd:
		res := triTrue
		for i := range m.children {
			switch e.eval(&m.children[i], en) {
			case triFalse:
				return triFalse
			case triUndefined:
				res = triUndefined
			}
		}
		return res
	case ldap.FilterOr:
		res := triFalse
		for i := range m.children {
			switch e.eval(&m.children[i], en) {
			case triTrue:
				return triTrue
			case triUndefined:
				res = triUndefined
			}
		}
		return res
	case ldap.FilterNot:
		switch e.eval(&m.children[0], en) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUndefined
	}
	if m.undefined {
		return triUndefined
	}
	if m.guard != nil && m.at != nil && !m.guard.Searchable(en, m.at) {
		return triUndefined
	}
	if !m.cost.charge(1) {
		return triUndefined
	}
	if m.kind == ldap.FilterPresent {
		if m.isOC {
			return triTrue
		}
		for i := range en.Attrs {
			if m.holds(en.Attrs[i].Name) && m.subAllowed(en, en.Attrs[i].Name) {
				return triTrue
			}
		}
		return triFalse
	}
	if m.kind == ldap.FilterExtensible {
		if m.chain != nil {
			return m.chain.test(en)
		}
		return e.evalExtensible(m, en)
	}
	for i := range en.Attrs {
		if !m.holds(en.Attrs[i].Name) || !m.subAllowed(en, en.Attrs[i].Name) {
			continue
		}
		for j, v := range en.Attrs[i].Values {
			if j&63 == 0 && !m.cost.charge(min(64, len(en.Attrs[i].Values)-j)) {
				return triUndefined
			}
			if m.matchValue(v) {
				return triTrue
			}
		}
	}
	return triFalse
}

func (m *matcher) matchValue(v []byte) bool {
	switch m.kind {
	case ldap.FilterEqualityMatch:
		if m.class != nil {
			if c, ok := m.schema.ObjectClass(string(v)); ok && c.IsSubclassOf(m.class) {
				return true
			}
		}
		if m.norm == nil {
			n, err := m.at.Normalize(v)
			return err == nil && bytes.Equal(n, m.value)
		}
		n, err := m.at.AppendNormalize((*m.norm)[:0], v)
		return err == nil && bytes.Equal(n, m.value)
	case ldap.FilterApproxMatch:
		return bytes.Equal(m.at.ApproxKey(v), m.value)
	case ldap.FilterGreaterOrEqual:
		c, err := m.at.Compare(v, m.value)
		return err == nil && c >= 0
	case ldap.FilterLessOrEqual:
		c, err := m.at.Compare(v, m.value)
		return err == nil && c <= 0
	case ldap.FilterSubstrings:
		if m.any == nil && m.final == nil {
			// A prefix (autocomplete): compared as the value is
			// prepared, mostly without preparing it whole.
			if match, ok := m.at.HasSubstringPrefix(v, m.initial); ok {
				return match
			}
		}
		var n []byte
		var err error
		if m.norm == nil {
			n, err = m.at.SubstringValue(v)
		} else {
			n, err = m.at.AppendSubstringValue((*m.norm)[:0], v)
		}
		if err != nil {
			return false
		}
		return matchSubstrings(n, m.initial, m.any, m.final)
	}
	return false
}

// matchSubstrings checks initial, any and final pieces in order, without
// overlap (RFC 4511 4.5.1.7.2).
func matchSubstrings(v, initial []byte, any [][]byte, final []byte) bool {
	if !bytes.HasPrefix(v, initial) {
		return false
	}
	v = v[len(initial):]
	for _, a := range any {
		i := bytes.Index(v, a)
		if i < 0 {
			return false
		}
		v = v[i+len(a):]
	}
	return bytes.HasSuffix(v, final)
}

func (e *Engine) evalExtensible(m *matcher, en *Entry) tri {
	test := func(at *schema.AttributeType, v []byte) bool {
		if m.at == nil && !ruleApplies(m.rule, at) {
			return false
		}
		if !m.cost.charge(1) {
			return false
		}
		if m.rule.Kind == schema.OrderingRule {
			c, err := m.rule.Compare(v, m.value)
			return err == nil && c < 0
		}
		n, err := e.normalizeRule(m.rule, v)
		return err == nil && bytes.Equal(n, m.value)
	}
	for i := range en.Attrs {
		base := baseName(en.Attrs[i].Name)
		if m.names != nil && (!m.holds(en.Attrs[i].Name) || !m.subAllowed(en, en.Attrs[i].Name)) {
			continue
		}
		at, ok := e.schema.Attribute(base)
		if !ok {
			continue
		}
		if m.at == nil && m.guard != nil && !m.guard.Searchable(en, at) {
			continue
		}
		for _, v := range en.Attrs[i].Values {
			if test(at, v) {
				return triTrue
			}
		}
	}
	if m.cost.Err() != nil {
		return triUndefined
	}
	if m.dnAttrs {
		dn, err := ldap.ParseDN(en.DN)
		if err == nil {
			for _, rdn := range dn {
				for _, ava := range rdn {
					at, ok := e.schema.Attribute(ava.Type)
					if !ok || (m.names != nil && (!m.names[at.Name()] || len(m.opts) > 0)) {
						continue
					}
					if test(at, []byte(ava.Value)) {
						return triTrue
					}
				}
			}
		}
	}
	if m.cost.Err() != nil {
		return triUndefined
	}
	return triFalse
}

// normalizeRule is r.Normalize(v), without parsing v when r is
// distinguishedNameMatch and v is already the normalised DN of an entry
// in the DN cache (as the member values of groups usually are): an
// extensible item such as (:dn:2.5.13.1:=...) or (member:dn:=...) tests
// every value of every DN-valued attribute of a candidate, tens of
// thousands in a large group.
func (e *Engine) normalizeRule(r *schema.MatchingRule, v []byte) ([]byte, error) {
	if r.OID == "2.5.13.1" && e.cache.lookupDN(string(v)) != 0 {
		return v, nil
	}
	return r.Normalize(v)
}

// usesComputed reports whether a filter item names an operational
// attribute the engine derives at read time (see addComputed), which must
// then be added to each entry before the filter is evaluated: RFC 5020
// makes entryDN usable in assertions, and the others are attributes of the
// entry like any other as far as a filter goes.
func (e *Engine) usesComputed(f *ldap.Filter) bool {
	for i := range f.Children {
		if e.usesComputed(&f.Children[i]) {
			return true
		}
	}
	if len(f.Attr) == 0 {
		return false
	}
	base, _ := schema.SplitOptions(string(f.Attr))
	at, ok := e.schema.Attribute(base)
	if !ok {
		return false
	}
	return e.IsComputed(at)
}

// IsComputed reports whether the engine derives at's values when an entry
// is read (entryDN, subschemaSubentry, hasSubordinates, numSubordinates
// and the virtual attributes of overlays) rather than storing them.
func (e *Engine) IsComputed(at *schema.AttributeType) bool {
	switch at.Name() {
	case "entryDN", "subschemaSubentry", "hasSubordinates", "numSubordinates":
		return true
	}
	return e.virtual(at) != nil
}

// ruleApplies reports whether an extensible match item with a rule and no
// type tests values of at. RFC 4511 4.5.1.7.7 applies the rule to "all
// attributes in an entry that support that matchingRule", the types a
// matchingRuleUse would list (RFC 4512 4.1.4): those whose syntax is the
// rule's assertion syntax, and those whose equality rule it is.
func ruleApplies(r *schema.MatchingRule, at *schema.AttributeType) bool {
	return at.Equality == r || at.Ordering == r || (at.Syntax != nil && at.Syntax.OID == r.SyntaxOID)
}

// holds reports whether an entry attribute with the canonical name (type
// name plus lower-case options) is one the item tests: its type is the
// item's type or a subtype, and it carries every option of the item's
// description. An option makes a subtype (RFC 4512 2.5), so (cn;lang-en=x)
// does not test plain cn values.
func (m *matcher) holds(name string) bool {
	var base string
	if n := len(m.only); n > 0 {
		// The common case, a type without subtypes: compare instead of
		// hashing, and look for options only after a prefix match.
		if len(name) < n || name[0] != m.only[0] || name[:n] != m.only || len(name) > n && name[n] != ';' {
			return false
		}
		base = m.only
	} else {
		base = baseName(name)
		if !m.names[base] {
			return false
		}
	}
	for _, want := range m.opts {
		found := false
		for _, have := range strings.Split(name[len(base):], ";") {
			if have == want {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// setNames sets the canonical names the item's type covers.
// subAllowed reports whether the item may test the entry attribute with
// the canonical name (options allowed) on en: false for a subtype the
// requester may not search in this entry (see searchable).
func (m *matcher) subAllowed(en *Entry, name string) bool {
	if m.subGuard == nil {
		return true
	}
	sub, ok := m.subGuard[baseName(name)]
	return !ok || m.guard.Searchable(en, sub)
}

func (m *matcher) setNames(names map[string]bool) {
	m.names = names
	if len(names) == 1 {
		for n := range names {
			m.only = n
		}
	}
}

func lowerOptions(opts []string) []string {
	if len(opts) == 0 {
		return nil
	}
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = strings.ToLower(o)
	}
	return out
}

// baseName strips options from a canonical attribute name.
func baseName(name string) string {
	if i := strings.IndexByte(name, ';'); i >= 0 {
		return name[:i]
	}
	return name
}
