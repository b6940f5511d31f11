package frontend

import (
	"context"
	"errors"
	"strings"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// bind handles simple binds (RFC 4511 4.2, RFC 4513 5.1). The session
// becomes anonymous first, so a failed bind never leaves an old identity.
func (f *Frontend) bind(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	b := &r.Bind
	s.SetBind("")
	name := string(b.Name)
	w = f.throttleBind(ctx, w, s, name)
	// settled ends a bind decided here, without Backend.Authenticate,
	// telling the BindObserver if there is one: a success binds as bindAs.
	settled := func(bindAs string, err error) {
		if f.bindObserver != nil {
			err = f.bindObserver.ObserveBind(ctx, name, err)
		}
		if err != nil {
			writeErr(w, err)
			return
		}
		s.SetBind(bindAs)
		success(w)
	}
	if b.Version != 3 {
		settled("", &ldap.Error{Code: ldap.ProtocolError, Message: "only LDAPv3 is supported"})
		return
	}
	if !b.Simple && string(b.Mechanism) == MechExternal {
		if id, ok := inProcessIdentity(s); ok {
			settled(f.inProcessBind(ctx, r, id))
			return
		}
	}
	if !b.Simple && f.cfg.SASLExternal && string(b.Mechanism) == MechExternal {
		settled(f.externalIdentity(ctx, r, s))
		return
	}
	if !b.Simple {
		settled("", &ldap.Error{Code: ldap.AuthMethodNotSupported, Message: "SASL mechanism " + string(b.Mechanism) + " is not supported"})
		return
	}
	switch {
	case name == "" && len(b.Password) == 0:
		settled("", nil) // anonymous
		return
	case name == "":
		settled("", &ldap.Error{Code: ldap.UnwillingToPerform, Message: "password given without a name"})
		return
	case len(b.Password) == 0:
		// RFC 4513 5.1.2: an unauthenticated bind must not authenticate.
		settled("", &ldap.Error{Code: ldap.UnwillingToPerform, Message: "unauthenticated bind (DN with no password) disallowed"})
		return
	}
	// Through the engine's DN cache: Authenticate normalises name again
	// and finds it there.
	ndn, err := f.engine.NormalizeDN(name)
	if err != nil {
		settled("", &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid DN"})
		return
	}
	if f.rootNDN != "" && ndn == f.rootNDN {
		if ok, _ := f.engine.Passwords().Verify(ctx, f.cfg.RootPassword, b.Password); ok {
			settled(ndn, nil)
			return
		}
		settled("", &ldap.Error{Code: ldap.InvalidCredentials, Message: "invalid credentials"})
		return
	}
	if p := f.Partner(ndn); p != nil {
		if err := f.bindPartner(ctx, p, b.Password); err != nil {
			settled("", err)
			return
		}
		settled(ndn, nil)
		return
	}
	if !f.mayAuthenticate(ctx, s, ndn) {
		// As slow as a wrong password: the time must not tell that the
		// entry exists (the engine does the same for a missing one).
		settled("", f.engine.FailBind(ctx, b.Password))
		return
	}
	if _, err := f.backend.Authenticate(ctx, name, b.Password); err != nil {
		writeErr(w, err)
		return
	}
	s.SetBind(ndn)
	if reply := directory.ReplyFrom(ctx); reply != nil && reply.MustChangePassword {
		s.SetPasswordMustChange(true) // password policy: see reply.go
	}
	success(w)
}

// extended handles Who am I (RFC 4532) and Password Modify (RFC 3062).
func (f *Frontend) extended(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	switch string(r.Extended.Name) {
	case ldap.OIDWhoAmI:
		id := ""
		if dn := s.BindDN(); dn != "" {
			id = "dn:" + dn
		}
		w.WriteResult(&ldap.Result{Code: ldap.Success, ResponseValue: []byte(id)})
	case ldap.OIDPasswordModify:
		f.passwordModify(ctx, w, r, s)
	default:
		f.extMu.RLock()
		h := f.extHandlers[string(r.Extended.Name)]
		f.extMu.RUnlock()
		if h != nil {
			h(ctx, w, r, s)
			return
		}
		writeErr(w, &ldap.Error{Code: ldap.ProtocolError, Message: "unsupported extended operation " + string(r.Extended.Name)})
	}
}

// passwordModify changes a password, given write access to the target's
// userPassword (the default rules let users change their own); the old
// password, when given for one's own, is checked. With no new password the
// server generates one and returns it.
func (f *Frontend) passwordModify(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	pm, err := ldap.DecodePasswordModify(r.Extended.Value)
	if err != nil {
		writeErr(w, &ldap.Error{Code: ldap.ProtocolError, Message: err.Error()})
		return
	}
	if !s.Authenticated() {
		writeErr(w, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "password modify requires an authenticated session"})
		return
	}
	target := s.BindDN()
	if pm.HasUser {
		id := string(pm.UserIdentity)
		id = strings.TrimPrefix(id, "dn:")
		if strings.HasPrefix(id, "u:") {
			writeErr(w, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "u: authorization identities are not supported; give a DN"})
			return
		}
		n, err := f.schema.NormalizeDNString(id)
		if err != nil {
			writeErr(w, &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid user identity"})
			return
		}
		target = n
	}
	self := target == s.BindDN()
	if target == f.rootNDN {
		writeErr(w, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "the root DN's password is set in the configuration"})
		return
	}
	if rq := f.requester(ctx, s); rq != nil {
		en, ea, err := f.target(ctx, rq, target)
		if err != nil {
			writeErr(w, err)
			return
		}
		if !ea.Attr("userPassword").Has(access.Write) {
			writeErr(w, f.denied(ctx, rq, en, &ea, "no write access to userPassword"))
			return
		}
	}
	// The overlays see the operation as a whole (directory.PasswordChange).
	pc := &directory.PasswordChange{}
	ctx = directory.WithPasswordChange(ctx, pc)
	if pm.HasOld && self {
		if _, err := f.backend.Authenticate(ctx, target, pm.OldPassword); err != nil {
			writeErr(w, &ldap.Error{Code: ldap.InvalidCredentials, Message: "old password is wrong"})
			return
		}
		pc.OldVerified = true
	}
	newPW := pm.NewPassword
	var generated []byte
	if !pm.HasNew || len(newPW) == 0 {
		generated = password.Generate(12)
		newPW = generated
	}
	pc.New = newPW
	hashed, err := f.engine.Passwords().Hash(ctx, newPW)
	if errors.Is(err, password.ErrBusy) {
		err = &ldap.Error{Code: ldap.Busy, Message: "too many password hashes in progress; retry"}
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	mod := directory.Mod{Op: change.ModReplace, Attr: directory.Attr{Name: "userPassword", Values: [][]byte{hashed}}}
	if _, err := f.backend.Modify(ctx, target, []directory.Mod{mod}, directory.WriteOptions{}); err != nil {
		writeErr(w, err)
		return
	}
	res := &ldap.Result{Code: ldap.Success}
	if generated != nil {
		res.ResponseValue = ldap.AppendPasswordModifyResponse(nil, generated)
	}
	w.WriteResult(res)
}

// mayAuthenticate reports whether a simple bind to the entry ndn may check
// its password: the auth privilege on userPassword, for the anonymous
// subject the session is during a bind. The entry is loaded only when a
// rule's filter needs it.
func (f *Frontend) mayAuthenticate(ctx context.Context, s *ldap.Session, ndn string) bool {
	rq := f.requester(ctx, s)
	if rq == nil {
		return true
	}
	ea := rq.Entry(ndn, nil)
	if !ea.Complete() {
		en, err := f.engine.Get(ctx, ndn)
		if err != nil {
			return true // no such entry: Authenticate fails it the usual way
		}
		ea = rq.Entry(en.NDN, en)
	}
	return ea.Attr("userPassword").Has(access.Auth)
}
