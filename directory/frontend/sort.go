package frontend

// Server-side sorting (RFC 2891) and the virtual list view
// (draft-ietf-ldapext-ldapv3-vlv-09).
//
// A sorted search on one key whose index can order it, and whose filter,
// scope and access the indexes and static rules decide, is put in order
// from the key's index without reading an entry (indexSort,
// directory.Engine.IndexSort); only the entries written are read. Any
// other sorted search gathers, for every matching entry, its normalised
// DN and its sort key values (sortGather; never the entry itself), sorts
// these rows, and then reads again and writes the entries of all of
// them, of one page (RFC 2696) or of one VLV window, as slapd's sssvlv
// does. Both give the same order, counts and positions.
// Nothing is kept between requests: a sorted paged search or a VLV browse
// runs the search and the sort again for each page or window. The
// paged-results cookie of a sorted search carries the offset of the next
// entry in the sorted list plus the request fingerprint (which covers the
// sort keys), so it stays stateless and a cookie replayed with another
// search or other keys is refused. The VLV contextID is not used (the
// draft allows a server to ignore it); none is returned. An entry deleted
// or changed so that it no longer matches between gathering and writing
// is left out.
//
// Limits: a search gathers at most Config.SortLimit entries
// (Config.SortRootLimit for the root DN), and the rows of all concurrent
// sorts share Config.SortBudget (sortbudget.go). Beyond the first, or
// when the rows alone would exceed the whole budget, the sort fails with
// adminLimitExceeded (11); when other sorts hold the budget past its
// wait, with busy (51).
//
// Ordering, per key:
//   - the attribute's ORDERING rule, or the orderingRule the key names,
//     which must be an ordering rule for the attribute's syntax (otherwise
//     inappropriateMatching, 18); an unknown attribute is noSuchAttribute
//     (16);
//   - a type without an ORDERING rule (cn, sn, displayName, mail) and no
//     rule named is ordered by its EQUALITY rule: values normalised by it
//     and compared bytewise, as 389-ds and Active Directory do (for
//     caseIgnoreMatch this is caseIgnoreOrderingMatch's order). With
//     Config.StrictSort such keys fail with inappropriateMatching, as in
//     slapd;
//   - an entry without the attribute sorts after every entry that has it
//     ("larger than any value", RFC 2891 section 2.2), so first in reverse
//     order;
//   - a multi-valued attribute sorts by its least value under the rule, in
//     both directions, so that reverseOrder gives exactly the mirror of the
//     ascending order (slapd's sssvlv does the same);
//   - ties keep the engine's order, ascending entry ID, in both
//     directions: the sort is stable.
//
// When a sort cannot be done, RFC 2891 section 2.2 applies: with a
// critical control the search fails with no entries and the reason in the
// sortResult of the response control: the result is
// unavailableCriticalExtension (12), or the limit's own code
// (adminLimitExceeded, busy) when a limit stopped it, as for an unsorted
// search over a limit. With a non-critical control the entries are
// returned unsorted, with the response control saying why.

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strconv"
	"unsafe"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// VLV result codes (draft-ietf-ldapext-ldapv3-vlv-09 section 6.2), also
// registered as LDAP result codes.
const (
	sortControlMissing ldap.ResultCode = 60
	offsetRangeError   ldap.ResultCode = 61
)

// sortKey is a resolved sort key.
type sortKey struct {
	at      *schema.AttributeType // the key's type; with the ordering rule to use unless eq
	eq      bool                  // no ordering rule: order by the EQUALITY normal form, bytewise
	names   map[string]bool       // canonical names of the type and its subtypes
	opts    []string              // options the attribute must carry
	reverse bool
}

