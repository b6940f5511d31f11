package replication

import (
	"slices"

	"github.com/switchboard-ldap/switchboard/directory"
)

// ContextCSN is the contextCSN operational attribute of the suffix entry
// (OpenLDAP's name and syntax): one value per replica whose changes the
// store holds, the newest CSN up to which everything has committed. It is
// computed when read, so writes do not all contend for the suffix entry.
//
// With multi-supplier replication (R set) the values are R's vector: per
// origin, the newest change of that replica applied here, so replicas
// that have converged show the same contextCSN, as OpenLDAP's
// multi-provider does (one value per serverID). The RFC 4533 cookies a
// replica hands its sync consumers are not taken from it: they stay in
// the CSNs of that replica's own changelog (L), under which it records
// the entries replication rewrote, so a consumer resumes against the
// replica that gave it the cookie, as before.
type ContextCSN struct {
	L *Changelog
	R *Replicator
}

// Name implements directory.VirtualAttribute.
func (ContextCSN) Name() string { return "contextCSN" }

// Values implements directory.VirtualAttribute: values for the suffix
// entry (the only one without a parent) only.
func (a ContextCSN) Values(_ directory.Reader, en *directory.Entry) ([][]byte, error) {
	if en.ParentID != 0 || a.L.Clock() == nil {
		return nil, nil
	}
	st := a.L.State()
	if a.R != nil {
		_, st = a.R.Position()
	}
	os := make([]uint16, 0, len(st))
	for o := range st {
		os = append(os, o)
	}
	slices.Sort(os)
	out := make([][]byte, 0, len(os))
	for _, o := range os {
		if !st[o].IsZero() {
			out = append(out, []byte(st[o].String()))
		}
	}
	return out, nil
}

// Holders implements directory.VirtualAttribute; contextCSN is not
// searched by value.
func (ContextCSN) Holders(directory.Reader, []byte) ([]directory.ID, error) { return nil, nil }
