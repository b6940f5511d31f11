package directory

import (
	"strings"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// ValueFilter is a matched values filter (RFC 3876) compiled against the
// schema once per search: a list of simple filter items, each tested
// against single attribute values rather than whole entries.
type ValueFilter struct {
	items []matcher
}

// CompileValueFilter compiles the simple filter items of a
// ValuesReturnFilter. Items naming an attribute in hidden (case-insensitive)
// never match, as filter items on hidden attributes are Undefined.
// And, or and not items never match (the control's syntax excludes them).
func (e *Engine) CompileValueFilter(items []ldap.Filter, hidden []string) *ValueFilter {
	opt := compileOptions{}
	if len(hidden) > 0 {
		opt.hidden = map[string]bool{}
		for _, h := range hidden {
			opt.hidden[strings.ToLower(h)] = true
		}
	}
	vf := &ValueFilter{items: make([]matcher, len(items))}
	for i := range items {
		vf.items[i] = e.compile(&items[i], opt)
	}
	return vf
}

// Match reports whether the value v of the entry attribute attrName
// (canonical name with options, as in Entry.Attrs) matches some item of the
// filter: RFC 3876 section 2 returns exactly those values.
func (vf *ValueFilter) Match(e *Engine, attrName string, v []byte) bool {
	for i := range vf.items {
		if e.valueMatch(&vf.items[i], attrName, v) {
			return true
		}
	}
	return false
}

// ValueMatches reports whether the single value v of the attribute attrName
// satisfies the simple filter item: the item's attribute is attrName's type
// or a supertype of it, and the value matches by the item's rule. A present
// item matches every value of its attribute.
func (e *Engine) ValueMatches(item *ldap.Filter, attrName string, v []byte) bool {
	m := e.compile(item, compileOptions{})
	return e.valueMatch(&m, attrName, v)
}

func (e *Engine) valueMatch(m *matcher, attrName string, v []byte) bool {
	switch m.kind {
	case ldap.FilterAnd, ldap.FilterOr, ldap.FilterNot:
		return false
	}
	if m.undefined || m.chain != nil {
		return false
	}
	if m.kind == ldap.FilterExtensible {
		if m.names != nil && !m.holds(attrName) {
			return false
		}
		one := Entry{Attrs: []Attr{{Name: attrName, Values: [][]byte{v}}}}
		mm := *m
		mm.dnAttrs = false // the DN is not a value of the attribute
		return e.evalExtensible(&mm, &one) == triTrue
	}
	if !m.holds(attrName) {
		return false
	}
	if m.kind == ldap.FilterPresent {
		return true
	}
	return m.matchValue(v)
}