// resolveSortKeys checks the keys against the schema. On failure it
// returns the sortResult code and the attribute description at fault.
// Keys the requester may read in no entry of the search are refused with
// insufficientAccessRights; the values of keys readable in only some
// entries are left out in the others (see sortGather.add).
func (f *Frontend) resolveSortKeys(keys []ldap.SortKey, acc *searchAccess) ([]sortKey, ldap.ResultCode, string) {
	out := make([]sortKey, 0, len(keys))
	seen := map[*schema.AttributeType]bool{}
	for _, k := range keys {
		desc := string(k.Attr)
		base, opts := schema.SplitOptions(desc)
		at, ok := f.schema.Attribute(base)
		if !ok || !schema.ValidDescription(desc) {
			return nil, ldap.NoSuchAttribute, desc
		}
		if seen[at] {
			// RFC 2891 section 1.1: a type may occur once.
			return nil, ldap.UnwillingToPerform, desc
		}
		seen[at] = true
		if acc != nil {
			if has, ok := acc.rq.StaticHas(acc.base, acc.scope, at.Name(), access.Read); ok && !has {
				return nil, ldap.InsufficientAccessRights, desc
			}
		}
		ord := at
		if k.OrderingRule != nil {
			r, ok := f.schema.MatchingRule(string(k.OrderingRule))
			if !ok || r.Kind != schema.OrderingRule {
				return nil, ldap.InappropriateMatching, desc
			}
			if r != at.Ordering {
				if at.Syntax == nil || at.Syntax.OID != r.SyntaxOID {
					return nil, ldap.InappropriateMatching, desc
				}
				c := *at
				c.Ordering = r
				ord = &c
			}
		}
		sk := sortKey{at: ord, names: f.engine.Subtypes(at), opts: lowerAll(opts), reverse: k.Reverse}
		if index.ByNormalForm(ord) {
			sk.eq = true // the same order, each value normalised once
		}
		if ord.Ordering == nil {
			// No ORDERING rule: 389-ds and Active Directory order such
			// types (cn, sn, displayName) by their equality normal form;
			// slapd refuses them (StrictSort).
			if f.cfg.StrictSort || at.Equality == nil {
				return nil, ldap.InappropriateMatching, desc
			}
			sk.eq = true
		}
		out = append(out, sk)
	}
	return out, ldap.Success, ""
}

// value returns the key's value for en: its least value under the
// ordering rule (by equality: the least normal form), nil when en has
// none the rule can order. ea, when set, leaves out the attributes the
// requester may not read. The result aliases en's values or is new.
func (k *sortKey) value(en *directory.Entry, ea *access.EntryAccess) []byte {
	var min []byte
	for _, a := range en.Attrs {
		base, opts := schema.SplitOptions(a.Name)
		if !k.names[base] || !hasOptions(opts, k.opts) {
			continue
		}
		if ea != nil && !ea.Attr(a.Name).Has(access.Read) {
			continue
		}
		for _, v := range a.Values {
			if k.eq {
				n, err := k.at.Normalize(v)
				if err == nil && (min == nil || bytes.Compare(n, min) < 0) {
					min = n
				}
				continue
			}
			if min == nil {
				if _, err := k.at.Compare(v, v); err == nil {
					min = v
				}
				continue
			}
			if c, err := k.at.Compare(v, min); err == nil && c < 0 {
				min = v
			}
		}
	}
	return min
}

// order compares two key values (both present) under the key's rule.
func (k *sortKey) order(x, y []byte) (int, error) {
	if k.eq {
		return bytes.Compare(x, y), nil
	}
	return k.at.Compare(x, y)
}

// assertion prepares a VLV greaterThanOrEqual value for order.
func (k *sortKey) assertion(v []byte) ([]byte, error) {
	if k.eq {
		return k.at.Normalize(v)
	}
	return v, nil
}

// compare orders two key values: absent is larger than any value, and
// reverse flips the result.
func (k *sortKey) compare(x, y []byte) int {
	var c int
	switch {
	case x == nil && y == nil:
		c = 0
	case x == nil:
		c = 1
	case y == nil:
		c = -1
	default:
		c, _ = k.order(x, y)
	}
	if k.reverse {
		c = -c
	}
	return c
}

// sortRow is one entry of a sorted search: its normalised DN, by which
// it is read again when written, and its key values. Both live in the
// gather's arena.
type sortRow struct {
	ndn  []byte
	vals [][]byte
}

// Sizes charged to the SortBudget: the arena's blocks and the row slice.
const (
	sortRowBytes    = int64(unsafe.Sizeof(sortRow{}))
	sortHeaderBytes = int64(unsafe.Sizeof([]byte(nil)))
	sortArenaBlock  = 64 << 10  // bytes of one arena block
	sortHeaderBlock = 2048      // value headers of one block
	sortBudgetStep  = 256 << 10 // bytes taken from the budget at a time
)

// sortGather collects the rows of a sorted search: per entry its DN and
// key values, copied into an arena of blocks, never the entry itself
// (the entries to send are read again afterwards, one at a time). Every
// block is charged to the budget before it is allocated.
type sortGather struct {
	ctx    context.Context
	keys   []sortKey
	budget *SortBudget // nil: none
	limit  int         // rows at most (0: none)

	rows       []sortRow
	buf        []byte
	hdrs       [][]byte
	held, used int64
}

