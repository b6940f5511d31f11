package frontend

// Search limits by identity.
//
// Config.SizeLimit and Config.TimeLimit apply to everyone but the root DN.
// A Limits value gives chosen identities their own: an ordered list of
// rules, each naming who it is for (one DN, the members of a group, every
// authenticated user, anonymous sessions, or everyone) and the size, time
// and lookthrough limits that replace the defaults. The first rule that
// matches the session's identity wins, as with slapd's "limits" directive.
// The root DN is unlimited unless a rule names its DN.
//
// Lookthrough is the number of candidate entries the engine may examine
// for one search (directory.SearchRequest.LookthroughLimit); a search
// that needs more ends with adminLimitExceeded (11) after the entries
// found so far, as RFC 4511 4.5.2 allows for any result.
//
// Resolving is a string comparison per rule, except for group rules,
// which need a membership lookup: the outcome is cached per bound DN for
// a minute (at most 4096 identities; the cache is emptied when full), so a
// busy session pays one map lookup per search.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Who a LimitRule is for, besides one DN or one group's members.
const (
	LimitUsers     = "users"     // every authenticated identity
	LimitAnonymous = "anonymous" // sessions without a bind
	LimitEveryone  = "*"
)

// LimitRule gives one identity, group or class of sessions its limits.
// Exactly one of DN, Group and Who is set. In Size and Lookthrough, 0
// keeps the default and a negative value means no limit; a zero Time keeps
// the default and a negative one means none.
type LimitRule struct {
	DN    string
	Group string
	Who   string

	Size        int
	Time        time.Duration
	Lookthrough int
}

// Limits is an ordered list of LimitRules. Build it with NewLimits.
type Limits struct {
	rules []limitRule

	mu      sync.Mutex
	cache   map[string]cachedLimits
	hasGrps bool
}

type limitRule struct {
	LimitRule
	ndn, ngroup string
}

type cachedLimits struct {
	rule int // index in rules, -1 for none
	at   time.Time
}

const (
	limitsCacheTTL = time.Minute
	limitsCacheMax = 4096
)

// NewLimits checks and normalises rules with the schema's DN rules.
func NewLimits(normalize func(string) (string, error), rules []LimitRule) (*Limits, error) {
	l := &Limits{cache: map[string]cachedLimits{}}
	for i, r := range rules {
		set := 0
		for _, s := range []string{r.DN, r.Group, r.Who} {
			if s != "" {
				set++
			}
		}
		if set != 1 {
			return nil, fmt.Errorf("limits rule %d: give exactly one of dn, group and who", i+1)
		}
		lr := limitRule{LimitRule: r}
		var err error
		switch {
		case r.DN != "":
			if lr.ndn, err = normalize(r.DN); err != nil {
				return nil, fmt.Errorf("limits rule %d: dn %q: %w", i+1, r.DN, err)
			}
		case r.Group != "":
			if lr.ngroup, err = normalize(r.Group); err != nil {
				return nil, fmt.Errorf("limits rule %d: group %q: %w", i+1, r.Group, err)
			}
			l.hasGrps = true
		default:
			switch strings.ToLower(r.Who) {
			case LimitUsers, LimitAnonymous, LimitEveryone:
				lr.Who = strings.ToLower(r.Who)
			default:
				return nil, fmt.Errorf("limits rule %d: who %q is none of users, anonymous, *", i+1, r.Who)
			}
		}
		l.rules = append(l.rules, lr)
	}
	return l, nil
}

// searchLimits are the limits one search runs under; 0 means none.
type searchLimits struct {
	size        int
	time        time.Duration
	lookthrough int
	unlimited   bool // the engine's unindexed limit does not apply
}

// limitsFor resolves the limits of the session's identity.
func (f *Frontend) limitsFor(ctx context.Context, s *ldap.Session) searchLimits {
	root := f.isRoot(s)
	var out searchLimits
	if !root {
		out.size = max(f.cfg.SizeLimit, 0)
		out.time = max(f.cfg.TimeLimit, 0)
	} else {
		out.unlimited = true
	}
	if f.cfg.Limits == nil {
		return out
	}
	r := f.cfg.Limits.match(ctx, f, s.BindDN(), root)
	if r == nil {
		return out
	}
	pick := func(v, def int) int {
		switch {
		case v < 0:
			return 0
		case v == 0:
			return def
		}
		return v
	}
	out.size = pick(r.Size, out.size)
	out.lookthrough = pick(r.Lookthrough, 0)
	switch {
	case r.Time < 0:
		out.time = 0
	case r.Time > 0:
		out.time = r.Time
	}
	return out
}

// match returns the first rule for the identity ndn ("" anonymous), or nil.
func (l *Limits) match(ctx context.Context, f *Frontend, ndn string, root bool) *limitRule {
	if l.hasGrps && ndn != "" {
		l.mu.Lock()
		c, ok := l.cache[ndn]
		l.mu.Unlock()
		if ok && time.Since(c.at) < limitsCacheTTL {
			if c.rule < 0 {
				return nil
			}
			return &l.rules[c.rule]
		}
	}
	idx := -1
	for i := range l.rules {
		r := &l.rules[i]
		var hit bool
		switch {
		case r.ndn != "":
			hit = r.ndn == ndn
		case root:
			// The root DN is only limited by a rule naming it.
		case r.ngroup != "":
			hit = ndn != "" && f.isMemberOf(ctx, ndn, r.ngroup)
		case r.Who == LimitEveryone:
			hit = true
		case r.Who == LimitUsers:
			hit = ndn != ""
		case r.Who == LimitAnonymous:
			hit = ndn == ""
		}
		if hit {
			idx = i
			break
		}
	}
	if l.hasGrps && ndn != "" {
		l.mu.Lock()
		if len(l.cache) >= limitsCacheMax {
			clear(l.cache)
		}
		l.cache[ndn] = cachedLimits{rule: idx, at: time.Now()}
		l.mu.Unlock()
	}
	if idx < 0 {
		return nil
	}
	return &l.rules[idx]
}

// isMemberOf reports whether ndn is a member of the group ngroup, directly
// or through nested groups (member, by LDAP_MATCHING_RULE_IN_CHAIN) or
// directly by uniqueMember.
func (f *Frontend) isMemberOf(ctx context.Context, ndn, ngroup string) bool {
	filter := &ldap.Filter{Kind: ldap.FilterOr, Children: []ldap.Filter{
		{Kind: ldap.FilterExtensible, Attr: []byte("member"), MatchingRule: []byte(directory.OIDMatchingRuleInChain), Value: []byte(ndn)},
		{Kind: ldap.FilterEqualityMatch, Attr: []byte("uniqueMember"), Value: []byte(ndn)},
	}}
	found := false
	err := f.engine.Search(ctx, &directory.SearchRequest{BaseDN: ngroup, Scope: ldap.ScopeBaseObject, Filter: filter, Unlimited: true},
		func(*directory.Entry) error { found = true; return directory.ErrStop })
	if err != nil {
		f.cfg.Logger.Debug("limits: group membership lookup failed", "group", ngroup, "err", err)
	}
	return found
}
