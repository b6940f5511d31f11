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

	"github.com/switchboard-ldap/switchboard/change"
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
		if f.Partner(s.BindDN()) != nil {
			// A partner's view is what it was given to copy, in full:
			// no default size limit (a by_identity rule may set one).
			out.size = 0
		}
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
	found, err := f.engine.IsMember(ctx, ndn, ngroup)
	if err != nil {
		f.cfg.Logger.Debug("limits: group membership lookup failed", "group", ngroup, "err", err)
	}
	return found
}

// Write limits.
//
// Everyone but the root DN writes under WriteLimits, which keeps one
// ordinary account from filling the store's disk (a self-writable
// jpegPhoto takes values as large as a request, 4 MiB by default):
//
//   - a size limit per attribute value (MaxValueBytes, with exceptions per
//     attribute type in ValueBytesByAttr);
//   - a size limit for the entry a write leaves behind (MaxEntryBytes: the
//     value bytes of all its attributes);
//   - a write quota per identity (BytesPerMinute: the value bytes its adds
//     and modifies may carry in one minute, counted when the request is
//     checked, whether or not it then succeeds).
//
// A write beyond any of them is refused with adminLimitExceeded (11) and
// a diagnostic naming the limit. 0 in any field means no limit.

// WriteLimits bounds what identities other than the root DN may write.
// Build it with NewWriteLimits; a nil *WriteLimits limits nothing.
type WriteLimits struct {
	cfg WriteLimitsConfig

	mu     sync.Mutex
	quotas map[string]*writeWindow // by bind DN ("" anonymous)
	now    func() time.Time
}

// WriteLimitsConfig configures WriteLimits.
type WriteLimitsConfig struct {
	// MaxValueBytes bounds one attribute value; ValueBytesByAttr replaces
	// it for the named attribute types (canonical or any alias; a
	// negative value means none).
	MaxValueBytes    int
	ValueBytesByAttr map[string]int
	// MaxEntryBytes bounds the value bytes of an entry after a write.
	MaxEntryBytes int
	// BytesPerMinute bounds the value bytes one identity writes in a
	// minute.
	BytesPerMinute int64
}

type writeWindow struct {
	start time.Time
	bytes int64
}

// maxQuotaIdentities bounds the identities whose quota is tracked at once;
// when full, windows that ended are dropped, and all if none has.
const maxQuotaIdentities = 1 << 16

// NewWriteLimits checks cfg: the attribute names must be in the schema
// (canon returns an attribute type's canonical name).
func NewWriteLimits(cfg WriteLimitsConfig, canon func(string) (string, bool)) (*WriteLimits, error) {
	if cfg.MaxValueBytes < 0 || cfg.MaxEntryBytes < 0 || cfg.BytesPerMinute < 0 {
		return nil, fmt.Errorf("write limits must not be negative")
	}
	by := make(map[string]int, len(cfg.ValueBytesByAttr))
	for name, n := range cfg.ValueBytesByAttr {
		c, ok := canon(name)
		if !ok {
			return nil, fmt.Errorf("value size limit for %q: no such attribute type", name)
		}
		by[strings.ToLower(c)] = n
	}
	cfg.ValueBytesByAttr = by
	return &WriteLimits{cfg: cfg, quotas: map[string]*writeWindow{}, now: time.Now}, nil
}

// valueLimit returns the size limit of one value of the attribute whose
// canonical name is name; 0: none.
func (l *WriteLimits) valueLimit(name string) int {
	if n, ok := l.cfg.ValueBytesByAttr[strings.ToLower(name)]; ok {
		return max(n, 0)
	}
	return l.cfg.MaxValueBytes
}

// checkValues refuses a value over its attribute's limit, and returns
// the bytes of all values.
func (l *WriteLimits) checkValues(attrs []directory.Attr, canon func(string) string) (int64, error) {
	var total int64
	for _, a := range attrs {
		name := canon(a.Name)
		limit := l.valueLimit(name)
		for _, v := range a.Values {
			total += int64(len(v))
			if limit > 0 && len(v) > limit {
				return 0, &ldap.Error{Code: ldap.AdminLimitExceeded, Message: fmt.Sprintf(
					"a value of %s has %d bytes; the limit is %d bytes per value", name, len(v), limit)}
			}
		}
	}
	return total, nil
}

