package directory

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/switchboard-ldap/switchboard/change"
)

// A CommittedChange is one committed write as the engine's change stream
// delivers it (Engine.Changes): in commit (CSN) order, with the safe CSN
// once it went out, at or above its own CSN, below which every local
// write has committed.
//
// It is immutable: one value, and the Change and entries it points to,
// goes to every subscriber, and none may change them.
type CommittedChange struct {
	Change *Change
	CSN    change.CSN
	Safe   change.CSN
}

// ErrFellBehind ends a subscription whose reader did not keep up: its
// queue was full when a change was published. The reader has missed
// changes; it must start again from a durable source (a search, the
// change log).
var ErrFellBehind = errors.New("directory: the subscriber fell behind the change stream")

// ErrStreamClosed ends the subscriptions still open when the engine
// closes.
var ErrStreamClosed = errors.New("directory: the change stream is closed")

// DefaultChangeQueue is the length of a subscriber's queue when
// Options.ChangeQueue is zero.
const DefaultChangeQueue = 4096

// A ChangeStream is the engine's post-commit stream: every committed
// write, once, in CSN order, to every subscriber. The engine's Stamper
// is its sequencer: it knows which CSNs are still in flight and calls
// Publish with each committed change once every write stamped before it
// has settled (package replication's Changelog does so from Settle), so
// that the order subscribers see is the commit order wherever order
// matters. An engine without a Stamper publishes nothing.
//
// Publishing never waits for a subscriber: each has a bounded queue, and
// a subscriber whose queue is full is ended with ErrFellBehind rather
// than skipped or waited for.
type ChangeStream struct {
	queue int
	log   *slog.Logger

	mu     sync.Mutex
	subs   map[*ChangeSubscription]struct{}
	last   change.CSN // the CSN published last
	closed bool
}

func newChangeStream(queue int, log *slog.Logger) *ChangeStream {
	if queue <= 0 {
		queue = DefaultChangeQueue
	}
	return &ChangeStream{queue: queue, log: log, subs: map[*ChangeSubscription]struct{}{}}
}

// Changes returns the engine's post-commit stream.
func (e *Engine) Changes() *ChangeStream { return e.changes }

// Subscribe starts queueing, for the caller, the changes published after
// it returns. The caller reads C until it closes, then Err tells why,
// and calls Close when done (also to stop early).
func (s *ChangeStream) Subscribe() *ChangeSubscription {
	sub := &ChangeSubscription{s: s, ch: make(chan CommittedChange, s.queue)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		sub.err = ErrStreamClosed
		close(sub.ch)
		return sub
	}
	s.subs[sub] = struct{}{}
	return sub
}

// Publish queues ev to every subscriber. The Stamper calls it, in CSN
// order, once for every committed write and once every write stamped
// before it has settled. A change at or below the last one published is
// a sequencing fault: it is logged at Error and still delivered, since
// losing it would be worse than its order.
func (s *ChangeStream) Publish(ev CommittedChange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.last.Less(ev.CSN) {
		s.last = ev.CSN
	} else {
		s.log.Error("change stream: a change published out of CSN order", "csn", ev.CSN, "after", s.last)
	}
	for sub := range s.subs {
		select {
		case sub.ch <- ev:
		default:
			// A full queue must not hold up the writer: the
			// subscriber is ended, and told why.
			s.end(sub, ErrFellBehind)
		}
	}
}

// Subscribers returns the number of open subscriptions.
func (s *ChangeStream) Subscribers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// EndAll ends every open subscription with err, which Err then
// returns: the store changed under them (a replica reinitialised from a
// snapshot), and they must start again.
func (s *ChangeStream) EndAll(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		s.end(sub, err)
	}
}

// close ends every subscription with ErrStreamClosed; later ones start
// ended.
func (s *ChangeStream) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for sub := range s.subs {
		s.end(sub, ErrStreamClosed)
	}
}

// end removes sub and closes its channel with err; s.mu is held.
func (s *ChangeStream) end(sub *ChangeSubscription, err error) {
	delete(s.subs, sub)
	sub.err = err
	close(sub.ch)
}

// A ChangeSubscription receives the changes published after
// ChangeStream.Subscribe.
type ChangeSubscription struct {
	s   *ChangeStream
	ch  chan CommittedChange
	err error // set, under s.mu, before ch is closed by the stream
}

// C delivers the changes, in CSN order. It is closed when the
// subscription ends.
func (sub *ChangeSubscription) C() <-chan CommittedChange { return sub.ch }

// Err reports why C was closed: ErrFellBehind, ErrStreamClosed, the
// error given to EndAll, or nil after Close.
func (sub *ChangeSubscription) Err() error {
	sub.s.mu.Lock()
	defer sub.s.mu.Unlock()
	return sub.err
}

// Close ends the subscription; it may be called more than once, and
// after the stream ended it.
func (sub *ChangeSubscription) Close() {
	sub.s.mu.Lock()
	defer sub.s.mu.Unlock()
	if _, ok := sub.s.subs[sub]; ok {
		delete(sub.s.subs, sub)
		close(sub.ch)
	}
}
