package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
)

// seqStamper is the smallest Stamper that sequences the change stream
// as package replication's Changelog does: CSNs from a counter, and a
// commit published once every CSN stamped before it has settled.
type seqStamper struct {
	mu       sync.Mutex
	eng      *Engine
	next     uint32
	inflight map[change.CSN]bool
	done     []CommittedChange // committed above an in-flight CSN, in CSN order
}

func (s *seqStamper) Stamp() change.CSN {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	c := change.CSN{Time: 1, Counter: s.next, Replica: 1}
	s.inflight[c] = true
	return c
}

func (s *seqStamper) Settle(c change.CSN, ch *Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, c)
	if ch != nil {
		i, _ := slices.BinarySearchFunc(s.done, c, func(e CommittedChange, c change.CSN) int { return e.CSN.Compare(c) })
		s.done = slices.Insert(s.done, i, CommittedChange{Change: ch, CSN: c, Safe: c})
	}
	n := 0
	for n < len(s.done) && !s.blocked(s.done[n].CSN) {
		n++
	}
	if s.eng != nil {
		for _, ev := range s.done[:n] {
			s.eng.Changes().Publish(ev)
		}
	}
	s.done = slices.Delete(s.done, 0, n)
}

// blocked reports whether a CSN below c is in flight.
func (s *seqStamper) blocked(c change.CSN) bool {
	for f := range s.inflight {
		if f.Less(c) {
			return true
		}
	}
	return false
}

func openStreamTest(t *testing.T, queue int) *Engine {
	t.Helper()
	st := &seqStamper{inflight: map[change.CSN]bool{}}
	e := openTestWith(t, Options{Stamper: st, ChangeQueue: queue})
	st.mu.Lock()
	st.eng = e
	st.mu.Unlock()
	return e
}

func addPerson(ctx context.Context, e *Engine, uid string) error {
	_, err := e.Add(ctx, "uid="+uid+",ou=people,dc=example,dc=com", person(uid, uid, "x"), WriteOptions{})
	return err
}

// TestChangeStreamConcurrentWriters: with writers committing at once,
// every subscriber gets every committed change once, in CSN order,
// whatever order the writers finished in.
func TestChangeStreamConcurrentWriters(t *testing.T) {
	e := openStreamTest(t, 0)
	subs := []*ChangeSubscription{e.Changes().Subscribe(), e.Changes().Subscribe()}
	const writers, each = 8, 25
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := addPerson(ctx, e, fmt.Sprintf("w%d-%d", w, i)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for n, sub := range subs {
		seen := map[string]bool{}
		var last change.CSN
		for range writers * each {
			var ev CommittedChange
			select {
			case ev = <-sub.C():
			case <-time.After(10 * time.Second):
				t.Fatalf("subscriber %d: %d of %d changes arrived", n, len(seen), writers*each)
			}
			if !last.Less(ev.CSN) {
				t.Fatalf("subscriber %d: %s after %s", n, ev.CSN, last)
			}
			last = ev.CSN
			if dn := ev.Change.After.DN; seen[dn] {
				t.Fatalf("subscriber %d: %s twice", n, dn)
			} else {
				seen[dn] = true
			}
		}
		select {
		case ev := <-sub.C():
			t.Fatalf("subscriber %d: an extra change %s", n, ev.CSN)
		default:
		}
		sub.Close()
	}
}

// TestChangeStreamSlowSubscriber: a subscriber that does not read holds
// up no write; once its queue is full it is ended with ErrFellBehind
// after the changes it had room for, while a subscriber that reads gets
// everything.
func TestChangeStreamSlowSubscriber(t *testing.T) {
	e := openStreamTest(t, 3)
	slow := e.Changes().Subscribe()
	fast := e.Changes().Subscribe()
	defer fast.Close()
	got := make(chan int)
	go func() {
		n := 0
		for range fast.C() {
			n++
			if n == 20 {
				break
			}
		}
		got <- n
	}()
	// The writes run apart, so that one held up by the subscriber that
	// does not read fails the test rather than hanging it.
	wrote := make(chan error, 1)
	go func() {
		for i := range 20 {
			if err := addPerson(context.Background(), e, fmt.Sprint("p", i)); err != nil {
				wrote <- fmt.Errorf("write %d: %w", i, err)
				return
			}
			// Keep the reading subscriber's queue from filling on a
			// loaded machine.
			for len(fast.C()) > 0 {
				time.Sleep(time.Millisecond)
			}
		}
		wrote <- nil
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		go func() { // let the writer go, so that the engine can close
			for range slow.C() {
			}
		}()
		t.Fatal("writes held up by a subscriber that does not read")
	}
	if n := <-got; n != 20 {
		t.Errorf("the reading subscriber got %d changes, want 20", n)
	}
	n := 0
	for open := true; open; {
		select {
		case _, open = <-slow.C():
			if open {
				n++
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the slow subscriber was not ended after %d changes", n)
		}
	}
	if n != 3 || !errors.Is(slow.Err(), ErrFellBehind) {
		t.Errorf("the slow subscriber got %d changes and %v; want 3 and ErrFellBehind", n, slow.Err())
	}
	slow.Close() // after the stream ended it: no panic
	if got := e.Changes().Subscribers(); got != 1 {
		t.Errorf("%d subscribers left, want 1", got)
	}
}

// TestChangeStreamEnd: EndAll and the engine's Close end the open
// subscriptions with their reason; Close by the subscriber is no error.
func TestChangeStreamEnd(t *testing.T) {
	e := openStreamTest(t, 0)
	mine := e.Changes().Subscribe()
	mine.Close()
	mine.Close()
	if _, ok := <-mine.C(); ok || mine.Err() != nil {
		t.Errorf("after Close: open %v, err %v; want closed, nil", ok, mine.Err())
	}
	reset := errors.New("reinitialised")
	a := e.Changes().Subscribe()
	e.Changes().EndAll(reset)
	if _, ok := <-a.C(); ok || !errors.Is(a.Err(), reset) {
		t.Errorf("after EndAll: open %v, err %v", ok, a.Err())
	}
	b := e.Changes().Subscribe()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-b.C(); ok || !errors.Is(b.Err(), ErrStreamClosed) {
		t.Errorf("after the engine closed: open %v, err %v", ok, b.Err())
	}
	if c := e.Changes().Subscribe(); !errors.Is(c.Err(), ErrStreamClosed) {
		t.Errorf("subscribing to a closed engine: %v", c.Err())
	}
}

// TestChangeStreamWithoutStamper: an engine without a Stamper publishes
// nothing and subscribing to it blocks nothing.
func TestChangeStreamWithoutStamper(t *testing.T) {
	e := openTestWith(t, Options{ChangeQueue: 1})
	sub := e.Changes().Subscribe()
	defer sub.Close()
	for i := range 3 {
		if err := addPerson(context.Background(), e, fmt.Sprint("p", i)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case ev := <-sub.C():
		t.Fatalf("got %v without a Stamper", ev)
	default:
	}
}
