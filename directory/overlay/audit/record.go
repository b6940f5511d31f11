package audit

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/ldif"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Operation names, as they appear on the "# op:" line.
const (
	OpAdd    = "add"
	OpModify = "modify"
	OpDelete = "delete"
	OpModRDN = "modrdn"
	OpBind   = "bind"
)

// redacted replaces every value of a password or sealed attribute.
var redacted = []byte("{REDACTED}")

// Event is one audited operation: who did what from where, and how it
// ended. The fields after DN describe the change that was asked for (not
// the entry the engine stored, which carries operational attributes and
// hashed passwords).
type Event struct {
	Time       time.Time
	Who        string // normalised bound DN; "" is anonymous
	From       string // remote address; "" is an internal caller
	Op         string // OpAdd, OpModify, ...
	Code       ldap.ResultCode
	Diagnostic string // failures only

	DN           string
	Attrs        []directory.Attr // add
	Mods         []directory.Mod  // modify
	NewRDN       string           // modrdn
	DeleteOldRDN bool             // modrdn
	NewSuperior  *string          // modrdn
}

// eventFrom fills the who, from and when of an event from the request
// context: the identity the frontend set (directory.WithIdentity) and the
// session's remote address (ldap.SessionFrom).
func eventFrom(ctx context.Context, now time.Time, op, dn string, err error) *Event {
	ev := &Event{Time: now, Who: directory.IdentityFrom(ctx), Op: op, DN: dn}
	if s := ldap.SessionFrom(ctx); s != nil && s.RemoteAddr != nil {
		ev.From = s.RemoteAddr.String()
	}
	ev.Code, ev.Diagnostic = resultOf(err)
	return ev
}

// resultOf maps an operation's error to the result code the frontend
// sends for it (frontend.writeErr), and a diagnostic.
func resultOf(err error) (ldap.ResultCode, string) {
	var le *ldap.Error
	switch {
	case err == nil:
		return ldap.Success, ""
	case errors.As(err, &le):
		return le.Code, le.Message
	case errors.Is(err, context.DeadlineExceeded):
		return ldap.TimeLimitExceeded, "time limit exceeded"
	case errors.Is(err, context.Canceled):
		return ldap.Canceled, "canceled"
	default:
		return ldap.Other, err.Error()
	}
}

// formatter turns events into record bodies. It reuses one ldif.Writer
// over a buffer; formatters are pooled so that concurrent operations
// format in parallel and only the append to the file is serialised.
type formatter struct {
	buf bytes.Buffer
	w   *ldif.Writer
}

var formatters = sync.Pool{New: func() any {
	f := &formatter{}
	f.w = ldif.NewWriter(&f.buf)
	f.w.Flush()
	return f
}}

