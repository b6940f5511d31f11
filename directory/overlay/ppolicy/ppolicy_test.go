package ppolicy

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
)

const (
	suffix = "dc=example,dc=com"
	policy = "cn=default,ou=policies,dc=example,dc=com"
	ann    = "uid=ann,ou=people,dc=example,dc=com"
	admin  = "cn=admin,dc=example,dc=com"
)

// clock is a time the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	e     *directory.Engine
	o     *Overlay
	clock *clock
}

// setup opens an engine with the overlay, a default policy with the given
// attributes (name, value pairs) and the user ann with password "Initial-1".
func setup(t *testing.T, pol ...string) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg := Config{Default: policy, Now: c.now}
	e := directorytest.Open(t, directory.Options{InMemory: true, Suffix: suffix, Now: c.now,
		Hooks:     []directory.WriteHook{NewHook(cfg)},
		Passwords: password.NewHasher(password.Config{Scheme: password.SchemeSSHA512})})
	f := &fixture{t: t, e: e, o: New(e, e, cfg), clock: c}
	f.add(suffix, "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "Example")
	f.add("ou=policies,"+suffix, "objectClass", "organizationalUnit", "ou", "policies")
	f.add("ou=people,"+suffix, "objectClass", "organizationalUnit", "ou", "people")
	f.add(policy, append([]string{"objectClass", "organizationalRole", "objectClass", "pwdPolicy", "cn", "default",
		"pwdAttribute", "userPassword"}, pol...)...)
	f.add(ann, "objectClass", "inetOrgPerson", "uid", "ann", "cn", "Ann Lee", "sn", "Lee", "userPassword", "Initial-1")
	return f
}

func (f *fixture) add(dn string, kv ...string) {
	f.t.Helper()
	attrs := directorytest.Attrs(f.t, kv...)
	if _, err := f.o.Add(directory.WithIdentity(context.Background(), admin), dn, attrs, directory.WriteOptions{}); err != nil {
		f.t.Fatalf("add %s: %v", dn, err)
	}
}

// bind authenticates with the request control and returns the result code
// (0 for success), the decoded response control (nil if none) and the
// reply.
func (f *fixture) bind(dn, pw string) (ldap.ResultCode, *ldap.PolicyResponse, *directory.Reply) {
	f.t.Helper()
	reply := &directory.Reply{Request: []ldap.Control{{OID: []byte(ldap.OIDPasswordPolicy)}}}
	_, err := f.o.Authenticate(directory.WithReply(context.Background(), reply), dn, []byte(pw))
	return code(err), policyControl(f.t, reply), reply
}

func code(err error) ldap.ResultCode {
	var le *ldap.Error
	switch {
	case err == nil:
		return ldap.Success
	case errors.As(err, &le):
		return le.Code
	}
	return ldap.Other
}

func policyControl(t *testing.T, reply *directory.Reply) *ldap.PolicyResponse {
	t.Helper()
	for _, c := range reply.Controls {
		if c.OID == ldap.OIDPasswordPolicy {
			p, err := ldap.DecodePolicyResponse(c.Value)
			if err != nil {
				t.Fatalf("bad control value % x: %v", c.Value, err)
			}
			return &p
		}
	}
	return nil
}

// change sets dn's password as who (the Password Modify path when old is
// not nil: the old password is checked first) and returns the result
// code and the response control.
func (f *fixture) change(who, dn, newPW string, old *string) (ldap.ResultCode, *ldap.PolicyResponse) {
	f.t.Helper()
	reply := &directory.Reply{Request: []ldap.Control{{OID: []byte(ldap.OIDPasswordPolicy)}}}
	ndn, _ := f.e.NormalizeDN(who)
	ctx := directory.WithReply(directory.WithIdentity(context.Background(), ndn), reply)
	pc := &directory.PasswordChange{New: []byte(newPW)}
	ctx = directory.WithPasswordChange(ctx, pc)
	if old != nil {
		if _, err := f.o.Authenticate(ctx, dn, []byte(*old)); err != nil {
			return code(err), policyControl(f.t, reply)
		}
		pc.OldVerified = true
	}
	mods := []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "userPassword", Values: [][]byte{password.Hash([]byte(newPW))}}}}
	_, err := f.o.Modify(ctx, dn, mods, directory.WriteOptions{})
	return code(err), policyControl(f.t, reply)
}

