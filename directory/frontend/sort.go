package frontend

// Server-side sorting (RFC 2891) and the virtual list view
// (draft-ietf-ldapext-ldapv3-vlv-09).
//
// A sorted search gathers every matching entry (at most Config.SortLimit
// for anyone but the root DN), sorts them and then writes all of them, one
// page of them (RFC 2696) or one VLV window. Nothing is kept between
// requests: a sorted paged search or a VLV browse runs the search and the
// sort again for each page or window. The paged-results cookie of a sorted
// search carries the offset of the next entry in the sorted list plus the
// request fingerprint (which covers the sort keys), so it stays stateless
// and a cookie replayed with another search or other keys is refused. The
// VLV contextID is not used (the draft allows a server to ignore it); none
// is returned.
//
// Ordering, per key:
//   - the attribute's ORDERING rule, or the orderingRule the key names,
//     which must be an ordering rule for the attribute's syntax; otherwise
//     the sort fails with sortResult inappropriateMatching (18), and an
//     unknown attribute with noSuchAttribute (16);
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
// critical control the search fails with unavailableCriticalExtension (12)
// and no entries, with the reason in the sortResult of the response
// control; with a non-critical one the entries are returned unsorted, with
// the response control saying why.

import (
	"context"
	"errors"
	"sort"
	"strconv"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
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
	ord     *schema.AttributeType // the key's type, with the ordering rule to use
	names   map[string]bool       // canonical names of the type and its subtypes
	opts    []string              // options the attribute must carry
	reverse bool
}

// resolveSortKeys checks the keys against the schema. On failure it
// returns the sortResult code and the attribute description at fault.
// Keys the requester may read in no entry of the search are refused with
// insufficientAccessRights; the values of keys readable in only some
// entries are dropped from the others before sorting (see sortedSearch).
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
			if p, ok := acc.rq.Static(acc.base, acc.scope, at.Name()); ok && !p.Has(access.Read) {
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
		if ord.Ordering == nil {
			return nil, ldap.InappropriateMatching, desc
		}
		out = append(out, sortKey{ord: ord, names: f.engine.Subtypes(at), opts: lowerAll(opts), reverse: k.Reverse})
	}
	return out, ldap.Success, ""
}

// least returns the least value of the key's attribute in en under the
// ordering rule, nil when en has none (or none the rule can order).
func (k *sortKey) least(en *directory.Entry) []byte {
	var min []byte
	for _, a := range en.Attrs {
		base, opts := schema.SplitOptions(a.Name)
		if !k.names[base] || !hasOptions(opts, k.opts) {
			continue
		}
		for _, v := range a.Values {
			if min == nil {
				if _, err := k.ord.Compare(v, v); err == nil {
					min = v
				}
				continue
			}
			if c, err := k.ord.Compare(v, min); err == nil && c < 0 {
				min = v
			}
		}
	}
	return min
}

// sortRow is an entry with its sort key values.
type sortRow struct {
	en   *directory.Entry
	vals [][]byte
}

// compareKey orders two key values: absent is larger than any value, and
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
		c, _ = k.ord.Compare(x, y)
	}
	if k.reverse {
		c = -c
	}
	return c
}

func sortRows(keys []sortKey, ents []*directory.Entry) []sortRow {
	rows := make([]sortRow, len(ents))
	for i, en := range ents {
		rows[i].en = en
		rows[i].vals = make([][]byte, len(keys))
		for j := range keys {
			rows[i].vals[j] = keys[j].least(en)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		for k := range keys {
			if c := keys[k].compare(rows[i].vals[k], rows[j].vals[k]); c != 0 {
				return c < 0
			}
		}
		return false
	})
	return rows
}

// searchPlan is a search request prepared by search(): what the sorted
// and the plain paths share.
type searchPlan struct {
	req       *directory.SearchRequest
	sel       selection
	acc       *searchAccess // nil: no access control (the root DN)
	vf        *directory.ValueFilter
	sizeLimit int
}

// entryOut selects the attributes of en for the response.
func (f *Frontend) entryOut(en *directory.Entry, p *searchPlan) *ldap.Entry {
	return f.entryOutInto(&ldap.Entry{Attributes: make([]ldap.EntryAttribute, 0, len(en.Attrs))}, en, p)
}

