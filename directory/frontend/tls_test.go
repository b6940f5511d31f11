package frontend

import (
	"crypto/tls"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/ldap/ldaptest"
)

func TestRequireTLS(t *testing.T) {
	f := newFrontend(t)
	bindReq := func(name, pw string) *ldap.Request {
		return &ldap.Request{MessageID: 1, Op: ldap.OpBindRequest, Bind: ldap.BindRequest{Version: 3, Name: []byte(name), Simple: true, Password: []byte(pw)}}
	}
	whoami := &ldap.Request{MessageID: 1, Op: ldap.OpExtendedRequest, Extended: ldap.ExtendedRequest{Name: []byte(ldap.OIDWhoAmI)}}
	reqs := []struct {
		name string
		req  *ldap.Request
	}{
		{"anonymous bind", bindReq("", "")},
		{"password bind", bindReq(root, "secret")},
		{"root DSE", searchReq("", ldap.ScopeBaseObject, "(objectClass=*)")},
		{"subtree search", searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, "(uid=p01)")},
		{"whoami", whoami},
	}
	const ok, conf = ldap.Success, ldap.ConfidentialityRequired
	want := map[string][]ldap.ResultCode{ // per mode, in the order of reqs
		RequireNone:    {ok, ok, ok, ok, ok},
		RequireTLSBind: {ok, conf, ok, ok, ok},
		RequireTLSAll:  {ok, conf, ok, conf, conf},
	}
	for mode, codes := range want {
		f.cfg.RequireTLS = mode
		for i, r := range reqs {
			for _, secure := range []bool{false, true} {
				ctx, s := session("")
				if secure {
					s.SetTLS(&tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true})
				}
				rec := ldaptest.NewRecorder()
				f.ServeLDAP(ctx, rec, r.req)
				w := codes[i]
				if secure {
					w = ok // over TLS everything is allowed
				}
				if rec.Code() != w {
					t.Errorf("require=%s tls=%v %s: code %d (%q), want %d", mode, secure, r.name, rec.Code(), rec.Result.Diagnostic, w)
				}
			}
		}
	}
	if _, err := New(Config{Engine: f.engine, RequireTLS: "sometimes"}); err == nil {
		t.Error("RequireTLS \"sometimes\" accepted")
	}
}

func TestRootDSEAdvertisesStartTLS(t *testing.T) {
	f := newFrontend(t)
	exts := func() []string {
		ctx, _ := session("")
		rec := ldaptest.NewRecorder()
		f.ServeLDAP(ctx, rec, searchReq("", ldap.ScopeBaseObject, "(objectClass=*)", "supportedExtension"))
		var out []string
		for _, a := range rec.Entries[0].Entry.Attributes {
			for _, v := range a.Values {
				out = append(out, string(v))
			}
		}
		return out
	}
	if slices.Contains(exts(), ldap.OIDStartTLS) {
		t.Error("StartTLS advertised without TLS")
	}
	f.cfg.StartTLS = true
	if got := exts(); !slices.Contains(got, ldap.OIDStartTLS) || !slices.Contains(got, ldap.OIDWhoAmI) {
		t.Errorf("supportedExtension %q lacks StartTLS or Who am I", got)
	}
}