func (f *fixture) modify(who, dn string, mods ...directory.Mod) (ldap.ResultCode, *ldap.PolicyResponse) {
	f.t.Helper()
	reply := &directory.Reply{Request: []ldap.Control{{OID: []byte(ldap.OIDPasswordPolicy)}}}
	ndn, _ := f.e.NormalizeDN(who)
	ctx := directory.WithReply(directory.WithIdentity(context.Background(), ndn), reply)
	_, err := f.o.Modify(ctx, dn, mods, directory.WriteOptions{})
	return code(err), policyControl(f.t, reply)
}

func (f *fixture) attr(dn, name string) []string {
	f.t.Helper()
	en, err := f.e.Entry(dn)
	if err != nil || en == nil {
		f.t.Fatalf("entry %s: %v", dn, err)
	}
	var out []string
	for _, v := range en.Get(name) {
		out = append(out, string(v))
	}
	return out
}

func mod(op change.ModOp, name string, vals ...string) directory.Mod {
	m := directory.Mod{Op: op, Attr: directory.Attr{Name: name}}
	for _, v := range vals {
		m.Attr.Values = append(m.Attr.Values, []byte(v))
	}
	return m
}

func errIs(p *ldap.PolicyResponse, e ldap.PolicyError) bool { return p != nil && p.Error == e }

func TestLockoutAfterFailuresThenUnlockAfterDuration(t *testing.T) {
	f := setup(t, "pwdLockout", "TRUE", "pwdMaxFailure", "3", "pwdLockoutDuration", "60")
	for i := range 3 {
		if rc, _, _ := f.bind(ann, "wrong"); rc != ldap.InvalidCredentials {
			t.Fatalf("failure %d: %v", i, rc)
		}
		f.clock.advance(time.Second)
	}
	if n := len(f.attr(ann, attrFailureTime)); n != 3 {
		t.Errorf("pwdFailureTime has %d values, want 3", n)
	}
	if len(f.attr(ann, attrLockedTime)) != 1 {
		t.Fatal("not locked after 3 failures")
	}
	rc, ctl, _ := f.bind(ann, "Initial-1")
	if rc != ldap.InvalidCredentials || !errIs(ctl, ldap.PolicyAccountLocked) {
		t.Fatalf("locked account with the right password: %v %+v", rc, ctl)
	}
	// Locked at the third failure, 1 s ago.
	f.clock.advance(58 * time.Second)
	if rc, _, _ := f.bind(ann, "Initial-1"); rc != ldap.InvalidCredentials {
		t.Fatalf("still within the lockout duration: %v", rc)
	}
	f.clock.advance(time.Second)
	if rc, ctl, _ := f.bind(ann, "Initial-1"); rc != ldap.Success || ctl != nil {
		t.Fatalf("after the lockout duration: %v %+v", rc, ctl)
	}
	if f.attr(ann, attrLockedTime) != nil || f.attr(ann, attrFailureTime) != nil {
		t.Error("a successful bind left the lock or the failures")
	}
}

func TestFailureCountInterval(t *testing.T) {
	f := setup(t, "pwdLockout", "TRUE", "pwdMaxFailure", "3", "pwdFailureCountInterval", "10")
	for range 2 {
		f.bind(ann, "wrong")
	}
	f.clock.advance(11 * time.Second)
	for range 2 {
		f.bind(ann, "wrong")
	}
	if rc, _, _ := f.bind(ann, "Initial-1"); rc != ldap.Success {
		t.Fatalf("failures outside the interval locked the account: %v", rc)
	}
	for range 3 {
		f.bind(ann, "wrong")
	}
	if rc, _, _ := f.bind(ann, "Initial-1"); rc != ldap.InvalidCredentials {
		t.Fatalf("3 failures within the interval did not lock: %v", rc)
	}
}

