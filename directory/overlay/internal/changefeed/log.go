package changefeed

import (
	"context"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
)

// Log is the durable change log a feed reads for what the engine's
// post-commit stream (directory.Engine.Changes) no longer carries: the
// record of past changes and the consumers' positions. Package
// replication's Changelog provides it (cmd/switchboard adapts it); the
// overlays know it only through this interface, so that nothing under
// directory imports replication.
type Log interface {
	// State is, per replica, the newest CSN up to which every change the
	// log holds has committed: what a cookie may claim.
	State() map[uint16]change.CSN
	// Replica is this server's replica ID.
	Replica() uint16
	// Acknowledge records that consumer holds everything up to state:
	// the log is not trimmed above it.
	Acknowledge(ctx context.Context, consumer string, state map[uint16]change.CSN) error
	// Covers reports whether the log, in v's snapshot, holds every change
	// after state (per replica), so that a consumer at state can be
	// brought up to date from it.
	Covers(v *directory.View, state map[uint16]change.CSN) (bool, error)
	// Since calls fn for every logged change after state, in v's
	// snapshot, replica by replica in CSN order.
	Since(v *directory.View, state map[uint16]change.CSN, fn func(*Record) error) error
}

// A Record is what a feed needs of one logged change: which entry it
// changed and how, and under which DNs.
type Record struct {
	Kind change.Kind
	UUID string // entryUUID of the target
	DN   string // the target's DN before the change (after it, for an add)
	// NewDN is the target's DN after a modrdn.
	NewDN string
	// Also lists the entryUUIDs of the descendants a subtree delete
	// removed or a modrdn moved with the target.
	Also []string
}
