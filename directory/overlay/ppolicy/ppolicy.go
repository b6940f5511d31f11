// Package ppolicy enforces password policies as
// draft-behera-ldap-password-policy-10 describes them (what OpenLDAP's
// ppolicy overlay does): account lockout after failed binds, password
// expiry with warnings and grace logins, password history, minimum age,
// length and quality, and a forced change after an administrator sets a
// password.
//
// # Policies and state
//
// A policy is an entry with the auxiliary object class pwdPolicy. An entry
// is governed by the policy its pwdPolicySubentry names, or else by the
// configured default (Config.Default); an entry with neither, or whose
// policy entry is missing, has none (a missing per-user policy falls back
// to the default, and is logged). The state of each account lives in its
// own entry as operational attributes: pwdChangedTime, pwdFailureTime
// (microseconds, capped at pwdMaxFailure values), pwdAccountLockedTime,
// pwdGraceUseTime, pwdReset and pwdHistory (values
// "time#1.3.6.1.4.1.1466.115.121.1.40#length#stored hash", as the draft
// has them; only hashes are ever kept).
//
// # Where it hooks in
//
// The Overlay is a directory.Backend in front of the engine. Its
// Authenticate refuses locked accounts before checking the password,
// records failures, and on success settles expiry, grace logins and the
// must-change state; it writes that state with Engine.Amend, a
// read-modify-write that reruns on conflict, so concurrent binds cannot
// overrun pwdMaxFailure or pwdGraceAuthNLimit. Its Modify and Add check a
// new password while it is still cleartext (the engine hashes it later),
// and the Hook, a directory.WriteHook, records the change inside the
// write's own transaction: pwdChangedTime, the old hash into pwdHistory,
// the failure and grace state cleared, pwdReset cleared by a change of
// one's own password and set by an administrator's when pwdMustChange is
// on. The Overlay tells the Hook which writes it checked through the
// context, so that writes it did not see (the engine's rehash on bind, an
// offline import) do not count as password changes.
//
// Results travel back through directory.Reply: the password policy
// response control (ldap.OIDPasswordPolicy), only when the request
// carried the request control, and for a bind whose password must be
// changed, Reply.MustChangePassword, which the frontend turns into a
// session limited to changing its password. Failures keep the LDAP codes
// slapd uses: invalidCredentials (49) for locked accounts and expired
// passwords, constraintViolation (19) for a refused new password,
// insufficientAccessRights (50) when the user may not change it.
package ppolicy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Store is what the overlay needs of the engine besides the next Backend;
// *directory.Engine is one.
type Store interface {
	Entry(dn string) (*directory.Entry, error)
	Amend(ctx context.Context, dn string, fn func(*directory.Entry) (bool, error)) (*directory.Change, error)
	Passwords() *password.Hasher
}

// Overlay is the password policy's Backend. Search, Delete, ModifyDN and
// Compare pass through.
type Overlay struct {
	directory.Backend
	store Store
	cfg   Config
}

// New returns the overlay in front of next, keeping state through store.
func New(next directory.Backend, store Store, cfg Config) *Overlay {
	return &Overlay{Backend: next, store: store, cfg: cfg.withDefaults()}
}

// policyFor returns the policy governing en, or nil.
func (o *Overlay) policyFor(en *directory.Entry) *Policy {
	if dn := en.First(attrSubentry); dn != "" {
		if p := o.load(dn); p != nil {
			return p
		}
	}
	if o.cfg.Default == "" {
		return nil
	}
	return o.load(o.cfg.Default)
}

func (o *Overlay) load(dn string) *Policy {
	pe, err := o.store.Entry(dn)
	if err != nil || pe == nil || !isPolicyEntry(pe) {
		o.cfg.Logger.Warn("ppolicy: policy entry missing or not a pwdPolicy", "dn", dn, "err", err)
		return nil
	}
	return ParsePolicy(pe)
}

var errInvalid = &ldap.Error{Code: ldap.InvalidCredentials, Message: "invalid credentials"}