func TestLockUntilAdminUnlocks(t *testing.T) {
	f := setup(t, "pwdLockout", "TRUE", "pwdMaxFailure", "2")
	f.bind(ann, "wrong")
	f.bind(ann, "wrong")
	f.clock.advance(365 * 24 * time.Hour)
	if rc, _, _ := f.bind(ann, "Initial-1"); rc != ldap.InvalidCredentials {
		t.Fatalf("pwdLockoutDuration 0 must lock until unlocked: %v", rc)
	}
	if rc, _ := f.modify(admin, ann, mod(change.ModDelete, attrLockedTime)); rc != ldap.Success {
		t.Fatalf("admin unlock: %v", rc)
	}
	if f.attr(ann, attrFailureTime) != nil {
		t.Error("unlocking left pwdFailureTime, so the next failure locks again")
	}
	if rc, _, _ := f.bind(ann, "Initial-1"); rc != ldap.Success {
		t.Fatalf("after unlock: %v", rc)
	}
	// An administrator can lock an account by hand.
	if rc, _ := f.modify(admin, ann, mod(change.ModAdd, attrLockedTime, permanentLock)); rc != ldap.Success {
		t.Fatalf("admin lock: %v", rc)
	}
	if rc, _, _ := f.bind(ann, "Initial-1"); rc != ldap.InvalidCredentials {
		t.Fatalf("admin lock: bind %v", rc)
	}
}

// TestExpiredPasswordGraceThenRefused is the regression test for 389-ds
// CVE-2022-0996: once the grace logins are used up, an expired password
// must not bind.
func TestExpiredPasswordGraceThenRefused(t *testing.T) {
	f := setup(t, "pwdMaxAge", "100", "pwdGraceAuthNLimit", "2")
	if len(f.attr(ann, attrChangedTime)) != 1 {
		t.Fatal("add with a password did not set pwdChangedTime")
	}
	f.clock.advance(99 * time.Second)
	if rc, ctl, _ := f.bind(ann, "Initial-1"); rc != ldap.Success || ctl != nil {
		t.Fatalf("before expiry: %v %+v", rc, ctl)
	}
	f.clock.advance(2 * time.Second)
	for want := 1; want >= 0; want-- {
		rc, ctl, reply := f.bind(ann, "Initial-1")
		if rc != ldap.Success || ctl == nil || ctl.Warning != ldap.PolicyGraceAuthNsRemaining || ctl.Value != want {
			t.Fatalf("grace login: %v %+v, want %d remaining", rc, ctl, want)
		}
		if !reply.MustChangePassword {
			t.Error("a grace login must be limited to changing the password")
		}
	}
	if n := len(f.attr(ann, attrGraceUse)); n != 2 {
		t.Errorf("pwdGraceUseTime has %d values", n)
	}
	rc, ctl, _ := f.bind(ann, "Initial-1")
	if rc != ldap.InvalidCredentials || !errIs(ctl, ldap.PolicyPasswordExpired) {
		t.Fatalf("expired, no grace left: %v %+v; want invalidCredentials, passwordExpired", rc, ctl)
	}
	// The expired password can still be replaced.
	old := "Initial-1"
	if rc, ctl := f.change(ann, ann, "Second-22", &old); rc != ldap.Success {
		t.Fatalf("change of an expired password: %v %+v", rc, ctl)
	}
	if rc, ctl, _ := f.bind(ann, "Second-22"); rc != ldap.Success || ctl != nil {
		t.Fatalf("after the change: %v %+v", rc, ctl)
	}
	if f.attr(ann, attrGraceUse) != nil {
		t.Error("the change left pwdGraceUseTime")
	}
}

func TestExpiredWithoutGraceIsRefused(t *testing.T) {
	f := setup(t, "pwdMaxAge", "100")
	f.clock.advance(100 * time.Second)
	if rc, ctl, _ := f.bind(ann, "Initial-1"); rc != ldap.InvalidCredentials || !errIs(ctl, ldap.PolicyPasswordExpired) {
		t.Fatalf("%v %+v", rc, ctl)
	}
}

