package frontend

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// SortBudget is the server-wide memory budget of sorted and virtual list
// view searches: a weighted semaphore counted in bytes. A sorted search
// charges the rows it gathers (entry DN and sort values, about 100 bytes
// per entry, see sortGather) as it gathers them and gives the bytes back
// when it has answered, so the memory all concurrent sorts hold stays
// under the budget whatever their number.
//
// A search that finds the budget spent waits, first come first served, at
// most Wait; then it fails with busy (51). One that alone needs more than
// the whole budget fails at once with adminLimitExceeded (11).
type SortBudget struct {
	size int64
	wait time.Duration

	mu      sync.Mutex
	used    int64
	waiters []*budgetWaiter

	refused atomic.Int64
	observe func(used int64) // called with b.mu held
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed once the bytes are granted
}

// Errors of SortBudget.acquire.
var (
	errBudgetBusy = errors.New("sort memory budget in use by other searches")
	errBudgetOver = errors.New("sort needs more memory than the whole budget")
)

// NewSortBudget returns a budget of size bytes; a search waits at most
// wait for its share (0: it does not wait).
func NewSortBudget(size int64, wait time.Duration) *SortBudget {
	return &SortBudget{size: size, wait: max(wait, 0)}
}

// Observe makes fn hear of every change of the bytes held, with the new
// total (the server raises its soft memory limit by them). fn runs with
// the budget locked, in the order of the changes: it must be quick and
// must not call the budget. Call Observe before the budget is used.
func (b *SortBudget) Observe(fn func(used int64)) { b.observe = fn }

// changed tells the observer of b.used. b.mu is held.
func (b *SortBudget) changed() {
	if b.observe != nil {
		b.observe(b.used)
	}
}

// InUse returns the bytes currently held.
func (b *SortBudget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Size returns the budget in bytes.
func (b *SortBudget) Size() int64 { return b.size }

// Refused counts the searches refused for want of budget.
func (b *SortBudget) Refused() int64 { return b.refused.Load() }

// acquire takes n more bytes for a search already holding held.
func (b *SortBudget) acquire(ctx context.Context, n, held int64) error {
	if held+n > b.size {
		b.refused.Add(1)
		return errBudgetOver
	}
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.changed()
		b.mu.Unlock()
		return nil
	}
	if b.wait <= 0 {
		b.mu.Unlock()
		b.refused.Add(1)
		return errBudgetBusy
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()

	t := time.NewTimer(b.wait)
	defer t.Stop()
	var err error
	select {
	case <-w.ready:
		return nil
	case <-t.C:
		err = errBudgetBusy
	case <-ctx.Done():
		err = ctx.Err()
	}
	b.mu.Lock()
	select {
	case <-w.ready: // granted meanwhile: give it back
		b.used -= n
		b.changed()
	default:
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
	}
	b.grant()
	b.mu.Unlock()
	if errors.Is(err, errBudgetBusy) {
		b.refused.Add(1)
	}
	return err
}

// release gives back n bytes.
func (b *SortBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.changed()
	b.grant()
	b.mu.Unlock()
}

// grant wakes the waiters at the head of the queue that now fit. b.mu is
// held.
func (b *SortBudget) grant() {
	for len(b.waiters) > 0 && b.used+b.waiters[0].n <= b.size {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.used += w.n
		b.changed()
		close(w.ready)
	}
}
