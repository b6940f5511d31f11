package merge

import "strings"

// A StoredEntry is what a store holds of one materialised entry: what a
// Shown needs to stand for it without building it (ResumeShown).
type StoredEntry struct {
	DN          string
	Fingerprint [32]byte // Fingerprint of the stored entry
	Glue        bool
	// References: the entry holds an attribute of the References rule
	// (IsReferenceAttr), whose values a Shown must index.
	References bool
}

// IsReferenceAttr reports whether the attribute named name falls under
// s's References rule.
func (s *State) IsReferenceAttr(name string) bool {
	r := s.references()
	return r != nil && r.applies(strings.ToLower(name))
}

// ResumeShown returns a Shown for a store that held the materialisation
// of s, as it is now, except for the entries its caller knows may differ
// (those whose state changed since the store was written, which the
// caller passes to MaterializeChangedFunc with rebuild): after a restart,
// the next round then builds only what differs instead of every entry.
//
// stored is what the store holds, by UUID. An entry the Shown takes from
// it is one the view shows live, at the DN the store holds it at, not
// renamed by a name conflict, and without reference values (whose index
// only building fills); the DN check catches every entry moved by a
// change to an ancestor. Every other stored entry, and every visible
// entry the store lacks, is listed in rebuild, so that the round that
// follows builds or removes it. The fingerprints are taken as given:
// they must be those of the stored entries (Fingerprint).
func (s *State) ResumeShown(stored map[UUID]StoredEntry) (sh *Shown, rebuild map[UUID]struct{}) {
	v := s.resolve()
	sh = NewShown()
	sh.view, sh.viewOf, sh.viewGen = v, s, s.layoutGen
	rebuild = map[UUID]struct{}{}
	for u, st := range stored {
		e := s.entries[u]
		if !v.visible[u] || e == nil || !e.live() || st.Glue || st.References || v.loser[u] || v.dn(u) != st.DN {
			rebuild[u] = struct{}{}
			continue
		}
		sh.set(u, &shownEntry{place: shownPlaceOf(v.at[u]), dn: st.DN, fp: st.Fingerprint})
	}
	for u := range v.visible {
		if _, ok := stored[u]; !ok {
			rebuild[u] = struct{}{}
		}
	}
	v.keep()
	return sh, rebuild
}
