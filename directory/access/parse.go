package access

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// Scope is how a DN in a rule selects entries.
type Scope uint8

// Values of Scope.
const (
	ScopeAll      Scope = iota // every entry ("*", or no dn= at all)
	ScopeBase                  // the entry itself: dn=, dn.base=, dn.exact=
	ScopeOne                   // its immediate children: dn.one=, dn.onelevel=
	ScopeSubtree               // itself and everything below: dn.subtree=, dn.sub=
	ScopeChildren              // everything below, not itself: dn.children=
)

var scopeNames = map[string]Scope{
	"": ScopeBase, "base": ScopeBase, "exact": ScopeBase, "baseobject": ScopeBase,
	"one": ScopeOne, "onelevel": ScopeOne,
	"sub": ScopeSubtree, "subtree": ScopeSubtree,
	"children": ScopeChildren,
}

func (s Scope) String() string {
	return [...]string{"*", "base", "one", "subtree", "children"}[s]
}

// WhoKind is the kind of one subject term of a "by" clause.
type WhoKind uint8

// Values of WhoKind.
const (
	WhoAny          WhoKind = iota // *
	WhoAnonymous                   // anonymous
	WhoUsers                       // users: any authenticated identity
	WhoSelf                        // self: the entry is the requester's own
	WhoDN                          // dn[.style]="DN": the requester's DN
	WhoGroup                       // group="DN": member of that group, nested groups included
	WhoNetwork                     // network=CIDR: the client's address
	WhoTLS                         // tls: the connection has TLS
	WhoSelfChildren                // self.children: the entry is below the requester's own
)

// Who is one subject term.
type Who struct {
	Kind    WhoKind
	Scope   Scope        // WhoDN
	DN      string       // WhoDN, WhoGroup: as written
	Network netip.Prefix // WhoNetwork
}

// Clause is one "by" clause: every term must hold for it to apply.
type Clause struct {
	Who    []Who
	Access Privileges
}

// Rule is one parsed access rule, before it is compiled against a schema.
type Rule struct {
	Scope  Scope
	DN     string   // as written, with Scope
	Filter string   // RFC 4515 string, "" for none
	Attrs  []string // as written, "" none: every attribute, "entry" and "children"
	By     []Clause
}