// charge accounts for n more bytes, taking them from the budget.
func (g *sortGather) charge(n int64) error {
	g.used += n
	if g.budget == nil || g.used <= g.held {
		return nil
	}
	step := max(g.used-g.held, sortBudgetStep)
	if g.held+step > g.budget.size {
		step = max(g.budget.size-g.held, g.used-g.held)
	}
	if err := g.budget.acquire(g.ctx, step, g.held); err != nil {
		return err
	}
	g.held += step
	return nil
}

// close gives the gather's bytes back to the budget.
func (g *sortGather) close() {
	if g.budget != nil {
		g.budget.release(g.held)
	}
	g.held = 0
	g.rows, g.buf, g.hdrs = nil, nil, nil
}

// reserve makes room for n more bytes in the arena's current block.
func (g *sortGather) reserve(n int) error {
	if cap(g.buf)-len(g.buf) >= n {
		return nil
	}
	size := max(n, sortArenaBlock)
	if err := g.charge(int64(size)); err != nil {
		return err
	}
	g.buf = make([]byte, 0, size)
	return nil
}

// bytes returns a copy of b in the arena (nil for nil).
func (g *sortGather) bytes(b []byte) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	if err := g.reserve(len(b)); err != nil {
		return nil, err
	}
	n := len(g.buf)
	g.buf = append(g.buf, b...)
	return g.buf[n:len(g.buf):len(g.buf)], nil
}

// str returns a copy of s in the arena.
func (g *sortGather) str(s string) ([]byte, error) {
	if err := g.reserve(len(s)); err != nil {
		return nil, err
	}
	n := len(g.buf)
	g.buf = append(g.buf, s...)
	return g.buf[n:len(g.buf):len(g.buf)], nil
}

// headers returns n value headers from the arena.
func (g *sortGather) headers(n int) ([][]byte, error) {
	if cap(g.hdrs)-len(g.hdrs) < n {
		size := max(n, sortHeaderBlock)
		if err := g.charge(int64(size) * sortHeaderBytes); err != nil {
			return nil, err
		}
		g.hdrs = make([][]byte, 0, size)
	}
	m := len(g.hdrs)
	g.hdrs = g.hdrs[:m+n]
	return g.hdrs[m : m+n : m+n], nil
}

// errSortLimit is add's answer beyond the gather's row limit.
var errSortLimit = errors.New("sort candidate limit exceeded")

// add gathers en, which the search lends (it is copied from).
func (g *sortGather) add(en *directory.Entry, ea *access.EntryAccess) error {
	if g.limit > 0 && len(g.rows) >= g.limit {
		return errSortLimit
	}
	if len(g.rows) == cap(g.rows) {
		grow := max(1024, cap(g.rows))
		if err := g.charge(int64(grow) * sortRowBytes); err != nil {
			return err
		}
		g.rows = slices.Grow(g.rows, grow)
	}
	var row sortRow
	var err error
	if row.ndn, err = g.str(en.NDN); err != nil {
		return err
	}
	if row.vals, err = g.headers(len(g.keys)); err != nil {
		return err
	}
	for j := range g.keys {
		if row.vals[j], err = g.bytes(g.keys[j].value(en, ea)); err != nil {
			return err
		}
	}
	g.rows = append(g.rows, row)
	return nil
}

// sort orders the rows; ties keep the engine's (ascending ID) order.
func (g *sortGather) sort() {
	keys := g.keys
	slices.SortStableFunc(g.rows, func(x, y sortRow) int {
		for k := range keys {
			if c := keys[k].compare(x.vals[k], y.vals[k]); c != 0 {
				return c
			}
		}
		return 0
	})
}

// sortedList is the sorted result of a search: gathered rows, or the
// entries of an index-ordered sort.
type sortedList interface {
	len() int
	// ndn returns the normalised DN of the entry at position i
	// (0-based), "" when it no longer exists.
	ndn(ctx context.Context, i int) (string, error)
	// target returns the 1-based position of a VLV greaterThanOrEqual
	// value of the first key k (see writeVLV); len()+1 for none.
	target(k *sortKey, ge []byte) int
}

// gatherRows is the list of a gather-and-sort, sorted.
type gatherRows []sortRow

func (g gatherRows) len() int { return len(g) }

