package merge

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
)

// A Clock issues CSNs for one replica: a hybrid logical clock (Kulkarni
// et al., 2014) over the wall clock. Its CSNs strictly increase whatever
// the wall clock does, and after Observe(c) every new CSN is larger than
// c. A Clock is safe for concurrent use.
type Clock struct {
	replica uint16
	maxSkew time.Duration
	now     func() time.Time

	mu   sync.Mutex
	last change.CSN // the largest CSN issued or observed (Replica and Sub ignored)
}

// ClockConfig configures a Clock.
type ClockConfig struct {
	// Replica is this replica's ID, 1 to MaxReplica.
	Replica uint16
	// MaxSkew bounds how far ahead of the local wall clock an observed
	// CSN may be; Observe refuses CSNs beyond it with ErrSkew. Zero means
	// 5 minutes.
	MaxSkew time.Duration
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
	// Start is the largest CSN this replica issued or saw before a
	// restart (from its changelog), so the clock resumes above it.
	Start change.CSN
}

// ErrSkew is returned by Observe for a CSN too far in the future.
var ErrSkew = errors.New("replication: clock skew beyond the bound")

// NewClock returns a clock for cfg.Replica.
func NewClock(cfg ClockConfig) (*Clock, error) {
	if cfg.Replica == 0 || cfg.Replica > change.MaxReplica {
		return nil, fmt.Errorf("replication: replica ID %d is not in 1..%d", cfg.Replica, change.MaxReplica)
	}
	if cfg.MaxSkew == 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Clock{replica: cfg.Replica, maxSkew: cfg.MaxSkew, now: cfg.Now, last: change.CSN{Time: cfg.Start.Time, Counter: cfg.Start.Counter}}, nil
}

// Replica returns the clock's replica ID.
func (c *Clock) Replica() uint16 { return c.replica }

// Now returns the wall-clock time the Clock reads.
func (c *Clock) Now() time.Time { return c.now() }

// Next returns a new CSN, larger than every CSN issued or observed so far.
func (c *Clock) Next() change.CSN {
	wall := c.now().UnixMicro()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case wall > c.last.Time:
		c.last = change.CSN{Time: wall}
	case c.last.Counter < change.MaxCounter:
		c.last.Counter++
	default:
		// 16 million CSNs in one microsecond: borrow the next one.
		c.last = change.CSN{Time: c.last.Time + 1}
	}
	out := c.last
	out.Replica = c.replica
	return out
}

// Observe absorbs a CSN made elsewhere, so that later local CSNs sort
// after it. A CSN more than MaxSkew ahead of the local wall clock is
// refused with ErrSkew and not absorbed: the caller quarantines its peer.
func (c *Clock) Observe(csn change.CSN) error {
	wall := c.now()
	if ahead := csn.Wall().Sub(wall); ahead > c.maxSkew {
		return fmt.Errorf("%w: %s is %s ahead of this replica's clock (bound %s)", ErrSkew, csn, ahead.Round(time.Second), c.maxSkew)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if csn.Time > c.last.Time || csn.Time == c.last.Time && csn.Counter > c.last.Counter {
		c.last = change.CSN{Time: csn.Time, Counter: csn.Counter}
	}
	return nil
}

// Last returns the largest CSN issued or observed, with this replica's ID.
func (c *Clock) Last() change.CSN {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.last
	out.Replica = c.replica
	return out
}
