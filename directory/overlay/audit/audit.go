// Package audit records every write and every bind outcome in an
// append-only, hash-chained log file (what OpenLDAP's auditlog overlay
// does, plus binds, failures and tamper evidence).
//
// # Records
//
// Each record is a blank line, comment lines saying when, who, from where,
// what and how it ended, then (for writes) the LDIF change record of what
// was asked (RFC 2849; non-SAFE-STRING values in base64, values of
// passwords and of sealed attributes (Config.Sealed) replaced by
// {REDACTED}), then the chain line:
//
//	                                        <- blank line
//	# time: 2026-11-26T21:30:00.123Z        <- RFC 3339, UTC, milliseconds
//	# who: cn=admin,dc=example,dc=com       <- bound DN, or "anonymous"
//	# from: 127.0.0.1:50412                 <- remote address, or "internal"
//	# op: modify                            <- add, modify, delete, modrdn, bind
//	# result: 0 success                     <- code and RFC 4511 name
//	# diagnostic: ...                       <- failures only
//	dn: uid=ada,ou=people,dc=example,dc=com
//	changetype: modify
//	replace: userPassword
//	userPassword: {REDACTED}
//	-
//	# chain: 5f1c...(64 hex digits)
//
// A bind has no LDIF part, only "# bind dn=DN result=CODE" after the
// common comments; no password is ever written. Failed writes are
// recorded with the change they asked for. Comment values have control
// characters and non-UTF-8 bytes escaped as \xNN, so they cannot end a
// line. Because every line but the change records is a comment, a file
// is itself valid LDIF.
//
// # Chain construction
//
// A file starts with the header
//
//	# switchboard audit log v1
//	# previous: H0
//	version: 1
//
// where H0 is the chain value the file continues from: 64 zero digits
// (Genesis) for the very first file, and for a file started by rotation
// the last chain value of the file it replaced. The record i's chain
// value is
//
//	H(i) = SHA-256( H(i-1) as 32 raw bytes || body(i) )
//
// where body(i) is every byte of the record after its blank line and
// before its "# chain: " line (its comment and LDIF lines, each with its
// "\n"), and H(i) is written, in lower-case hex, as the record's chain
// line. Verification recomputes the chain from the header of the first
// file given; each later file's "previous" must equal the last chain value
// of the file before it. Editing, adding or removing a line, removing or
// reordering records, or changing a header breaks the chain at the first
// record concerned, which verification reports with its line numbers.
//
// A plain hash chain has two limits, stated plainly: whoever can write
// the file can recompute every chain value after an edit, and cutting
// whole records off the end of the newest file leaves a valid, shorter
// chain. Both are caught by comparing the final chain value with one kept
// elsewhere: the server logs the chain value when it rotates and when it
// stops, and `switchboard audit verify --head HEX` checks it.
//
// # Durability and failures
//
// The record of a write is appended after the engine committed the
// write and before its result is sent, so a client never hears of a
// change that is not in the log (unless the audit write fails). With
// Config.Sync (the default in the server) the record is fsynced first;
// concurrent operations share fsyncs (group commit), so one fsync (about
// a millisecond on an SSD) is paid per batch, not per record. Without
// Sync a crash can lose records the kernel had not written yet.
//
// If the record cannot be written, the failure is logged at Error. With
// Config.FailClosed the client then gets other (80) instead of the
// result: the change itself has committed and stays, so the error means
// "done, but not audited", and a client retrying an add will see
// entryAlreadyExists. Binds fail closed the same way. Nothing is written
// before the operation ("intent" records): a crash between the commit
// and the record loses that record, and with it the evidence of that one
// change.
//
// A record left unfinished by a crash is cut off when the log is next
// opened, and a "note" record in the chain says how many bytes were cut
// and their SHA-256.
//
// # Not a reader of the change stream
//
// The engine publishes every committed write on its post-commit stream
// (directory.Engine.Changes), which content synchronization and
// persistent search follow. The audit log records its writes on the
// request path instead, committed ones included, for four reasons: a
// record says who asked and from where, which a committed change does not
// carry; it holds the change as it was asked (the LDIF of the request),
// not the difference the store ended with; failed writes and binds, which
// never commit, are half of what it records, and one file in one chain
// must hold them in the order they happened; and it is written before
// the result is sent (and, with FailClosed, decides that result), while
// the stream is read after the write returned, by readers that are ended
// when they fall behind. Taking committed writes from the stream would
// split one chain between two sources with two orders and lose that
// guarantee.
package audit