// respond adds the policy control to the operation's reply if the client
// asked for it.
func respond(ctx context.Context, r ldap.PolicyResponse) {
	reply := directory.ReplyFrom(ctx)
	if reply.Requested(ldap.OIDPasswordPolicy) {
		reply.Add(ldap.PolicyResponseControl(r))
	}
}

func policyError(e ldap.PolicyError) ldap.PolicyResponse {
	return ldap.PolicyResponse{Warning: ldap.PolicyNoWarning, Error: e}
}

// Authenticate implements directory.Backend.
func (o *Overlay) Authenticate(ctx context.Context, dn string, pw []byte) (*directory.Entry, error) {
	en, err := o.store.Entry(dn)
	if err != nil || en == nil {
		return o.Backend.Authenticate(ctx, dn, pw)
	}
	p := o.policyFor(en)
	if p == nil {
		return o.Backend.Authenticate(ctx, dn, pw)
	}
	now := o.cfg.Now()
	if lockedAt(en, p, now) {
		// Refused whatever the password, so a locked account tells a
		// guesser nothing; but only after the verification a wrong
		// password costs, so that the time of the answer does not tell
		// a locked account from an open one either.
		if err := o.spendVerification(ctx, en, pw); err != nil {
			return nil, err
		}
		respond(ctx, policyError(ldap.PolicyAccountLocked))
		return nil, errInvalid
	}
	if directory.PasswordChangeFrom(ctx) != nil {
		// The old password of a Password Modify: it opens no session, so
		// it neither uses a grace login nor is refused for expiry (an
		// expired password must stay replaceable).
		return o.Backend.Authenticate(ctx, dn, pw)
	}
	got, err := o.Backend.Authenticate(ctx, dn, pw)
	if le := (*ldap.Error)(nil); errors.As(err, &le) && le.Code == ldap.InvalidCredentials {
		if p.MaxFailure > 0 {
			if _, aerr := o.store.Amend(ctx, en.DN, func(e *directory.Entry) (bool, error) {
				return recordFailure(e, p, now), nil
			}); aerr != nil {
				o.cfg.Logger.Warn("ppolicy: failed bind not recorded", "dn", en.DN, "err", aerr)
			}
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	out, changed := settleBind(en.Clone(), p, now)
	if changed {
		// Decide again on the entry inside the write transaction, so that
		// concurrent binds count grace logins exactly.
		_, err = o.store.Amend(ctx, en.DN, func(e *directory.Entry) (bool, error) {
			var ch bool
			out, ch = settleBind(e, p, now)
			return ch, nil
		})
		if err != nil {
			return nil, fmt.Errorf("ppolicy: recording the bind of %s: %w", en.DN, err)
		}
	}
	if out.resp.Warning != ldap.PolicyNoWarning || out.resp.Error != ldap.PolicyNoError {
		respond(ctx, out.resp)
	}
	if out.refused {
		msg := "password expired"
		if out.resp.Error == ldap.PolicyAccountLocked {
			msg = errInvalid.Message
		}
		return nil, &ldap.Error{Code: ldap.InvalidCredentials, Message: msg}
	}
	if out.mustChange {
		if reply := directory.ReplyFrom(ctx); reply != nil {
			reply.MustChangePassword = true
		}
	}
	return got, nil
}

// spendVerification spends on pw what a bind with a wrong password to en
// spends (see directory.Engine.Authenticate): a verification against each
// userPassword value, and the dummy one when none of them is costly. The
// results are ignored; the error is busy when the hashing pool's queue is
// full, or the context's, as the bind would have answered.
func (o *Overlay) spendVerification(ctx context.Context, en *directory.Entry, pw []byte) error {
	h := o.store.Passwords()
	if h == nil {
		return nil
	}
	costly := false
	for _, stored := range en.Get("userPassword") {
		costly = costly || h.Costly(stored)
		_, err := h.Verify(ctx, stored, pw)
		if err := directory.BindError(ctx, err); err != nil {
			return err
		}
	}
	if costly {
		return nil
	}
	return directory.BindError(ctx, h.VerifyDummy(ctx, pw))
}

// pwChange marks a write whose new password the overlay checked, for the
// Hook.
type pwChange struct {
	ndn    string
	self   bool
	policy *Policy
}

type changeKey struct{}

func changeFrom(ctx context.Context) *pwChange {
	c, _ := ctx.Value(changeKey{}).(*pwChange)
	return c
}

func isPassword(name string) bool {
	base, _, _ := strings.Cut(name, ";")
	return strings.EqualFold(base, attrPassword) || base == "2.5.4.35"
}

// Modify implements directory.Backend: a change of userPassword is checked
// against the entry's policy first.
func (o *Overlay) Modify(ctx context.Context, dn string, mods []directory.Mod, opt directory.WriteOptions) (*directory.Change, error) {
	touches := false
	for _, m := range mods {
		touches = touches || isPassword(m.Attr.Name)
	}
	if !touches {
		return o.Backend.Modify(ctx, dn, mods, opt)
	}
	en, err := o.store.Entry(dn)
	if err != nil || en == nil {
		return o.Backend.Modify(ctx, dn, mods, opt)
	}
	p := o.policyFor(en)
	if p == nil {
		return o.Backend.Modify(ctx, dn, mods, opt)
	}
	self := directory.IdentityFrom(ctx) == en.NDN
	pc := directory.PasswordChangeFrom(ctx)
	req := request{entry: en}
	if pc != nil {
		req.cleartext, req.oldGiven = [][]byte{pc.New}, pc.OldVerified
	} else {
		if mods, err = o.readMods(ctx, en, mods, &req); err != nil {
			return nil, err
		}
	}
	if err := o.check(ctx, p, self, &req); err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, changeKey{}, &pwChange{ndn: en.NDN, self: self, policy: p})
	return o.Backend.Modify(ctx, dn, mods, opt)
}

// Add implements directory.Backend: an entry added with a password is
// checked against its policy (its pwdPolicySubentry, or the default).
func (o *Overlay) Add(ctx context.Context, dn string, attrs []directory.Attr, opt directory.WriteOptions) (*directory.Change, error) {
	en := &directory.Entry{DN: dn, Attrs: attrs}
	var pws [][]byte
	for _, a := range attrs {
		if isPassword(a.Name) {
			pws = append(pws, a.Values...)
		}
	}
	if len(pws) == 0 || opt.KeepOperational {
		return o.Backend.Add(ctx, dn, attrs, opt)
	}
	p := o.policyFor(en)
	if p == nil {
		return o.Backend.Add(ctx, dn, attrs, opt)
	}
	req := request{entry: en}
	for _, v := range pws {
		if password.IsHashed(v) {
			req.hashed = true
		} else {
			req.cleartext = append(req.cleartext, v)
		}
	}
	if err := o.checkContent(ctx, p, &req); err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, changeKey{}, &pwChange{ndn: "", policy: p})
	return o.Backend.Add(ctx, dn, attrs, opt)
}

