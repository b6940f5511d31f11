package frontend

import (
	"context"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/ldap/ldaptest"
)

// observingBackend counts how binds reach it: through Authenticate or
// through ObserveBind.
type observingBackend struct {
	directory.Backend
	auth, observed int
	last           error
	veto           error // returned by ObserveBind instead of the outcome
}

func (o *observingBackend) Authenticate(ctx context.Context, dn string, pw []byte) (*directory.Entry, error) {
	o.auth++
	return o.Backend.Authenticate(ctx, dn, pw)
}

func (o *observingBackend) ObserveBind(_ context.Context, _ string, err error) error {
	o.observed++
	o.last = err
	if o.veto != nil {
		return o.veto
	}
	return err
}

// Every bind is reported exactly once: by Authenticate or by ObserveBind.
func TestBindObserverSeesEveryBindOnce(t *testing.T) {
	base := newFrontend(t)
	ob := &observingBackend{Backend: base.engine}
	f, err := New(Config{Engine: base.engine, Backend: ob, RootDN: root, RootPassword: []byte("secret"), Access: base.Access()})
	if err != nil {
		t.Fatal(err)
	}
	bind := func(name, pw string, version int, simple bool) (ldap.ResultCode, *ldap.Session) {
		ctx, s := session("")
		r := &ldap.Request{MessageID: 1, Op: ldap.OpBindRequest, Bind: ldap.BindRequest{Version: version, Name: []byte(name), Simple: simple, Password: []byte(pw)}}
		rec := ldaptest.NewRecorder()
		f.ServeLDAP(ctx, rec, r)
		return rec.Code(), s
	}
	cases := []struct {
		name, pw        string
		version         int
		simple          bool
		viaAuthenticate bool
		want            ldap.ResultCode
	}{
		{"", "", 3, true, false, ldap.Success},
		{root, "secret", 3, true, false, ldap.Success},
		{root, "wrong", 3, true, false, ldap.InvalidCredentials},
		{root, "", 3, true, false, ldap.UnwillingToPerform},
		{"", "pw", 3, true, false, ldap.UnwillingToPerform},
		{root, "secret", 2, true, false, ldap.ProtocolError},
		{root, "", 3, false, false, ldap.AuthMethodNotSupported},
		{"not a dn", "x", 3, true, false, ldap.InvalidDNSyntax},
		{"uid=p03,ou=people,dc=example,dc=com", "pwp03", 3, true, true, ldap.Success},
		{"uid=p03,ou=people,dc=example,dc=com", "bad", 3, true, true, ldap.InvalidCredentials},
	}
	for _, tc := range cases {
		ob.auth, ob.observed = 0, 0
		code, _ := bind(tc.name, tc.pw, tc.version, tc.simple)
		if code != tc.want {
			t.Errorf("bind %q/%q: code %d, want %d", tc.name, tc.pw, code, tc.want)
		}
		wantAuth, wantObs := 0, 1
		if tc.viaAuthenticate {
			wantAuth, wantObs = 1, 0
		}
		if ob.auth != wantAuth || ob.observed != wantObs {
			t.Errorf("bind %q/%q: Authenticate %d times, ObserveBind %d times; want %d, %d", tc.name, tc.pw, ob.auth, ob.observed, wantAuth, wantObs)
		}
		if wantObs == 1 && (ob.last == nil) != (tc.want == ldap.Success) {
			t.Errorf("bind %q/%q: observed outcome %v", tc.name, tc.pw, ob.last)
		}
	}
	// An observer that cannot record (fail closed) turns a success into
	// its error, and the session stays anonymous.
	ob.veto = &ldap.Error{Code: ldap.Other, Message: "not audited"}
	if code, s := bind(root, "secret", 3, true); code != ldap.Other || s.Authenticated() {
		t.Fatalf("vetoed root bind: code %d, bound %v", code, s.Authenticated())
	}
}