// SyntaxError is a malformed rule: Col is the 1-based column of the
// offending word.
type SyntaxError struct {
	Col int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

type token struct {
	text string
	col  int // 1-based
}

// tokenize splits s into words at white space outside double quotes and
// parentheses, so dn="ou=a b" and filter=(cn=a b) are single words.
func tokenize(s string) ([]token, error) {
	var out []token
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return out, nil
		}
		start, depth, quoted := i, 0, false
		for ; i < len(s); i++ {
			c := s[i]
			if quoted {
				switch c {
				case '\\':
					i++
				case '"':
					quoted = false
				}
				continue
			}
			switch {
			case c == '"':
				quoted = true
			case c == '(':
				depth++
			case c == ')':
				depth--
			case isSpace(c) && depth <= 0:
				goto word
			}
		}
	word:
		if quoted {
			return nil, &SyntaxError{start + 1, "unterminated quoted string"}
		}
		if depth > 0 {
			return nil, &SyntaxError{start + 1, "unbalanced parentheses"}
		}
		if i > len(s) {
			i = len(s)
		}
		out = append(out, token{s[start:i], start + 1})
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// unquote returns v without surrounding double quotes and with \" and \\
// unescaped; a value without quotes is returned as it is.
func unquote(v string, col int) (string, error) {
	if !strings.HasPrefix(v, `"`) {
		if strings.Contains(v, `"`) {
			return "", &SyntaxError{col, "stray double quote in " + strconv.Quote(v)}
		}
		return v, nil
	}
	if len(v) < 2 || v[len(v)-1] != '"' {
		return "", &SyntaxError{col, "text after the closing quote in " + v}
	}
	var b strings.Builder
	for i := 1; i < len(v)-1; i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v)-1 {
			i++
			c = v[i]
		} else if c == '"' {
			return "", &SyntaxError{col, "text after the closing quote in " + v}
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// Parse parses one rule in the text form
//
//	to <what> by <who> <access> [by <who> <access> ...]
//
// described in the package documentation.
func Parse(text string) (*Rule, error) {
	toks, err := tokenize(text)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, &SyntaxError{1, "empty rule"}
	}
	if !strings.EqualFold(toks[0].text, "to") {
		return nil, &SyntaxError{toks[0].col, `rule must start with "to", found ` + strconv.Quote(toks[0].text)}
	}
	r := &Rule{}
	i := 1
	var sawDN, sawFilter, sawAttrs, sawAll bool
	for ; i < len(toks) && !strings.EqualFold(toks[i].text, "by"); i++ {
		t := toks[i]
		if t.text == "*" {
			if sawAll {
				return nil, &SyntaxError{t.col, `"*" given twice`}
			}
			sawAll = true
			continue
		}
		key, val, ok := strings.Cut(t.text, "=")
		if !ok {
			return nil, &SyntaxError{t.col, "expected *, dn=, filter= or attrs=, found " + strconv.Quote(t.text)}
		}
		val, err := unquote(val, t.col)
		if err != nil {
			return nil, err
		}
		lkey := strings.ToLower(key)
		switch {
		case lkey == "dn" || strings.HasPrefix(lkey, "dn."):
			if sawDN {
				return nil, &SyntaxError{t.col, "dn given twice"}
			}
			sawDN = true
			sc, ok := scopeNames[strings.TrimPrefix(strings.TrimPrefix(lkey, "dn"), ".")]
			if !ok || lkey == "dn." {
				return nil, &SyntaxError{t.col, "unknown dn style " + strconv.Quote(key) + " (use dn.base, dn.one, dn.subtree or dn.children)"}
			}
			if _, err := ldap.ParseDN(val); err != nil {
				return nil, &SyntaxError{t.col, "invalid DN " + strconv.Quote(val)}
			}
			r.Scope, r.DN = sc, val
		case lkey == "filter":
			if sawFilter {
				return nil, &SyntaxError{t.col, "filter given twice"}
			}
			sawFilter = true
			if _, err := ldap.ParseFilter(val); err != nil {
				return nil, &SyntaxError{t.col, "invalid filter " + strconv.Quote(val) + ": " + err.Error()}
			}
			r.Filter = val
		case lkey == "attrs" || lkey == "attr":
			if sawAttrs {
				return nil, &SyntaxError{t.col, "attrs given twice"}
			}
			sawAttrs = true
			for _, a := range strings.Split(val, ",") {
				a = strings.TrimSpace(a)
				if a == "" || !validAttrName(a) {
					return nil, &SyntaxError{t.col, "invalid attribute name " + strconv.Quote(a) + " in attrs="}
				}
				r.Attrs = append(r.Attrs, a)
			}
		default:
			return nil, &SyntaxError{t.col, "unknown target " + strconv.Quote(key) + " (use *, dn=, filter= or attrs=)"}
		}
	}
	if sawAll && (sawDN || sawFilter || sawAttrs) {
		return nil, &SyntaxError{toks[1].col, `"*" cannot be combined with dn=, filter= or attrs=`}
	}
	if i == 1 {
		col := len(text) + 1
		if i < len(toks) {
			col = toks[i].col
		}
		return nil, &SyntaxError{col, `missing target after "to" (use * for everything)`}
	}
	if i == len(toks) {
		return nil, &SyntaxError{len(text) + 1, `rule has no "by" clause`}
	}
	for i < len(toks) {
		byCol := toks[i].col
		i++ // "by"
		var c Clause
		for ; i < len(toks); i++ {
			w, ok, err := parseWho(toks[i])
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			c.Who = append(c.Who, w)
		}
		if len(c.Who) == 0 {
			col := len(text) + 1
			if i < len(toks) {
				col = toks[i].col
			}
			return nil, &SyntaxError{col, "by clause without a subject (use *, anonymous, users, self, dn=, group=, network= or tls)"}
		}
		if i == len(toks) {
			return nil, &SyntaxError{byCol, "by clause without an access level"}
		}
		p, ok := ParseAccess(toks[i].text)
		if !ok {
			return nil, &SyntaxError{toks[i].col, "unknown access " + strconv.Quote(toks[i].text) + " (use none, disclose, auth, compare, search, read, write, add, delete or =dxcsrazw)"}
		}
		c.Access = p
		r.By = append(r.By, c)
		i++
		if i < len(toks) && !strings.EqualFold(toks[i].text, "by") {
			return nil, &SyntaxError{toks[i].col, `expected "by" or the end of the rule, found ` + strconv.Quote(toks[i].text)}
		}
	}
	return r, nil
}

// parseWho parses a subject term; ok is false when t is not one (it may be
// the access level that ends the clause).
func parseWho(t token) (Who, bool, error) {
	switch strings.ToLower(t.text) {
	case "*":
		return Who{Kind: WhoAny}, true, nil
	case "anonymous":
		return Who{Kind: WhoAnonymous}, true, nil
	case "users":
		return Who{Kind: WhoUsers}, true, nil
	case "self":
		return Who{Kind: WhoSelf}, true, nil
	case "self.children":
		return Who{Kind: WhoSelfChildren}, true, nil
	case "tls":
		return Who{Kind: WhoTLS}, true, nil
	}
	key, val, ok := strings.Cut(t.text, "=")
	if !ok || key == "" {
		return Who{}, false, nil
	}
	lkey := strings.ToLower(key)
	switch {
	case lkey == "dn" || strings.HasPrefix(lkey, "dn."):
		sc, ok := scopeNames[strings.TrimPrefix(strings.TrimPrefix(lkey, "dn"), ".")]
		if !ok || lkey == "dn." {
			return Who{}, false, &SyntaxError{t.col, "unknown dn style " + strconv.Quote(key) + " (use dn.base, dn.one, dn.subtree or dn.children)"}
		}
		v, err := unquote(val, t.col)
		if err != nil {
			return Who{}, false, err
		}
		if _, err := ldap.ParseDN(v); err != nil {
			return Who{}, false, &SyntaxError{t.col, "invalid DN " + strconv.Quote(v)}
		}
		return Who{Kind: WhoDN, Scope: sc, DN: v}, true, nil
	case lkey == "group":
		v, err := unquote(val, t.col)
		if err != nil {
			return Who{}, false, err
		}
		if _, err := ldap.ParseDN(v); err != nil || v == "" {
			return Who{}, false, &SyntaxError{t.col, "invalid group DN " + strconv.Quote(v)}
		}
		return Who{Kind: WhoGroup, DN: v}, true, nil
	case lkey == "network":
		v, err := unquote(val, t.col)
		if err != nil {
			return Who{}, false, err
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return Who{}, false, &SyntaxError{t.col, "invalid network " + strconv.Quote(v) + " (use an address or CIDR prefix such as 10.0.0.0/8)"}
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		return Who{Kind: WhoNetwork, Network: p.Masked()}, true, nil
	}
	if _, isAccess := ParseAccess(t.text); isAccess {
		return Who{}, false, nil
	}
	return Who{}, false, &SyntaxError{t.col, "unknown subject " + strconv.Quote(key) + " (use dn=, group= or network=)"}
}

func validAttrName(a string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ';') {
			return false
		}
	}
	return true
}

