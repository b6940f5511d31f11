package main

import (
	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/overlay/syncprov"
	"github.com/switchboard-ldap/switchboard/replication"
)

// changeFeed adapts the replication changelog to the durable log the
// change-feed overlays (syncprov, psearch) read beside the engine's
// post-commit stream: they sit below replication in the layers and know
// it only through syncprov.Log.
type changeFeed struct{ *replication.Changelog }

// feedOf returns l as the overlays' log (nil for none).
func feedOf(l *replication.Changelog) syncprov.Log {
	if l == nil {
		return nil
	}
	return changeFeed{l}
}

// Covers implements syncprov.Log.
func (f changeFeed) Covers(v *directory.View, state map[uint16]change.CSN) (bool, error) {
	cov, err := f.Coverage(v)
	if err != nil {
		return false, err
	}
	return cov.Covers(state), nil
}

// Since implements syncprov.Log.
func (f changeFeed) Since(v *directory.View, state map[uint16]change.CSN, fn func(*syncprov.Record) error) error {
	return f.Changelog.Since(v, state, func(r *replication.Record) error {
		return fn(&syncprov.Record{Kind: r.Kind, UUID: r.UUID, DN: r.DN, NewDN: r.NewDN, Also: r.Also})
	})
}
