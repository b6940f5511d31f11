package ppolicy

import (
	"bytes"
	"context"
	"slices"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
)

// Hook records password changes in the transaction that makes them (see
// the package documentation). Register it in directory.Options.Hooks.
type Hook struct {
	cfg Config
}

// NewHook returns the write hook; cfg.Now is its clock.
func NewHook(cfg Config) *Hook { return &Hook{cfg: cfg.withDefaults()} }

// Name implements directory.WriteHook.
func (*Hook) Name() string { return "ppolicy" }

// OnChange implements directory.WriteHook.
func (h *Hook) OnChange(ctx context.Context, tx *directory.Tx, ch *directory.Change) error {
	if ch.Kind != change.Modify && ch.Kind != change.Add {
		return nil
	}
	after := ch.After
	var next *directory.Entry
	edit := func() *directory.Entry {
		if next == nil {
			next = after.Clone()
		}
		return next
	}
	// An administrator who removes pwdAccountLockedTime unlocks the
	// account: its failures go too, or the next one would lock it again.
	if ch.Kind == change.Modify && len(ch.Before.Get(attrLockedTime)) > 0 &&
		len(after.Get(attrLockedTime)) == 0 && len(after.Get(attrFailureTime)) > 0 {
		edit().Set(attrFailureTime, nil)
	}
	c := changeFrom(ctx)
	if c != nil && (ch.Kind == change.Add || c.ndn == after.NDN) && passwordChanged(ch) {
		en := edit()
		now := h.cfg.Now()
		en.Set(attrChangedTime, [][]byte{stamp(now)})
		if ch.Before != nil && c.policy.InHistory > 0 {
			var gone [][]byte
			for _, v := range ch.Before.Get(attrPassword) {
				if !slices.ContainsFunc(after.Get(attrPassword), func(w []byte) bool { return bytes.Equal(v, w) }) {
					gone = append(gone, v)
				}
			}
			pushHistory(en, gone, c.policy.InHistory, now)
		}
		for _, name := range []string{attrFailureTime, attrLockedTime, attrGraceUse} {
			en.Set(name, nil)
		}
		switch {
		case c.self:
			en.Set(attrReset, nil)
		case c.policy.MustChange:
			en.Set(attrReset, [][]byte{[]byte("TRUE")})
		}
	}
	if next == nil {
		return nil
	}
	if err := tx.Update(after, next); err != nil {
		return err
	}
	ch.After = next
	return nil
}

// passwordChanged reports whether the change leaves userPassword with
// values it did not have.
func passwordChanged(ch *directory.Change) bool {
	now := ch.After.Get(attrPassword)
	if len(now) == 0 {
		return false
	}
	if ch.Before == nil {
		return true
	}
	was := ch.Before.Get(attrPassword)
	for _, v := range now {
		if !slices.ContainsFunc(was, func(w []byte) bool { return bytes.Equal(v, w) }) {
			return true
		}
	}
	return false
}