func (g gatherRows) ndn(_ context.Context, i int) (string, error) { return string(g[i].ndn), nil }

func (g gatherRows) target(k *sortKey, v []byte) int {
	ge, gerr := k.assertion(v)
	for i := range g {
		x := g[i].vals[0]
		var ok bool
		if x == nil {
			ok = !k.reverse // absent is larger than any value
		} else if c, err := k.order(x, ge); err == nil && gerr == nil {
			if k.reverse {
				ok = c <= 0
			} else {
				ok = c >= 0
			}
		}
		if ok {
			return i + 1
		}
	}
	return len(g) + 1
}

// indexRows is the list of an index-ordered sort: the entries are read
// only for the positions written.
type indexRows struct {
	engine *directory.Engine
	s      *directory.IndexSorted
}

func (x indexRows) len() int { return x.s.Len() }

func (x indexRows) ndn(ctx context.Context, i int) (string, error) {
	return x.engine.EntryNDN(ctx, x.s.ID(i))
}

func (x indexRows) target(_ *sortKey, ge []byte) int { return x.s.Target(ge) }

// indexSort answers a sorted search in the order of its key's index
// (directory.Engine.IndexSort), reading no entry, when it has one key,
// the key's index can order it, the filter and scope are decided by the
// indexes, and the requester may read every entry in scope and the key's
// attribute in each (otherwise a key value could be hidden from some):
// then nothing per entry can change the answer. It returns nil, nil when
// the search must gather and sort. Its memory is charged to g, and the
// candidate limit g.limit applies as in a gather.
func (f *Frontend) indexSort(ctx context.Context, p *searchPlan, keys []sortKey, g *sortGather) (*directory.IndexSorted, error) {
	if f.cfg.NoIndexSort || len(keys) != 1 || len(keys[0].opts) > 0 || len(keys[0].names) != 1 {
		return nil, nil
	}
	k := &keys[0]
	if a := p.acc; a != nil {
		if a.visible != 1 {
			return nil, nil
		}
		if has, ok := a.rq.StaticHas(a.base, a.scope, k.at.Name(), access.Read); !ok || !has {
			return nil, nil
		}
	}
	is, err := f.engine.IndexSort(ctx, &directory.IndexSortRequest{
		Search: p.req, Attr: k.at, ByEquality: k.eq, Reverse: k.reverse, Charge: g.charge,
	})
	if err != nil || is == nil {
		return nil, err
	}
	if g.limit > 0 && is.Len() > g.limit {
		return nil, errSortLimit
	}
	return is, nil
}

// searchPlan is a search request prepared by search(): what the sorted
// and the plain paths share.
type searchPlan struct {
	req       *directory.SearchRequest
	own       directory.SearchRequest // what req points to when the plan made it: one allocation for both
	sel       selection
	acc       *searchAccess // nil: no access control (the root DN)
	vf        *directory.ValueFilter
	sizeLimit int
}

// entryOut selects the attributes of en for the response.
func (f *Frontend) entryOut(en *directory.Entry, p *searchPlan) *ldap.Entry {
	return f.entryOutInto(&ldap.Entry{Attributes: make([]ldap.Attribute, 0, len(en.Attrs))}, en, p)
}

// entryOutInto is entryOut building the entry in out (see toLDAPInto).
func (f *Frontend) entryOutInto(out *ldap.Entry, en *directory.Entry, p *searchPlan) *ldap.Entry {
	var ea *access.EntryAccess
	if p.acc != nil {
		ea = p.acc.entry(en)
	}
	out = f.toLDAPInto(out, en, &p.sel, ea)
	if p.acc != nil && p.acc.partner != nil {
		p.acc.partner.countFetch()
		f.withholdDNs(p.acc.ctx, p.acc.rq, out)
	}
	if p.vf != nil {
		f.filterValues(out, p.vf)
	}
	return out
}

func sortResponse(code ldap.ResultCode, attr string) ldap.ResponseControl {
	return ldap.ResponseControl{OID: ldap.OIDSortResponse, Value: ldap.AppendSortResult(nil, code, attr)}
}

func vlvResponse(target, count int, code ldap.ResultCode) ldap.ResponseControl {
	return ldap.ResponseControl{OID: ldap.OIDVLVResponse, Value: ldap.AppendVLVResponse(nil, target, count, code, nil)}
}

