package merge

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
)

// A wall clock the test moves by hand.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (m *manualClock) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

func (m *manualClock) Set(t time.Time) {
	m.mu.Lock()
	m.now = t
	m.mu.Unlock()
}

func TestClockNeverGoesBack(t *testing.T) {
	wall := &manualClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	c, err := NewClock(ClockConfig{Replica: 7, Now: wall.Now})
	if err != nil {
		t.Fatal(err)
	}
	prev := c.Next()
	for i, step := range []time.Duration{0, time.Microsecond, -time.Hour, 0, 2 * time.Hour, -10 * time.Minute} {
		wall.Set(wall.Now().Add(step))
		for j := 0; j < 3; j++ {
			n := c.Next()
			if !prev.Less(n) || n.Replica != 7 {
				t.Fatalf("step %d: %v after %v", i, n, prev)
			}
			prev = n
		}
	}
}

func TestClockCounterOverflowBorrowsTime(t *testing.T) {
	wall := &manualClock{now: time.Unix(1_800_000_000, 0)}
	c, _ := NewClock(ClockConfig{Replica: 1, Now: wall.Now, Start: change.CSN{Time: wall.Now().UnixMicro(), Counter: change.MaxCounter - 1}})
	a, b := c.Next(), c.Next()
	if a.Counter != change.MaxCounter || b.Time != a.Time+1 || b.Counter != 0 {
		t.Fatalf("overflow: %v then %v", a, b)
	}
}

func TestClockObserve(t *testing.T) {
	wall := &manualClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	c, _ := NewClock(ClockConfig{Replica: 1, MaxSkew: 15 * time.Minute, Now: wall.Now})
	// A peer 10 minutes ahead: absorbed, and local CSNs follow it.
	ahead := change.CSN{Time: wall.Now().Add(10 * time.Minute).UnixMicro(), Counter: 5, Replica: 2}
	if err := c.Observe(ahead); err != nil {
		t.Fatal(err)
	}
	if n := c.Next(); !ahead.Less(n) {
		t.Fatalf("Next() = %v, not after observed %v", n, ahead)
	}
	// A peer 2 hours ahead is refused and does not move the clock.
	far := change.CSN{Time: wall.Now().Add(2 * time.Hour).UnixMicro(), Replica: 3}
	if err := c.Observe(far); !errors.Is(err, ErrSkew) {
		t.Fatalf("Observe(+2h) = %v, want ErrSkew", err)
	}
	if n := c.Next(); !n.Less(far) {
		t.Fatalf("clock absorbed a refused CSN: %v", n)
	}
	// A peer behind changes nothing.
	before := c.Last()
	if err := c.Observe(change.CSN{Time: wall.Now().Add(-time.Hour).UnixMicro(), Replica: 2}); err != nil {
		t.Fatal(err)
	}
	if c.Last() != before {
		t.Fatalf("observing an old CSN moved the clock")
	}
}

func TestClockConcurrentUnique(t *testing.T) {
	c, _ := NewClock(ClockConfig{Replica: 9})
	const workers, each = 8, 5000
	out := make([][]change.CSN, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				out[w] = append(out[w], c.Next())
			}
		}()
	}
	wg.Wait()
	seen := map[change.CSN]bool{}
	for _, csns := range out {
		for i, n := range csns {
			if seen[n] {
				t.Fatalf("CSN %v issued twice", n)
			}
			seen[n] = true
			if i > 0 && !csns[i-1].Less(n) {
				t.Fatalf("one goroutine saw %v then %v", csns[i-1], n)
			}
		}
	}
}

func TestNewClockRejectsReplicaIDs(t *testing.T) {
	for _, id := range []uint16{0, change.MaxReplica + 1} {
		if _, err := NewClock(ClockConfig{Replica: id}); err == nil {
			t.Errorf("replica %d accepted", id)
		}
	}
}