func TestConcurrentGraceLoginsAreCounted(t *testing.T) {
	f := setup(t, "pwdMaxAge", "10", "pwdGraceAuthNLimit", "3")
	f.clock.advance(time.Minute)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 8 {
		wg.Go(func() {
			_, err := f.o.Authenticate(context.Background(), ann, []byte("Initial-1"))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if code(err) != ldap.InvalidCredentials {
				t.Errorf("bind: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 3 {
		t.Errorf("%d concurrent grace logins succeeded, limit 3", ok)
	}
}

func TestExpiryWarning(t *testing.T) {
	f := setup(t, "pwdMaxAge", "100", "pwdExpireWarning", "30")
	f.clock.advance(69 * time.Second)
	if _, ctl, _ := f.bind(ann, "Initial-1"); ctl != nil {
		t.Fatalf("warning too early: %+v", ctl)
	}
	f.clock.advance(11 * time.Second)
	rc, ctl, reply := f.bind(ann, "Initial-1")
	if rc != ldap.Success || ctl == nil || ctl.Warning != ldap.PolicyTimeBeforeExpiration || ctl.Value != 20 {
		t.Fatalf("%v %+v, want timeBeforeExpiration 20", rc, ctl)
	}
	if reply.MustChangePassword {
		t.Error("a warning must not restrict the session")
	}
}

func TestNoControlUnlessRequested(t *testing.T) {
	f := setup(t, "pwdLockout", "TRUE", "pwdMaxFailure", "1")
	f.bind(ann, "wrong")
	reply := &directory.Reply{}
	_, err := f.o.Authenticate(directory.WithReply(context.Background(), reply), ann, []byte("Initial-1"))
	if code(err) != ldap.InvalidCredentials || len(reply.Controls) != 0 {
		t.Fatalf("%v, controls %v", err, reply.Controls)
	}
	// And no Reply at all is fine too.
	if _, err := f.o.Authenticate(context.Background(), ann, []byte("Initial-1")); code(err) != ldap.InvalidCredentials {
		t.Fatal(err)
	}
}

func TestHistory(t *testing.T) {
	f := setup(t, "pwdInHistory", "2")
	steps := []struct {
		pw   string
		want ldap.ResultCode
	}{
		{"Second-22", ldap.Success},
		{"Third-333", ldap.Success},
		{"Initial-1", ldap.ConstraintViolation}, // in history
		{"Third-333", ldap.ConstraintViolation}, // the current one
		{"Fourth-4444", ldap.Success},           // Initial-1 leaves the history
		{"Initial-1", ldap.Success},
		{"Second-22", ldap.Success}, // only the last 2 are kept
	}
	for _, s := range steps {
		rc, ctl := f.change(ann, ann, s.pw, nil)
		if rc != s.want || (s.want != ldap.Success && !errIs(ctl, ldap.PolicyPasswordInHistory)) {
			t.Fatalf("change to %s: %v %+v, want %v", s.pw, rc, ctl, s.want)
		}
		f.clock.advance(time.Second)
	}
	if n := len(f.attr(ann, attrHistory)); n != 2 {
		t.Errorf("pwdHistory has %d values, want 2", n)
	}
	for _, h := range f.attr(ann, attrHistory) {
		if _, stored, ok := parseHistory([]byte(h)); !ok || !password.IsHashed(stored) {
			t.Errorf("pwdHistory value %q", h)
		}
	}
}

func TestLengthAndQuality(t *testing.T) {
	f := setup(t, "pwdMinLength", "8", "pwdCheckQuality", "2")
	cases := []struct {
		pw   string
		want ldap.PolicyError
	}{
		{"Ab1-xyz", ldap.PolicyPasswordTooShort},
		{"alllowercaseletters", ldap.PolicyInsufficientPasswordQuality},
		{"abcdefgh1", ldap.PolicyInsufficientPasswordQuality},
		{"xLee-2024z", ldap.PolicyInsufficientPasswordQuality}, // contains sn
		{"Good-Passw0rd", ldap.PolicyNoError},
		{"longenoughwith2classes", ldap.PolicyNoError},
	}
	for _, c := range cases {
		rc, ctl := f.change(ann, ann, c.pw, nil)
		if c.want == ldap.PolicyNoError {
			if rc != ldap.Success {
				t.Errorf("%q: %v %+v", c.pw, rc, ctl)
			}
			continue
		}
		if rc != ldap.ConstraintViolation || !errIs(ctl, c.want) {
			t.Errorf("%q: %v %+v, want constraintViolation %v", c.pw, rc, ctl, c.want)
		}
	}
	// pwdCheckQuality 2 refuses a value that arrives hashed.
	rc, ctl := f.modify(admin, ann, directory.Mod{Op: change.ModReplace,
		Attr: directory.Attr{Name: "userPassword", Values: [][]byte{password.Hash([]byte("x"))}}})
	if rc != ldap.ConstraintViolation || !errIs(ctl, ldap.PolicyInsufficientPasswordQuality) {
		t.Errorf("hashed value: %v %+v", rc, ctl)
	}
	// The checks see the cleartext of an ordinary modify too.
	if rc, ctl := f.modify(admin, ann, mod(change.ModReplace, "userPassword", "short")); rc != ldap.ConstraintViolation || !errIs(ctl, ldap.PolicyPasswordTooShort) {
		t.Errorf("modify: %v %+v", rc, ctl)
	}
}

func TestUserChangeRules(t *testing.T) {
	f := setup(t, "pwdMinAge", "60", "pwdSafeModify", "TRUE")
	if rc, ctl := f.change(ann, ann, "Second-22", nil); rc != ldap.ConstraintViolation || !errIs(ctl, ldap.PolicyMustSupplyOldPassword) {
		t.Fatalf("safe modify without old password: %v %+v", rc, ctl)
	}
	f.clock.advance(time.Minute)
	old := "Initial-1"
	if rc, ctl := f.change(ann, ann, "Second-22", &old); rc != ldap.Success {
		t.Fatalf("with old password: %v %+v", rc, ctl)
	}
	old = "Second-22"
	if rc, ctl := f.change(ann, ann, "Third-333", &old); rc != ldap.ConstraintViolation || !errIs(ctl, ldap.PolicyPasswordTooYoung) {
		t.Fatalf("min age: %v %+v", rc, ctl)
	}
	// An LDAP modify proves the old password by deleting it in cleartext.
	f.clock.advance(time.Minute)
	rc, ctl := f.modify(ann, ann, mod(change.ModDelete, "userPassword", "Second-22"), mod(change.ModAdd, "userPassword", "Third-333"))
	if rc != ldap.Success {
		t.Fatalf("safe modify by delete and add: %v %+v", rc, ctl)
	}
	if rc, _, _ := f.bind(ann, "Third-333"); rc != ldap.Success {
		t.Fatalf("bind after modify: %v", rc)
	}
	// Administrators are not bound by the user rules.
	if rc, ctl := f.change(admin, ann, "Admin-Set-1", nil); rc != ldap.Success {
		t.Fatalf("admin: %v %+v", rc, ctl)
	}

	g := setup(t, "pwdAllowUserChange", "FALSE")
	if rc, ctl := g.change(ann, ann, "Second-22", nil); rc != ldap.InsufficientAccessRights || !errIs(ctl, ldap.PolicyPasswordModNotAllowed) {
		t.Fatalf("pwdAllowUserChange FALSE: %v %+v", rc, ctl)
	}
}

func TestMustChangeAfterAdminReset(t *testing.T) {
	f := setup(t, "pwdMustChange", "TRUE")
	// ann was added by the administrator: she must change it.
	if got := f.attr(ann, attrReset); len(got) != 1 || got[0] != "TRUE" {
		t.Fatalf("pwdReset after an admin add = %q", got)
	}
	rc, ctl, reply := f.bind(ann, "Initial-1")
	if rc != ldap.Success || !errIs(ctl, ldap.PolicyChangeAfterReset) || !reply.MustChangePassword {
		t.Fatalf("%v %+v must=%v", rc, ctl, reply.MustChangePassword)
	}
	if rc, ctl := f.change(ann, ann, "Mine-12345", nil); rc != ldap.Success {
		t.Fatalf("own change: %v %+v", rc, ctl)
	}
	if f.attr(ann, attrReset) != nil {
		t.Error("own change left pwdReset")
	}
	if rc, ctl, reply := f.bind(ann, "Mine-12345"); rc != ldap.Success || ctl != nil || reply.MustChangePassword {
		t.Fatalf("after own change: %v %+v", rc, ctl)
	}
	if rc, _ := f.change(admin, ann, "Reset-by-admin1", nil); rc != ldap.Success {
		t.Fatal(rc)
	}
	if _, ctl, _ := f.bind(ann, "Reset-by-admin1"); !errIs(ctl, ldap.PolicyChangeAfterReset) {
		t.Fatalf("after admin reset: %+v", ctl)
	}
}

func TestPerUserPolicy(t *testing.T) {
	f := setup(t) // an empty default
	f.add("cn=strict,ou=policies,"+suffix, "objectClass", "organizationalRole", "objectClass", "pwdPolicy", "cn", "strict",
		"pwdAttribute", "userPassword", "pwdLockout", "TRUE", "pwdMaxFailure", "1")
	f.bind(ann, "wrong")
	if rc, _, _ := f.bind(ann, "Initial-1"); rc != ldap.Success {
		t.Fatalf("default policy locked: %v", rc)
	}
	if rc, _ := f.modify(admin, ann, mod(change.ModAdd, attrSubentry, "cn=strict,ou=policies,"+suffix)); rc != ldap.Success {
		t.Fatal(rc)
	}
	f.bind(ann, "wrong")
	if rc, _, _ := f.bind(ann, "Initial-1"); rc != ldap.InvalidCredentials {
		t.Fatalf("per-user policy not applied: %v", rc)
	}
}

func TestRehashIsNotAPasswordChange(t *testing.T) {
	f := setup(t, "pwdMaxAge", "100")
	before := f.attr(ann, attrChangedTime)
	f.clock.advance(10 * time.Second)
	// A write of userPassword that did not come through the overlay (the
	// engine's rehash on bind, an import) is not a change.
	en, _ := f.e.Entry(ann)
	h := password.Hash([]byte("Initial-1"))
	mods := []directory.Mod{{Op: change.ModDelete, Attr: directory.Attr{Name: "userPassword", Values: en.Get("userPassword")}},
		{Op: change.ModAdd, Attr: directory.Attr{Name: "userPassword", Values: [][]byte{h}}}}
	if _, err := f.e.Modify(context.Background(), ann, mods, directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := f.attr(ann, attrChangedTime); len(got) != 1 || got[0] != before[0] {
		t.Errorf("pwdChangedTime %q -> %q", before, got)
	}
}

func TestHistoryValueFormat(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v := historyValue(at, []byte("{SSHA512}abc#def"))
	if want := "20260102030405Z#1.3.6.1.4.1.1466.115.121.1.40#16#{SSHA512}abc#def"; string(v) != want {
		t.Fatalf("%s, want %s", v, want)
	}
	got, stored, ok := parseHistory(v)
	if !ok || !got.Equal(at) || string(stored) != "{SSHA512}abc#def" {
		t.Fatalf("%v %q %v", got, stored, ok)
	}
	for _, bad := range []string{"", "x#y#z", "20260102030405Z#1.2#3#ab", "2026#1.2#2#ab", "20260102030405Z#1.2#-1#"} {
		if _, _, ok := parseHistory([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseHistory(f *testing.F) {
	f.Add([]byte("20260102030405Z#1.3.6.1.4.1.1466.115.121.1.40#3#abc"))
	f.Add([]byte("20260102030405.5Z#1.2#0#"))
	f.Add([]byte("#"))
	f.Fuzz(func(t *testing.T, v []byte) {
		at, stored, ok := parseHistory(v)
		if !ok {
			return
		}
		at2, stored2, ok := parseHistory(historyValue(at, stored))
		if !ok || string(stored2) != string(stored) || !at2.Equal(at.Truncate(time.Second)) {
			t.Fatalf("%q: round trip gave %v %q %v", v, at2, stored2, ok)
		}
	})
}

func TestParsePolicyDefaults(t *testing.T) {
	en := &directory.Entry{DN: policy}
	en.Set("pwdMaxAge", [][]byte{[]byte("-5")})
	en.Set("pwdMinAge", [][]byte{[]byte(strconv.Itoa(1 << 62))})
	p := ParsePolicy(en)
	if p.MaxAge != 0 || p.MinAge != maxSeconds*time.Second || !p.AllowUserChange || p.Lockout {
		t.Fatalf("%+v", p)
	}
}

// TestLockedAccountCostsAVerification: a bind to a locked account is
// answered only after the verification work a wrong password costs (here
// a cheap stored scheme, so the Hasher's dummy verification, as the
// engine runs for a wrong password), so that its time does not tell a
// locked account from an open one.
func TestLockedAccountCostsAVerification(t *testing.T) {
	f := setup(t, "pwdLockout", "TRUE", "pwdMaxFailure", "2", "pwdLockoutDuration", "0")
	h := f.e.Passwords()
	dummies := func(pw string) (ldap.ResultCode, uint64) {
		before := h.DummyVerifications()
		rc, _, _ := f.bind(ann, pw)
		return rc, h.DummyVerifications() - before
	}
	rc, open := dummies("wrong")
	if rc != ldap.InvalidCredentials || open != 1 {
		t.Fatalf("wrong password, open account: code %d, %d dummy verifications; want 49, 1", rc, open)
	}
	f.bind(ann, "wrong") // the second failure locks
	if len(f.attr(ann, attrLockedTime)) != 1 {
		t.Fatal("not locked")
	}
	for _, pw := range []string{"wrong", "Initial-1"} {
		if rc, n := dummies(pw); rc != ldap.InvalidCredentials || n != open {
			t.Errorf("locked account, password %q: code %d, %d dummy verifications; want 49, %d", pw, rc, n, open)
		}
	}
}