// searchError turns a backend error into a result; ok is false when the
// operation was abandoned and nothing must be written.
func (f *Frontend) searchError(err error, base string) (res *ldap.Result, ok bool) {
	res = &ldap.Result{Code: ldap.Success}
	if err == nil {
		return res, true
	}
	var le *ldap.Error
	switch {
	case errors.As(err, &le):
		res.Code, res.MatchedDN, res.Diagnostic = le.Code, le.MatchedDN, le.Message
	case errors.Is(err, ldap.ErrAbandoned), errors.Is(err, context.Canceled):
		return nil, false
	case errors.Is(err, context.DeadlineExceeded):
		res.Code, res.Diagnostic = ldap.TimeLimitExceeded, "time limit exceeded"
	default:
		f.cfg.Logger.Error("search failed", "base", base, "err", err)
		res.Code, res.Diagnostic = ldap.Other, "internal error"
	}
	return res, true
}

// sortedSearch runs a search with the sort control sc (and perhaps a VLV
// control). It returns false, having written nothing, when the sort
// cannot be done and the control is not critical: the caller then runs
// the search unsorted with the extra response controls.
func (f *Frontend) sortedSearch(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session, p *searchPlan, sc *ldap.Control) (done bool, extra []ldap.ResponseControl) {
	if !sc.HasValue {
		writeErr(w, protocolError("sort control has no value"))
		return true, nil
	}
	rawKeys, err := ldap.DecodeSortKeys(sc.Value)
	if err != nil {
		writeErr(w, protocolError(err.Error()))
		return true, nil
	}
	var vlv *ldap.VLVRequest
	vc := f.applies(r, ldap.OIDVLVRequest)
	if vc != nil {
		if !vc.HasValue {
			writeErr(w, protocolError("VLV control has no value"))
			return true, nil
		}
		v, err := ldap.DecodeVLVRequest(vc.Value)
		if err != nil {
			writeErr(w, protocolError(err.Error()))
			return true, nil
		}
		vlv = &v
	}
	var paging *pageState
	var pagedCookie []byte
	if c := findControl(r, ldap.OIDPagedResults); c != nil {
		size, cookie, err := ldap.DecodePagedResults(c.Value)
		if err != nil {
			writeErr(w, protocolError(err.Error()))
			return true, nil
		}
		if vlv != nil {
			// The VLV draft (section 6) does not combine with paging.
			w.WriteResult(&ldap.Result{Code: ldap.UnwillingToPerform, Diagnostic: "virtual list view and paged results cannot be combined",
				Controls: []ldap.ResponseControl{vlvResponse(0, 0, ldap.UnwillingToPerform)}})
			return true, nil
		}
		paging = &pageState{size: size, fingerprint: fingerprint(r)}
		pagedCookie = cookie
	}

	keys, code, attr := f.resolveSortKeys(rawKeys, p.acc)
	var diag string
	g := &sortGather{ctx: ctx, keys: keys, budget: f.cfg.SortBudget, limit: f.sortLimit(s)}
	defer g.close()
	var list sortedList
	if code == ldap.Success {
		is, err := f.indexSort(ctx, p, keys, g)
		switch {
		case err == nil && is != nil:
			list = indexRows{f.engine, is}
		case err != nil:
			gerr := err
			switch {
			case errors.Is(gerr, errSortLimit):
				code, diag = ldap.AdminLimitExceeded, "more than "+strconv.Itoa(g.limit)+" entries to sort (limits.sort_candidates)"
			case errors.Is(gerr, errBudgetOver):
				code, diag = ldap.AdminLimitExceeded, "the sort needs more than the server's whole sort memory budget (limits.sort_memory_mb)"
			case errors.Is(gerr, errBudgetBusy):
				code, diag = ldap.Busy, "the sort memory budget is in use by other searches; retry later"
			default:
				res, ok := f.searchError(gerr, string(p.req.BaseDN))
				if ok {
					w.WriteResult(res)
				}
				return true, nil
			}
		}
	}
	if code == ldap.Success && list == nil {
		req := *p.req
		req.SizeLimit = 0 // the limit applies to what is returned, after sorting
		req.Borrow = true // add copies what it keeps
		var gerr error
		err := f.backend.Search(ctx, &req, func(en *directory.Entry) error {
			var ea *access.EntryAccess
			if p.acc != nil {
				ea = p.acc.entry(en) // sort only on what the requester may read
			}
			if gerr = g.add(en, ea); gerr != nil {
				return directory.ErrStop
			}
			return nil
		})
		switch {
		case err != nil:
			res, ok := f.searchError(err, string(p.req.BaseDN))
			if ok {
				w.WriteResult(res)
			}
			return true, nil
		case errors.Is(gerr, errSortLimit):
			code, diag = ldap.AdminLimitExceeded, "more than "+strconv.Itoa(g.limit)+" entries to sort (limits.sort_candidates)"
		case errors.Is(gerr, errBudgetOver):
			code, diag = ldap.AdminLimitExceeded, "the sort needs more than the server's whole sort memory budget (limits.sort_memory_mb)"
		case errors.Is(gerr, errBudgetBusy):
			code, diag = ldap.Busy, "the sort memory budget is in use by other searches; retry later"
		case gerr != nil:
			res, ok := f.searchError(gerr, string(p.req.BaseDN))
			if ok {
				w.WriteResult(res)
			}
			return true, nil
		}
	}
	if code != ldap.Success {
		ctrls := []ldap.ResponseControl{sortResponse(code, attr)}
		if vlv != nil {
			ctrls = append(ctrls, vlvResponse(0, 0, ldap.UnwillingToPerform))
		}
		if sc.Critical || (vlv != nil && vc.Critical) {
			// A limit (adminLimitExceeded, busy) is the result itself, as
			// for an unsorted search over a limit; a sort the request
			// makes impossible is unavailableCriticalExtension (RFC 2891
			// section 2.2).
			res := &ldap.Result{Code: ldap.UnavailableCriticalExtension, Diagnostic: "cannot sort: sortResult " + strconv.Itoa(int(code)), Controls: ctrls}
			if diag != "" {
				res.Code, res.Diagnostic = code, diag
			}
			w.WriteResult(res)
			return true, nil
		}
		return false, ctrls
	}

	if list == nil {
		g.sort()
		list = gatherRows(g.rows)
	}
	ctrls := []ldap.ResponseControl{sortResponse(ldap.Success, "")}
	switch {
	case vlv != nil:
		f.writeVLV(ctx, w, r, p, keys, list, vlv, ctrls)
	case paging != nil:
		f.writeSortedPage(ctx, w, r, p, list, paging, pagedCookie, ctrls)
	default:
		res := &ldap.Result{Code: ldap.Success, Controls: ctrls}
		sent := 0
		for i := range list.len() {
			if p.sizeLimit > 0 && sent >= p.sizeLimit {
				res.Code, res.Diagnostic = ldap.SizeLimitExceeded, "size limit exceeded"
				break
			}
			ok, err := f.writeRow(ctx, w, r, p, list, i)
			if err != nil {
				f.rowError(w, p, err)
				return true, nil
			}
			if ok {
				sent++
			}
		}
		w.WriteResult(res)
	}
	return true, nil
}

