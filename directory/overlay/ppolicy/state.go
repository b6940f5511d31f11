package ppolicy

import (
	"bytes"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// The state a policy keeps in each user entry (draft section 5.3).
const (
	attrChangedTime = "pwdChangedTime"
	attrLockedTime  = "pwdAccountLockedTime"
	attrFailureTime = "pwdFailureTime"
	attrHistory     = "pwdHistory"
	attrGraceUse    = "pwdGraceUseTime"
	attrReset       = "pwdReset"
	attrSubentry    = "pwdPolicySubentry"
	attrPassword    = "userPassword"
)

// permanentLock is the pwdAccountLockedTime an administrator sets to lock
// an account until it is unlocked, whatever pwdLockoutDuration says.
const permanentLock = "000001010000Z"

// octetStringSyntax is the syntax OID recorded in pwdHistory values.
const octetStringSyntax = "1.3.6.1.4.1.1466.115.121.1.40"

// stamp formats t to the second, as pwdChangedTime, pwdAccountLockedTime
// and pwdGraceUseTime are kept; failures keep microseconds (failureStamp),
// so that two in the same second are two values.
func stamp(t time.Time) []byte {
	return []byte(schema.FormatGeneralizedTime(t.Truncate(time.Second)))
}

func failureStamp(t time.Time) []byte {
	return []byte(schema.FormatGeneralizedTime(t.Truncate(time.Microsecond)))
}

// parseTime parses a GeneralizedTime value; ok is false when it does not,
// or when it falls outside the years 1 to 9999, which cannot be written
// back.
func parseTime(v []byte) (time.Time, bool) {
	t, err := schema.ParseGeneralizedTime(v)
	return t, err == nil && t.Year() >= 1 && t.Year() <= 9999
}

// lockedAt reports whether en's account is locked at now: its
// pwdAccountLockedTime is set and pwdLockoutDuration has not passed since
// (a duration of 0, the permanent value, or a value that does not parse,
// lock until an administrator removes the attribute).
func lockedAt(en *directory.Entry, p *Policy, now time.Time) bool {
	v := en.Get(attrLockedTime)
	if len(v) == 0 {
		return false
	}
	if string(v[0]) == permanentLock || p.LockoutDuration == 0 {
		return true
	}
	t, ok := parseTime(v[0])
	if !ok {
		return true
	}
	return now.Before(t.Add(p.LockoutDuration))
}

// changedAt is when the password was last set: pwdChangedTime, or for a
// password that predates the policy (an import, or the overlay enabled
// later), the entry's createTimestamp, so that it ages too. An entry with
// neither counts as changed at the zero time: expired.
func changedAt(en *directory.Entry) time.Time {
	for _, name := range []string{attrChangedTime, "createTimestamp"} {
		if v := en.Get(name); len(v) > 0 {
			if t, ok := parseTime(v[0]); ok {
				return t
			}
		}
	}
	return time.Time{}
}

// recordFailure notes a failed bind at now in en, forgetting failures
// older than the policy's interval, and locks the account when the policy
// says so. It reports whether en changed. The number of failures kept is
// capped at pwdMaxFailure, so that a password-guessing run cannot grow
// the entry; without pwdMaxFailure nothing is recorded.
func recordFailure(en *directory.Entry, p *Policy, now time.Time) bool {
	if p.MaxFailure <= 0 || lockedAt(en, p, now) {
		return false
	}
	var times [][]byte
	if len(en.Get(attrLockedTime)) == 0 {
		// A lock that has run out starts a fresh count.
		for _, v := range en.Get(attrFailureTime) {
			t, ok := parseTime(v)
			if ok && (p.FailureInterval == 0 || now.Sub(t) < p.FailureInterval) {
				times = append(times, v)
			}
		}
	}
	en.Set(attrLockedTime, nil)
	times = append(times, failureStamp(now))
	if len(times) > p.MaxFailure {
		times = times[len(times)-p.MaxFailure:]
	}
	en.Set(attrFailureTime, times)
	if p.Lockout && len(times) >= p.MaxFailure {
		en.Set(attrLockedTime, [][]byte{stamp(now)})
	}
	return true
}

// bindOutcome is what a successful password check means under a policy.
type bindOutcome struct {
	resp       ldap.PolicyResponse // for the response control
	refused    bool                // the bind fails (expired, no grace left; or locked meanwhile)
	mustChange bool                // the session may only change its password
}

// settleBind applies a successful password check at now to en: the
// failure count and an expired lock go, an expired password uses up a
// grace login or refuses the bind (CVE-2022-0996: an expired password
// must not bind), and the warnings and the must-change state are worked
// out. It reports whether en changed; a refused bind changes nothing.
func settleBind(en *directory.Entry, p *Policy, now time.Time) (bindOutcome, bool) {
	out := bindOutcome{resp: ldap.PolicyResponse{Warning: ldap.PolicyNoWarning, Error: ldap.PolicyNoError}}
	if lockedAt(en, p, now) {
		out.refused, out.resp.Error = true, ldap.PolicyAccountLocked
		return out, false
	}
	changed := false
	for _, name := range []string{attrFailureTime, attrLockedTime} {
		if len(en.Get(name)) > 0 {
			en.Set(name, nil)
			changed = true
		}
	}
	if p.MaxAge > 0 {
		expires := changedAt(en).Add(p.MaxAge)
		switch left := expires.Sub(now); {
		case left <= 0:
			used := len(en.Get(attrGraceUse))
			if used >= p.GraceLimit {
				out = bindOutcome{refused: true, resp: ldap.PolicyResponse{Warning: ldap.PolicyNoWarning, Error: ldap.PolicyPasswordExpired}}
				return out, false
			}
			en.Set(attrGraceUse, append(slices.Clone(en.Get(attrGraceUse)), stamp(now)))
			changed = true
			out.resp.Warning, out.resp.Value = ldap.PolicyGraceAuthNsRemaining, p.GraceLimit-used-1
			out.mustChange = true
		case p.ExpireWarning > 0 && left <= p.ExpireWarning:
			out.resp.Warning, out.resp.Value = ldap.PolicyTimeBeforeExpiration, int(left/time.Second)
		}
	}
	if p.MustChange && bytes.EqualFold(firstValue(en, attrReset), []byte("TRUE")) {
		out.resp.Error = ldap.PolicyChangeAfterReset
		out.mustChange = true
	}
	return out, changed
}

func firstValue(en *directory.Entry, name string) []byte {
	if v := en.Get(name); len(v) > 0 {
		return v[0]
	}
	return nil
}

// historyValue formats a pwdHistory value as the draft does:
// time#syntaxOID#length#value, the value being a stored (hashed) password.
func historyValue(t time.Time, stored []byte) []byte {
	b := append(stamp(t), '#')
	b = append(b, octetStringSyntax...)
	b = append(b, '#')
	b = strconv.AppendInt(b, int64(len(stored)), 10)
	b = append(b, '#')
	return append(b, stored...)
}

// parseHistory splits a pwdHistory value; ok is false when it is not one.
func parseHistory(v []byte) (t time.Time, stored []byte, ok bool) {
	ts, rest, ok1 := bytes.Cut(v, []byte("#"))
	_, rest, ok2 := bytes.Cut(rest, []byte("#"))
	ls, data, ok3 := bytes.Cut(rest, []byte("#"))
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, nil, false
	}
	n, err := strconv.Atoi(string(ls))
	if err != nil || n != len(data) {
		return time.Time{}, nil, false
	}
	if t, ok = parseTime(ts); !ok {
		return time.Time{}, nil, false
	}
	return t, data, true
}

// pushHistory adds the passwords en had before a change (old) to its
// pwdHistory, keeping the newest keep values.
func pushHistory(en *directory.Entry, old [][]byte, keep int, now time.Time) {
	type item struct {
		t time.Time
		v []byte
	}
	var items []item
	for _, v := range en.Get(attrHistory) {
		if t, _, ok := parseHistory(v); ok {
			items = append(items, item{t, v})
		}
	}
	for _, o := range old {
		items = append(items, item{now, historyValue(now, o)})
	}
	slices.SortStableFunc(items, func(a, b item) int { return a.t.Compare(b.t) })
	if len(items) > keep {
		items = items[len(items)-keep:]
	}
	vals := make([][]byte, 0, len(items))
	for _, it := range items {
		if !slices.ContainsFunc(vals, func(v []byte) bool { return bytes.Equal(v, it.v) }) {
			vals = append(vals, it.v)
		}
	}
	en.Set(attrHistory, vals)
}