// charge counts n bytes against the quota of identity ndn, refusing them
// when the minute's quota would be exceeded.
func (l *WriteLimits) charge(ndn string, n int64) error {
	if l.cfg.BytesPerMinute <= 0 || n == 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.quotas[ndn]
	if w == nil || now.Sub(w.start) >= time.Minute {
		if w == nil && len(l.quotas) >= maxQuotaIdentities {
			for k, o := range l.quotas {
				if now.Sub(o.start) >= time.Minute {
					delete(l.quotas, k)
				}
			}
			if len(l.quotas) >= maxQuotaIdentities {
				clear(l.quotas)
			}
		}
		w = &writeWindow{start: now}
		l.quotas[ndn] = w
	}
	if w.bytes+n > l.cfg.BytesPerMinute {
		return &ldap.Error{Code: ldap.AdminLimitExceeded, Message: fmt.Sprintf(
			"write quota exceeded: this identity may write %d bytes of values per minute; retry later", l.cfg.BytesPerMinute)}
	}
	w.bytes += n
	return nil
}

// entryBytes returns the value bytes of en.
func entryBytes(en *directory.Entry) int64 {
	var n int64
	for _, a := range en.Attrs {
		for _, v := range a.Values {
			n += int64(len(v))
		}
	}
	return n
}

// checkEntry refuses an entry of n value bytes over MaxEntryBytes.
func (l *WriteLimits) checkEntry(n int64) error {
	if l.cfg.MaxEntryBytes > 0 && n > int64(l.cfg.MaxEntryBytes) {
		return &ldap.Error{Code: ldap.AdminLimitExceeded, Message: fmt.Sprintf(
			"the entry would hold %d bytes of values; the limit is %d bytes", n, l.cfg.MaxEntryBytes)}
	}
	return nil
}

// checkAdd applies the limits to an add by identity ndn.
func (l *WriteLimits) checkAdd(ndn string, attrs []directory.Attr, canon func(string) string) error {
	if l == nil {
		return nil
	}
	n, err := l.checkValues(attrs, canon)
	if err != nil {
		return err
	}
	if err := l.checkEntry(n); err != nil {
		return err
	}
	return l.charge(ndn, n)
}

// checkModify applies the limits to a modify of en (nil when the caller
// did not load it: then the entry's size is not checked) by identity ndn.
// The entry's size after the change is estimated from the request: added
// and replacing values count, deleted and replaced ones are subtracted.
func (l *WriteLimits) checkModify(ndn string, en *directory.Entry, mods []directory.Mod, canon func(string) string) error {
	if l == nil {
		return nil
	}
	var written int64
	size := int64(-1)
	if en != nil {
		size = entryBytes(en)
	}
	for _, m := range mods {
		if m.Op == change.ModDelete {
			if size >= 0 && len(m.Attr.Values) == 0 {
				size -= attrBytes(en, canon(m.Attr.Name), canon)
			}
			for _, v := range m.Attr.Values {
				size -= int64(len(v))
			}
			continue
		}
		n, err := l.checkValues([]directory.Attr{m.Attr}, canon)
		if err != nil {
			return err
		}
		written += n
		if size >= 0 {
			if m.Op == change.ModReplace {
				size -= attrBytes(en, canon(m.Attr.Name), canon)
			}
			size += n
		}
	}
	if size >= 0 {
		if err := l.checkEntry(size); err != nil {
			return err
		}
	}
	return l.charge(ndn, written)
}

// attrBytes returns the value bytes en holds for the attribute named name
// (canonical), with any options.
func attrBytes(en *directory.Entry, name string, canon func(string) string) int64 {
	var n int64
	for _, a := range en.Attrs {
		if strings.EqualFold(canon(a.Name), name) {
			for _, v := range a.Values {
				n += int64(len(v))
			}
		}
	}
	return n
}