// searchCost returns the work budget of a search under lim, nil when
// unlimited (the root DN, or no CostLimits configured).
func (f *Frontend) searchCost(lim searchLimits) *directory.SearchCost {
	if lim.unlimited || f.cfg.Cost == (directory.CostLimits{}) {
		return nil
	}
	return &directory.SearchCost{Limits: f.cfg.Cost}
}

// sortLimit is the most entries the session may sort (0: no limit).
func (f *Frontend) sortLimit(s *ldap.Session) int {
	limit := f.cfg.SortLimit
	if f.isRoot(s) {
		limit = f.cfg.SortRootLimit
	}
	return max(limit, 0)
}

// writeRow reads the entry at position i of list again, through the
// backend with the search's filter and access, and writes it. It reports
// false, without error, when the entry no longer exists or matches
// (changed since it was gathered).
func (f *Frontend) writeRow(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, p *searchPlan, list sortedList, i int) (bool, error) {
	ndn, err := list.ndn(ctx, i)
	if err != nil || ndn == "" {
		return false, err
	}
	req := *p.req
	req.BaseDN, req.Scope, req.SizeLimit, req.After = ndn, ldap.ScopeBaseObject, 0, 0
	req.Assertion = nil // checked against the search's base already
	req.Cost = nil      // the search paid for finding the entry
	req.Borrow = true
	sent := false
	err = f.backend.Search(ctx, &req, func(en *directory.Entry) error {
		out := outEntryPool.Get().(*ldap.Entry)
		defer putOutEntry(out)
		if err := w.WriteEntry(f.entryOutInto(out, en, p), r.Search.TypesOnly); err != nil {
			return err
		}
		sent = true
		return nil
	})
	var le *ldap.Error
	if errors.As(err, &le) && le.Code == ldap.NoSuchObject {
		return false, nil
	}
	return sent, err
}

