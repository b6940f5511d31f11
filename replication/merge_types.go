package replication

import "github.com/switchboard-ldap/switchboard/replication/merge"

// The merge rules and the replicated state live in package merge; these
// names keep the Replicator's API in the vocabulary it always had.
type (
	Op         = merge.Op
	Attribute  = merge.Attribute
	Mod        = merge.Mod
	UUID       = merge.UUID
	State      = merge.State
	Schema     = merge.Schema
	Entry      = merge.Entry
	Conflict   = merge.Conflict
	Shown      = merge.Shown
	References = merge.References
	Clock      = merge.Clock
)

// DefaultStateCacheEntries is the state cache size when the
// configuration gives none.
const DefaultStateCacheEntries = merge.DefaultStateCacheEntries