import (
	"context"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Overlay is a directory.Backend that records writes and binds in a Log.
// Search and Compare pass through to the next Backend.
type Overlay struct {
	directory.Backend
	log *Log
	cfg Config
}

// New opens the log named by cfg.File and returns the overlay in front of
// next. Close it after the server stops.
func New(next directory.Backend, cfg Config) (*Overlay, error) {
	cfg = cfg.withDefaults()
	l, err := OpenLog(cfg)
	if err != nil {
		return nil, err
	}
	return &Overlay{Backend: next, log: l, cfg: cfg}, nil
}

// Log returns the overlay's log.
func (o *Overlay) Log() *Log { return o.log }

// Close closes the log.
func (o *Overlay) Close() error { return o.log.Close() }

// record appends ev and returns the error the operation should end with:
// opErr, or with FailClosed an other (80) error if the record could not be
// written.
func (o *Overlay) record(ev *Event, opErr error) error {
	err := o.log.Append(AppendRecord(nil, ev, o.cfg.Sealed))
	if err == nil {
		return opErr
	}
	o.cfg.Logger.Error("audit: record not written", "op", ev.Op, "dn", ev.DN, "result", int(ev.Code), "err", err)
	if o.cfg.FailClosed {
		return &ldap.Error{Code: ldap.Other, Message: "the operation could not be audited"}
	}
	return opErr
}

// Add implements directory.Backend.
func (o *Overlay) Add(ctx context.Context, dn string, attrs []directory.Attr, opt directory.WriteOptions) (*directory.Change, error) {
	ch, err := o.Backend.Add(ctx, dn, attrs, opt)
	ev := eventFrom(ctx, o.cfg.Now(), OpAdd, dn, err)
	ev.Attrs = attrs
	return ch, o.record(ev, err)
}

// Modify implements directory.Backend.
func (o *Overlay) Modify(ctx context.Context, dn string, mods []directory.Mod, opt directory.WriteOptions) (*directory.Change, error) {
	ch, err := o.Backend.Modify(ctx, dn, mods, opt)
	ev := eventFrom(ctx, o.cfg.Now(), OpModify, dn, err)
	ev.Mods = mods
	return ch, o.record(ev, err)
}

// Delete implements directory.Backend.
func (o *Overlay) Delete(ctx context.Context, dn string, opt directory.WriteOptions) (*directory.Change, error) {
	ch, err := o.Backend.Delete(ctx, dn, opt)
	return ch, o.record(eventFrom(ctx, o.cfg.Now(), OpDelete, dn, err), err)
}

// ModifyDN implements directory.Backend.
func (o *Overlay) ModifyDN(ctx context.Context, dn, newRDN string, deleteOldRDN bool, newSuperior *string, opt directory.WriteOptions) (*directory.Change, error) {
	ch, err := o.Backend.ModifyDN(ctx, dn, newRDN, deleteOldRDN, newSuperior, opt)
	ev := eventFrom(ctx, o.cfg.Now(), OpModRDN, dn, err)
	ev.NewRDN, ev.DeleteOldRDN, ev.NewSuperior = newRDN, deleteOldRDN, newSuperior
	return ch, o.record(ev, err)
}

// Authenticate implements directory.Backend: the binds that the frontend
// hands to the backend (every DN but the root DN), and the old-password
// check of a Password Modify request, are recorded as binds.
func (o *Overlay) Authenticate(ctx context.Context, dn string, password []byte) (*directory.Entry, error) {
	en, err := o.Backend.Authenticate(ctx, dn, password)
	return en, o.record(eventFrom(ctx, o.cfg.Now(), OpBind, dn, err), err)
}

// ObserveBind implements frontend.BindObserver: the binds the frontend
// settles without the backend (the root DN's, anonymous binds and binds
// refused before authentication) are recorded here, so every bind is
// recorded exactly once.
func (o *Overlay) ObserveBind(ctx context.Context, dn string, err error) error {
	return o.record(eventFrom(ctx, o.cfg.Now(), OpBind, dn, err), err)
}
