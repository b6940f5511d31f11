package replication

import "github.com/switchboard-ldap/switchboard/replication/wire"

// The pull and snapshot messages live in package wire; these names keep
// the Replicator's API in the vocabulary it always had.
type (
	Generation       = wire.Generation
	Vector           = wire.Vector
	PullStatus       = wire.PullStatus
	PullRequest      = wire.PullRequest
	PullResponse     = wire.PullResponse
	Sealing          = wire.Sealing
	SnapshotStatus   = wire.SnapshotStatus
	SnapshotID       = wire.SnapshotID
	SnapshotRequest  = wire.SnapshotRequest
	SnapshotEntry    = wire.SnapshotEntry
	SnapshotResponse = wire.SnapshotResponse
)

// The extended operations and the suppliers' verdicts (package wire).
const (
	OIDPull      = wire.OIDPull
	OIDSnapshot  = wire.OIDSnapshot
	PullOK       = wire.PullOK
	PullReinit   = wire.PullReinit
	SnapshotOK   = wire.SnapshotOK
	SnapshotGone = wire.SnapshotGone
)