// rowError ends a sorted search whose writeRow failed.
func (f *Frontend) rowError(w ldap.ResponseWriter, p *searchPlan, err error) {
	if res, ok := f.searchError(err, string(p.req.BaseDN)); ok {
		w.WriteResult(res)
	}
}

// writeSortedPage writes one page of a sorted paged search. The cookie's
// ID field holds the offset of the page in the sorted result.
func (f *Frontend) writeSortedPage(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, p *searchPlan, list sortedList, paging *pageState, cookie []byte, ctrls []ldap.ResponseControl) {
	n := list.len()
	offset := 0
	if len(cookie) > 0 {
		after, ok := paging.parseCookie(cookie)
		if !ok || uint64(after) > uint64(n) {
			writeErr(w, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "paged results cookie is invalid"})
			return
		}
		offset = int(after)
	}
	if paging.size == 0 {
		w.WriteResult(&ldap.Result{Code: ldap.Success, Controls: append(ctrls, paging.control(nil))})
		return
	}
	end := min(offset+paging.size, n)
	for i := offset; i < end; i++ {
		if _, err := f.writeRow(ctx, w, r, p, list, i); err != nil {
			f.rowError(w, p, err)
			return
		}
	}
	var next []byte
	if end < n {
		next = paging.cookie(directory.ID(end))
	}
	w.WriteResult(&ldap.Result{Code: ldap.Success, Controls: append(ctrls, paging.control(next))})
}

// writeVLV writes one virtual list view window
// (draft-ietf-ldapext-ldapv3-vlv-09 sections 5 and 6). Positions are
// 1-based. byOffset: a contentCount of zero, or equal to ours, takes the
// offset as it is; otherwise the offset is scaled to our count
// (offset*count/contentCount), offset 1 staying the first entry and an
// offset at or beyond the client's count the last. An offset beyond the
// list selects the last entry; an offset of zero is offsetRangeError.
// greaterThanOrEqual: the target is the first entry whose first sort key
// value is at or after the assertion value in the sort order (so at most
// it in reverse order); if there is none the target is one past the end,
// and only the entries before it are returned.
func (f *Frontend) writeVLV(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, p *searchPlan, keys []sortKey, list sortedList, v *ldap.VLVRequest, ctrls []ldap.ResponseControl) {
	n := list.len()
	var pos int
	if v.ByOffset {
		if v.Offset == 0 {
			w.WriteResult(&ldap.Result{Code: offsetRangeError, Diagnostic: "virtual list view offset must be at least 1",
				Controls: append(ctrls, vlvResponse(0, n, offsetRangeError))})
			return
		}
		switch {
		case v.ContentCount == 0 || v.ContentCount == n:
			pos = v.Offset
		case v.Offset == 1:
			pos = 1
		case v.Offset >= v.ContentCount:
			pos = n
		default:
			pos = int(int64(v.Offset) * int64(n) / int64(v.ContentCount))
		}
		pos = max(min(pos, n), 1)
		if n == 0 {
			pos = 0
		}
	} else {
		pos = list.target(&keys[0], v.GreaterOrEqual)
	}
	start := max(pos-v.BeforeCount, 1)
	end := min(pos+v.AfterCount, n) // inclusive
	sent := 0
	res := &ldap.Result{Code: ldap.Success}
	for i := start; i <= end; i++ {
		if p.sizeLimit > 0 && sent >= p.sizeLimit {
			res.Code, res.Diagnostic = ldap.SizeLimitExceeded, "size limit exceeded"
			break
		}
		ok, err := f.writeRow(ctx, w, r, p, list, i-1)
		if err != nil {
			f.rowError(w, p, err)
			return
		}
		if ok {
			sent++
		}
	}
	res.Controls = append(ctrls, vlvResponse(pos, n, ldap.Success))
	w.WriteResult(res)
}

// vlvWithoutSort answers a VLV request that came without a sort control
// (draft section 6.2: sortControlMissing).
func vlvWithoutSort(w ldap.ResponseWriter) {
	w.WriteResult(&ldap.Result{Code: sortControlMissing, Diagnostic: "virtual list view requires the server side sort control",
		Controls: []ldap.ResponseControl{vlvResponse(0, 0, sortControlMissing)}})
}