// entryOutInto is entryOut building the entry in out (see toLDAPInto).
func (f *Frontend) entryOutInto(out *ldap.Entry, en *directory.Entry, p *searchPlan) *ldap.Entry {
	var ea *access.EntryAccess
	if p.acc != nil {
		ea = p.acc.entry(en)
	}
	out = f.toLDAPInto(out, en, &p.sel, ea)
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
	var ents []*directory.Entry
	if code == ldap.Success {
		limit := f.cfg.SortLimit
		if f.isRoot(s) {
			limit = 0
		}
		req := *p.req
		req.SizeLimit = 0 // the limit applies to what is returned, after sorting
		over := false
		err := f.backend.Search(ctx, &req, func(en *directory.Entry) error {
			if limit > 0 && len(ents) >= limit {
				over = true
				return directory.ErrStop
			}
			if p.acc != nil {
				p.acc.readable(en) // sort only on what the requester may read
			}
			ents = append(ents, en)
			return nil
		})
		if err != nil {
			res, ok := f.searchError(err, string(p.req.BaseDN))
			if ok {
				w.WriteResult(res)
			}
			return true, nil
		}
		if over {
			code, attr = ldap.AdminLimitExceeded, ""
		}
	}
	if code != ldap.Success {
		ctrls := []ldap.ResponseControl{sortResponse(code, attr)}
		if vlv != nil {
			ctrls = append(ctrls, vlvResponse(0, 0, ldap.UnwillingToPerform))
		}
		if sc.Critical || (vlv != nil && vc.Critical) {
			w.WriteResult(&ldap.Result{Code: ldap.UnavailableCriticalExtension, Diagnostic: "cannot sort: sortResult " + strconv.Itoa(int(code)), Controls: ctrls})
			return true, nil
		}
		return false, ctrls
	}

	rows := sortRows(keys, ents)
	ctrls := []ldap.ResponseControl{sortResponse(ldap.Success, "")}
	switch {
	case vlv != nil:
		f.writeVLV(w, r, p, keys, rows, vlv, ctrls)
	case paging != nil:
		f.writeSortedPage(w, r, p, rows, paging, pagedCookie, ctrls)
	default:
		res := &ldap.Result{Code: ldap.Success, Controls: ctrls}
		for i := range rows {
			if p.sizeLimit > 0 && i >= p.sizeLimit {
				res.Code, res.Diagnostic = ldap.SizeLimitExceeded, "size limit exceeded"
				break
			}
			if err := w.WriteEntry(f.entryOut(rows[i].en, p), r.Search.TypesOnly); err != nil {
				return true, nil
			}
		}
		w.WriteResult(res)
	}
	return true, nil
}

// writeSortedPage writes one page of a sorted paged search. The cookie's
// ID field holds the offset of the page in the sorted result.
func (f *Frontend) writeSortedPage(w ldap.ResponseWriter, r *ldap.Request, p *searchPlan, rows []sortRow, paging *pageState, cookie []byte, ctrls []ldap.ResponseControl) {
	offset := 0
	if len(cookie) > 0 {
		after, ok := paging.parseCookie(cookie)
		if !ok || uint64(after) > uint64(len(rows)) {
			writeErr(w, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "paged results cookie is invalid"})
			return
		}
		offset = int(after)
	}
	if paging.size == 0 {
		w.WriteResult(&ldap.Result{Code: ldap.Success, Controls: append(ctrls, paging.control(nil))})
		return
	}
	end := min(offset+paging.size, len(rows))
	for i := offset; i < end; i++ {
		if err := w.WriteEntry(f.entryOut(rows[i].en, p), r.Search.TypesOnly); err != nil {
			return
		}
	}
	var next []byte
	if end < len(rows) {
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
func (f *Frontend) writeVLV(w ldap.ResponseWriter, r *ldap.Request, p *searchPlan, keys []sortKey, rows []sortRow, v *ldap.VLVRequest, ctrls []ldap.ResponseControl) {
	n := len(rows)
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
		k := &keys[0]
		pos = n + 1
		for i := range rows {
			x := rows[i].vals[0]
			var ok bool
			if x == nil {
				ok = !k.reverse // absent is larger than any value
			} else if c, err := k.ord.Compare(x, v.GreaterOrEqual); err == nil {
				if k.reverse {
					ok = c <= 0
				} else {
					ok = c >= 0
				}
			}
			if ok {
				pos = i + 1
				break
			}
		}
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
		if err := w.WriteEntry(f.entryOut(rows[i-1].en, p), r.Search.TypesOnly); err != nil {
			return
		}
		sent++
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