// String returns the rule in canonical text form, which Parse reads back
// to an equal rule.
func (r *Rule) String() string {
	var b strings.Builder
	b.WriteString("to")
	if r.Scope == ScopeAll && r.Filter == "" && len(r.Attrs) == 0 {
		b.WriteString(" *")
	}
	if r.Scope != ScopeAll {
		fmt.Fprintf(&b, " dn.%s=%s", r.Scope, quote(r.DN))
	}
	if r.Filter != "" {
		b.WriteString(" filter=" + quote(r.Filter))
	}
	if len(r.Attrs) > 0 {
		b.WriteString(" attrs=" + strings.Join(r.Attrs, ","))
	}
	for _, c := range r.By {
		b.WriteString(" by")
		for _, w := range c.Who {
			b.WriteByte(' ')
			b.WriteString(w.String())
		}
		b.WriteByte(' ')
		b.WriteString(c.Access.String())
	}
	return b.String()
}

func (w Who) String() string {
	switch w.Kind {
	case WhoAnonymous:
		return "anonymous"
	case WhoUsers:
		return "users"
	case WhoSelf:
		return "self"
	case WhoSelfChildren:
		return "self.children"
	case WhoTLS:
		return "tls"
	case WhoDN:
		return "dn." + w.Scope.String() + "=" + quote(w.DN)
	case WhoGroup:
		return "group=" + quote(w.DN)
	case WhoNetwork:
		return "network=" + w.Network.String()
	}
	return "*"
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
