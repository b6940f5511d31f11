package directory

import "github.com/switchboard-ldap/switchboard/change"

// A CommittedChange is one committed write as a change feed delivers it
// to its subscribers (content synchronization, persistent search): in
// commit (CSN) order, with the safe CSN once it went out, at or above
// its own CSN, below which every local write has committed. Package
// replication's changelog publishes them; the engine only defines the
// shape, so that the overlays that read the feed need not import the
// package that writes it.
type CommittedChange struct {
	Change *Change
	CSN    change.CSN
	Safe   change.CSN
}
