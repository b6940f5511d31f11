package frontend

// Response controls from the backend chain, and the session restriction
// of the password policy.
//
// An operation that carries controls (and every bind) runs with a
// directory.Reply in its context: overlays answer the controls they
// understand by adding response controls to it, and the ResponseWriter
// wrapper below attaches them to the operation's result, success or not.
// A bind's Reply may also say that the password must be changed first;
// the session then carries the restriction (ldap.Session
// PasswordMustChange) and checkMustChange enforces it.

import (
	"context"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// replyWriter attaches the Reply's controls to the result.
type replyWriter struct {
	ldap.ResponseWriter
	reply *directory.Reply
}

// Unwrap gives ldap.Flush the writer underneath.
func (w *replyWriter) Unwrap() ldap.ResponseWriter { return w.ResponseWriter }

func (w *replyWriter) WriteResult(res *ldap.Result) error {
	if len(w.reply.Controls) > 0 {
		res.Controls = append(res.Controls, w.reply.Controls...)
		w.reply.Controls = nil
	}
	return w.ResponseWriter.WriteResult(res)
}

// withReply gives the operation r a Reply.
func withReply(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request) (context.Context, ldap.ResponseWriter) {
	reply := &directory.Reply{Request: r.Controls}
	return directory.WithReply(ctx, reply), &replyWriter{ResponseWriter: w, reply: reply}
}

// checkMustChange applies the restriction of a session whose password must
// be changed (draft-behera-ldap-password-policy section 8.1.2.2, as slapd
// applies it): it may bind again, change its own password with the
// Password Modify operation or a modify of its own userPassword, and
// nothing else; the rest gets insufficientAccessRights (50) and, when the
// client asked for it, the policy control with changeAfterReset. A
// successful change lifts the restriction: the returned writer does that.
func (f *Frontend) checkMustChange(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) (ldap.ResponseWriter, error) {
	switch r.Op {
	case ldap.OpBindRequest:
		return w, nil
	case ldap.OpExtendedRequest:
		if string(r.Extended.Name) == ldap.OIDPasswordModify && f.ownPasswordModify(r, s) {
			return &passwordChangedWriter{w, s}, nil
		}
	case ldap.OpModifyRequest:
		if ndn, err := f.schema.NormalizeDNString(string(r.Modify.Object)); err == nil && ndn == s.BindDN() && onlyPassword(r.Modify.Changes) {
			return &passwordChangedWriter{w, s}, nil
		}
	}
	if reply := directory.ReplyFrom(ctx); reply.Requested(ldap.OIDPasswordPolicy) {
		reply.Add(ldap.PolicyResponseControl(ldap.PolicyResponse{Warning: ldap.PolicyNoWarning, Error: ldap.PolicyChangeAfterReset}))
	}
	return w, &ldap.Error{Code: ldap.InsufficientAccessRights, Message: "the password must be changed before anything else is done"}
}

// ownPasswordModify reports whether the Password Modify request r changes
// the session's own password. An undecodable request passes, to be
// refused with protocolError by the operation itself.
func (f *Frontend) ownPasswordModify(r *ldap.Request, s *ldap.Session) bool {
	pm, err := ldap.DecodePasswordModify(r.Extended.Value)
	if err != nil || !pm.HasUser {
		return true
	}
	ndn, err := f.schema.NormalizeDNString(strings.TrimPrefix(string(pm.UserIdentity), "dn:"))
	return err == nil && ndn == s.BindDN()
}

// passwordChangedWriter lifts the restriction of the session when the
// password change it answers succeeded.
type passwordChangedWriter struct {
	ldap.ResponseWriter
	s *ldap.Session
}

// Unwrap gives ldap.Flush the writer underneath.
func (w *passwordChangedWriter) Unwrap() ldap.ResponseWriter { return w.ResponseWriter }

func (w *passwordChangedWriter) WriteResult(res *ldap.Result) error {
	if res.Code == ldap.Success {
		w.s.SetPasswordMustChange(false)
	}
	return w.ResponseWriter.WriteResult(res)
}

func onlyPassword(changes []ldap.Change) bool {
	for _, c := range changes {
		base, _, _ := strings.Cut(c.Attribute.Name, ";")
		if !strings.EqualFold(base, "userPassword") && base != "2.5.4.35" {
			return false
		}
	}
	return len(changes) > 0
}
