package directory

import (
	"context"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// Reply carries what the backend chain adds to an operation's LDAP result
// besides its outcome: response controls, and for a bind, a restriction
// of the session. The frontend puts one in the context of an operation
// (WithReply), overlays fill it in (ReplyFrom), and the frontend attaches
// Controls to the result, whether the operation succeeded or failed (a
// bind refused for a locked account answers invalidCredentials and the
// password policy control saying why).
//
// A backend answers only controls the client asked for: Requested reports
// whether the request carried a control. A Reply belongs to one operation
// and is not safe for concurrent use.
type Reply struct {
	// Request holds the request's controls, read-only.
	Request []ldap.Control
	// Controls are added to the result.
	Controls []ldap.ResponseControl
	// MustChangePassword, set by Authenticate, limits the session the bind
	// opens to changing its own password (draft-behera-ldap-password-policy
	// changeAfterReset, and binds with an expired password): other
	// operations get insufficientAccessRights until it does.
	MustChangePassword bool
}

// Requested reports whether the request carried the control oid.
func (r *Reply) Requested(oid string) bool {
	if r == nil {
		return false
	}
	for i := range r.Request {
		if string(r.Request[i].OID) == oid {
			return true
		}
	}
	return false
}

// Add appends a response control.
func (r *Reply) Add(c ldap.ResponseControl) {
	if r != nil {
		r.Controls = append(r.Controls, c)
	}
}

type replyKey struct{}

// WithReply returns a context carrying r.
func WithReply(ctx context.Context, r *Reply) context.Context {
	return context.WithValue(ctx, replyKey{}, r)
}

// ReplyFrom returns the Reply of the operation running with ctx, or nil
// when the caller collects none (the methods of a nil Reply do nothing).
func ReplyFrom(ctx context.Context) *Reply {
	r, _ := ctx.Value(replyKey{}).(*Reply)
	return r
}

// PasswordChange describes a Password Modify extended operation (RFC
// 3062) to the backend chain: the frontend runs it as an Authenticate of
// the old password (when given) and a Modify replacing userPassword with
// the hash of the new one, both with a context carrying this value.
type PasswordChange struct {
	// New is the new password in cleartext, for the checks of a password
	// policy (length, quality, history); the Modify carries its hash.
	New []byte
	// OldVerified is set when the request gave the old password and it
	// matched: a password policy's pwdSafeModify is satisfied.
	OldVerified bool
}

type passwordChangeKey struct{}

// WithPasswordChange returns a context marking the operations run with
// it as parts of the Password Modify operation pc. An Authenticate run
// with it checks an old password: it opens no session, so a password
// policy verifies it without counting it as a bind (no grace login is
// used up, an expired password can still be replaced).
func WithPasswordChange(ctx context.Context, pc *PasswordChange) context.Context {
	return context.WithValue(ctx, passwordChangeKey{}, pc)
}

// PasswordChangeFrom returns the value set by WithPasswordChange, or nil.
func PasswordChangeFrom(ctx context.Context) *PasswordChange {
	pc, _ := ctx.Value(passwordChangeKey{}).(*PasswordChange)
	return pc
}