// AppendRecord appends the body of ev's record to b: the comment lines,
// then (for writes) the LDIF change record, each line ending in "\n". The
// body is what the chain digest covers; the log adds the blank line before
// it and the chain line after it. Values of passwords, and of the
// attributes sealed reports (nil: none), are written as {REDACTED}.
func AppendRecord(b []byte, ev *Event, sealed func(desc string) bool) []byte {
	b = appendComment(b, "time", ev.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	who := ev.Who
	if who == "" {
		who = "anonymous"
	}
	b = appendComment(b, "who", who)
	from := ev.From
	if from == "" {
		from = "internal"
	}
	b = appendComment(b, "from", from)
	b = appendComment(b, "op", ev.Op)
	b = appendComment(b, "result", strconv.Itoa(int(ev.Code))+" "+ResultName(ev.Code))
	if ev.Code != ldap.Success && ev.Diagnostic != "" {
		b = appendComment(b, "diagnostic", ev.Diagnostic)
	}
	if ev.Op == OpBind {
		b = append(b, "# bind dn="...)
		b = appendSanitized(b, ev.DN)
		b = append(b, " result="...)
		b = strconv.AppendInt(b, int64(ev.Code), 10)
		return append(b, '\n')
	}
	rec := &ldif.Record{DN: ev.DN}
	switch ev.Op {
	case OpAdd:
		rec.ChangeType = ldif.ChangeAdd
		for _, a := range ev.Attrs {
			rec.Attrs = append(rec.Attrs, ldif.Attr{Name: a.Name, Values: redact(a.Name, a.Values, sealed)})
		}
	case OpModify:
		rec.ChangeType = ldif.ChangeModify
		for _, m := range ev.Mods {
			rec.Mods = append(rec.Mods, ldif.Mod{Op: m.Op, Attr: ldif.Attr{Name: m.Attr.Name, Values: redact(m.Attr.Name, m.Attr.Values, sealed)}})
		}
	case OpDelete:
		rec.ChangeType = ldif.ChangeDelete
	case OpModRDN:
		rec.ChangeType = ldif.ChangeModRDN
		rec.NewRDN, rec.DeleteOldRDN = ev.NewRDN, ev.DeleteOldRDN
		if ev.NewSuperior != nil {
			rec.NewSuperior, rec.HasNewSuperior = *ev.NewSuperior, true
		}
	}
	f := formatters.Get().(*formatter)
	defer formatters.Put(f)
	f.buf.Reset()
	if err := f.w.WriteChange(rec); err != nil {
		// Not expressible as LDIF (an add with no attributes, a DN that is
		// not UTF-8, ...): the engine refused such requests anyway. Record
		// what can be said safely.
		b = appendComment(b, "dn", ev.DN)
		return appendComment(b, "unrecordable", err.Error())
	}
	f.w.Flush()
	// The ldif.Writer separates records with a blank line, which the log
	// writes itself.
	return append(b, bytes.TrimPrefix(f.buf.Bytes(), []byte("\n"))...)
}

// isSecret reports whether an attribute description (as the client wrote
// it: any case, a name or an OID, with options) names a password.
func isSecret(desc string) bool {
	base, _, _ := strings.Cut(desc, ";")
	switch strings.ToLower(base) {
	case "userpassword", "2.5.4.35", "authpassword", "1.3.6.1.4.1.4203.1.3.4":
		return true
	}
	return false
}

// redact returns vals, or as many {REDACTED} values for a password
// attribute or one sealed reports (the count shows how many values the
// request carried).
func redact(desc string, vals [][]byte, sealed func(string) bool) [][]byte {
	if !isSecret(desc) && (sealed == nil || !sealed(desc)) {
		return vals
	}
	out := make([][]byte, len(vals))
	for i := range out {
		out[i] = redacted
	}
	return out
}

func appendComment(b []byte, key, value string) []byte {
	b = append(b, "# "...)
	b = append(b, key...)
	b = append(b, ": "...)
	b = appendSanitized(b, value)
	return append(b, '\n')
}

// appendSanitized appends s for a comment line: control characters and
// bytes that are not UTF-8 become \xNN, so a value can never end the line
// or forge another one.
func appendSanitized(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b = append(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if c >= utf8.RuneSelf && r != utf8.RuneError {
			b = append(b, s[i:i+n]...)
			i += n
			continue
		}
		b = append(b, '\\', 'x', hexd[c>>4], hexd[c&0xf])
		i++
	}
	return b
}

// ResultName returns the RFC 4511 (appendix A) name of code.
func ResultName(code ldap.ResultCode) string {
	if n, ok := resultNames[code]; ok {
		return n
	}
	return "unknown"
}

var resultNames = map[ldap.ResultCode]string{
	ldap.Success: "success", ldap.OperationsError: "operationsError", ldap.ProtocolError: "protocolError",
	ldap.TimeLimitExceeded: "timeLimitExceeded", ldap.SizeLimitExceeded: "sizeLimitExceeded",
	ldap.CompareFalse: "compareFalse", ldap.CompareTrue: "compareTrue",
	ldap.AuthMethodNotSupported: "authMethodNotSupported", ldap.StrongerAuthRequired: "strongerAuthRequired",
	ldap.Referral: "referral", ldap.AdminLimitExceeded: "adminLimitExceeded",
	ldap.UnavailableCriticalExtension: "unavailableCriticalExtension",
	ldap.ConfidentialityRequired:      "confidentialityRequired", ldap.SaslBindInProgress: "saslBindInProgress",
	ldap.NoSuchAttribute: "noSuchAttribute", ldap.UndefinedAttributeType: "undefinedAttributeType",
	ldap.InappropriateMatching: "inappropriateMatching", ldap.ConstraintViolation: "constraintViolation",
	ldap.AttributeOrValueExists: "attributeOrValueExists", ldap.InvalidAttributeSyntax: "invalidAttributeSyntax",
	ldap.NoSuchObject: "noSuchObject", ldap.AliasProblem: "aliasProblem", ldap.InvalidDNSyntax: "invalidDNSyntax",
	ldap.AliasDereferencingProblem:   "aliasDereferencingProblem",
	ldap.InappropriateAuthentication: "inappropriateAuthentication", ldap.InvalidCredentials: "invalidCredentials",
	ldap.InsufficientAccessRights: "insufficientAccessRights", ldap.Busy: "busy", ldap.Unavailable: "unavailable",
	ldap.UnwillingToPerform: "unwillingToPerform", ldap.LoopDetect: "loopDetect",
	ldap.NamingViolation: "namingViolation", ldap.ObjectClassViolation: "objectClassViolation",
	ldap.NotAllowedOnNonLeaf: "notAllowedOnNonLeaf", ldap.NotAllowedOnRDN: "notAllowedOnRDN",
	ldap.EntryAlreadyExists: "entryAlreadyExists", ldap.ObjectClassModsProhibited: "objectClassModsProhibited",
	ldap.AffectsMultipleDSAs: "affectsMultipleDSAs", ldap.Other: "other", ldap.Canceled: "canceled",
	ldap.NoSuchOperation: "noSuchOperation", ldap.TooLate: "tooLate", ldap.CannotCancel: "cannotCancel",
	ldap.AssertionFailed: "assertionFailed",
}