// request is a password change as the checks see it.
type request struct {
	entry     *directory.Entry
	cleartext [][]byte // new passwords given in cleartext
	hashed    bool     // a new password was given already hashed
	oldGiven  bool     // the change proved the old password
}

// readMods finds the new passwords of an LDAP modify, and turns the
// delete of the old password in cleartext (how a client proves it, as for
// pwdSafeModify) into a delete of the stored hash it matches, which the
// engine can apply.
func (o *Overlay) readMods(ctx context.Context, en *directory.Entry, mods []directory.Mod, req *request) ([]directory.Mod, error) {
	out := make([]directory.Mod, len(mods))
	copy(out, mods)
	for i, m := range out {
		if !isPassword(m.Attr.Name) {
			continue
		}
		switch m.Op {
		case change.ModAdd, change.ModReplace:
			for _, v := range m.Attr.Values {
				if password.IsHashed(v) {
					req.hashed = true
				} else {
					req.cleartext = append(req.cleartext, v)
				}
			}
		case change.ModDelete:
			vals := make([][]byte, len(m.Attr.Values))
			for j, v := range m.Attr.Values {
				vals[j] = v
				stored, err := o.matchStored(ctx, en.Get(attrPassword), v)
				if err != nil {
					return nil, err
				}
				if stored != nil {
					vals[j], req.oldGiven = stored, true
				}
			}
			out[i].Attr = directory.Attr{Name: m.Attr.Name, Values: vals}
		}
	}
	return out, nil
}

