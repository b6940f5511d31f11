package replication

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

// Sealed attributes between replicas (see "Sealed attributes" in the
// package documentation).

// sealingOf returns what sl seals.
func sealingOf(sl *directory.Sealer) Sealing {
	names := sl.Names()
	if len(names) == 0 {
		return Sealing{}
	}
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return Sealing{Key: wire.KeyID(sl.KeyID()), Attributes: names}
}

// ErrSealing is returned (wrapped) when this replica cannot take a peer's
// changes or snapshot because of sealed attributes: the peer seals other
// attributes, or under another key, or this replica has no key to open
// them. Nothing of the batch or snapshot is applied.
var ErrSealing = errors.New("replication: sealed attributes do not match")

// checkSealing compares a peer's sealing (theirs) with this replica's
// sealer: replicas must seal the same attributes under the same key.
func checkSealing(peer string, theirs Sealing, mine *directory.Sealer) error {
	ours := sealingOf(mine)
	if theirs.IsZero() && ours.IsZero() {
		return nil
	}
	same := len(theirs.Attributes) == len(ours.Attributes)
	for i := 0; same && i < len(ours.Attributes); i++ {
		same = strings.EqualFold(theirs.Attributes[i], ours.Attributes[i])
	}
	switch {
	case mine == nil:
		return fmt.Errorf("%w: peer %s seals %s (encryption.attributes) and this replica has no encryption key to open them: "+
			"give every replica the same encryption.key_file (or SWITCHBOARD_ENCRYPTION_KEY) and encryption.attributes",
			ErrSealing, peer, strings.Join(theirs.Attributes, ", "))
	case !same:
		return fmt.Errorf("%w: peer %s seals [%s], this replica seals [%s]: every replica needs the same encryption.attributes",
			ErrSealing, peer, strings.Join(theirs.Attributes, ", "), strings.Join(ours.Attributes, ", "))
	case theirs.Key != ours.Key:
		return fmt.Errorf("%w: peer %s seals under key %s, this replica under key %s: every replica needs the same encryption key "+
			"(encryption.key_file or SWITCHBOARD_ENCRYPTION_KEY)", ErrSealing, peer, theirs.Key, ours.Key)
	}
	return nil
}

// openPulled checks a pull response's sealing against this replica's and
// opens the sealed values of its ops in place. On error the ops must not
// be applied.
func openPulled(peer string, resp *PullResponse, mine *directory.Sealer) error {
	if err := checkSealing(peer, resp.Sealing, mine); err != nil {
		return err
	}
	for i := range resp.Ops {
		if !opSealed(&resp.Ops[i]) {
			continue
		}
		if mine == nil {
			return fmt.Errorf("%w: peer %s sent sealed values (CSN %s) and this replica has no encryption key to open them", ErrSealing, peer, resp.Ops[i].CSN)
		}
		if err := changelog.OpenOp(&resp.Ops[i], mine); err != nil {
			return fmt.Errorf("%w: peer %s, CSN %s: %w", ErrSealing, peer, resp.Ops[i].CSN, err)
		}
	}
	return nil
}

// opSealed reports whether o carries sealed values (an attribute name
// marked with merge.SealedMark).
func opSealed(o *Op) bool {
	for i := range o.Attrs {
		if merge.IsSealedName(o.Attrs[i].Name) {
			return true
		}
	}
	for i := range o.Mods {
		if merge.IsSealedName(o.Mods[i].Attr) {
			return true
		}
	}
	return false
}
