package frontend

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// withTimeLimit is context.WithTimeout for a search's time limit, at less
// cost. Readers' searches all run under one (an hour by default) that
// almost never expires, and context.WithTimeout cost each of them a timer
// and four allocations. The engine notices the end of a search by polling
// Err between candidates; here Err compares the clock with the deadline
// every clockPolls polls (reading the clock costs about 60 ns on a virtual
// machine, a few percent of an unindexed scan if done per candidate, and
// the limit is in seconds), and only a wait on Done (a sort waiting for memory, say, or a context
// derived for a wait) arms a real timer. The parent's cancellation and
// values pass through unchanged.
func withTimeLimit(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(d)
	if pd, ok := parent.Deadline(); ok && !deadline.Before(pd) {
		return context.WithCancel(parent) // the parent's deadline comes first
	}
	c := &limitCtx{Context: parent, deadline: deadline}
	return c, c.stop
}

// limitCtx is withTimeLimit's context.
type limitCtx struct {
	context.Context
	deadline time.Time
	timed    atomic.Pointer[context.Context] // set once Done was asked for
	mu       sync.Mutex                      // arms timed, once
	cancel   context.CancelFunc
	stopped  atomic.Bool
	polls    atomic.Uint32
	expired  atomic.Bool
}

// clockPolls is how many calls of Err read the clock once.
const clockPolls = 64

func (c *limitCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *limitCtx) Done() <-chan struct{} { return (*c.arm()).Done() }

func (c *limitCtx) Err() error {
	if t := c.timed.Load(); t != nil {
		return (*t).Err()
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	if c.stopped.Load() {
		return context.Canceled
	}
	if c.polls.Add(1)%clockPolls == 1 && !time.Now().Before(c.deadline) {
		c.expired.Store(true)
	}
	if c.expired.Load() {
		return context.DeadlineExceeded
	}
	return nil
}

// arm returns the context with a timer that Done and Err answer from
// once a wait needed it.
func (c *limitCtx) arm() *context.Context {
	if t := c.timed.Load(); t != nil {
		return t
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.timed.Load(); t != nil {
		return t
	}
	ctx, cancel := context.WithDeadline(c.Context, c.deadline)
	if c.stopped.Load() {
		cancel()
	}
	c.cancel = cancel
	c.timed.Store(&ctx)
	return &ctx
}

// stop is the CancelFunc: it releases the timer, if armed, and ends the
// context as context.WithTimeout's cancel does.
func (c *limitCtx) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped.Store(true)
	if c.cancel != nil {
		c.cancel()
	}
}