// matchStored returns the value of stored that pw matches: itself, or the
// hash it verifies against; nil if none.
func (o *Overlay) matchStored(ctx context.Context, stored [][]byte, pw []byte) ([]byte, error) {
	for _, s := range stored {
		if string(s) == string(pw) {
			return s, nil
		}
		ok, err := o.store.Passwords().Verify(ctx, s, pw)
		if errors.Is(err, password.ErrBusy) {
			return nil, &ldap.Error{Code: ldap.Busy, Message: "too many password checks in progress; retry"}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if ok {
			return s, nil
		}
	}
	return nil, nil
}

// refuse answers a password change the policy refuses.
func refuse(ctx context.Context, code ldap.ResultCode, e ldap.PolicyError, msg string) error {
	respond(ctx, policyError(e))
	return &ldap.Error{Code: code, Message: msg}
}

// check applies the policy to a password change of an existing entry: the
// rules for the user's own changes, then those on the new password.
func (o *Overlay) check(ctx context.Context, p *Policy, self bool, req *request) error {
	en := req.entry
	if self {
		if !p.AllowUserChange {
			return refuse(ctx, ldap.InsufficientAccessRights, ldap.PolicyPasswordModNotAllowed, "users may not change their password")
		}
		if p.SafeModify && !req.oldGiven {
			return refuse(ctx, ldap.ConstraintViolation, ldap.PolicyMustSupplyOldPassword, "the old password must be given")
		}
		now := o.cfg.Now()
		reset := strings.EqualFold(en.First(attrReset), "TRUE")
		expired := p.MaxAge > 0 && !now.Before(changedAt(en).Add(p.MaxAge))
		if p.MinAge > 0 && !reset && !expired && now.Sub(changedAt(en)) < p.MinAge {
			return refuse(ctx, ldap.ConstraintViolation, ldap.PolicyPasswordTooYoung, "the password was changed too recently")
		}
	}
	if err := o.checkContent(ctx, p, req); err != nil {
		return err
	}
	if p.InHistory > 0 {
		old := append([][]byte(nil), en.Get(attrPassword)...)
		for _, h := range en.Get(attrHistory) {
			if _, stored, ok := parseHistory(h); ok {
				old = append(old, stored)
			}
		}
		for _, pw := range req.cleartext {
			s, err := o.matchStored(ctx, old, pw)
			if err != nil {
				return err
			}
			if s != nil {
				return refuse(ctx, ldap.ConstraintViolation, ldap.PolicyPasswordInHistory, "the password was used before")
			}
		}
	}
	return nil
}

// checkContent applies pwdMinLength and pwdCheckQuality to the new
// passwords. A hashed one cannot be checked: pwdCheckQuality 2 refuses it,
// 1 lets it through (draft section 7.2).
func (o *Overlay) checkContent(ctx context.Context, p *Policy, req *request) error {
	if req.hashed && p.CheckQuality == 2 {
		return refuse(ctx, ldap.ConstraintViolation, ldap.PolicyInsufficientPasswordQuality, "a hashed password cannot be checked for quality")
	}
	for _, pw := range req.cleartext {
		if len([]rune(string(pw))) < p.MinLength {
			return refuse(ctx, ldap.ConstraintViolation, ldap.PolicyPasswordTooShort, fmt.Sprintf("the password must have at least %d characters", p.MinLength))
		}
		if p.CheckQuality > 0 && !qualityOK(pw, req.entry) {
			return refuse(ctx, ldap.ConstraintViolation, ldap.PolicyInsufficientPasswordQuality, "the password is too weak")
		}
	}
	return nil
}
