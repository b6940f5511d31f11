package frontend

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestSortBudgetQueue: the budget grants in arrival order, a waiter gives
// up after the wait (busy) or when its context ends, and what it was
// granted meanwhile goes back.
func TestSortBudgetQueue(t *testing.T) {
	ctx := context.Background()
	b := NewSortBudget(100, time.Millisecond)
	if err := b.acquire(ctx, 60, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(ctx, 50, 0); !errors.Is(err, errBudgetBusy) {
		t.Errorf("50 more of 100 with 60 held: %v, want busy after the wait", err)
	}
	if err := b.acquire(ctx, 101, 0); !errors.Is(err, errBudgetOver) {
		t.Errorf("101 of 100: %v, want over the whole budget", err)
	}
	if err := b.acquire(ctx, 30, 60); err != nil {
		t.Errorf("30 more of 100 with 60 held: %v", err)
	}
	b.release(30)
	cctx, cancel := context.WithCancel(ctx)
	b.wait = time.Hour
	done := make(chan error)
	go func() { done <- b.acquire(cctx, 50, 0) }()
	waitFor(t, b, 1)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	// First come, first served: a small request does not pass a large
	// one waiting ahead of it.
	big := make(chan error)
	go func() { big <- b.acquire(ctx, 90, 0) }()
	waitFor(t, b, 1)
	small := make(chan error)
	go func() { small <- b.acquire(ctx, 10, 0) }()
	waitFor(t, b, 2)
	b.release(60)
	if err := <-big; err != nil {
		t.Fatal(err)
	}
	b.release(90)
	if err := <-small; err != nil {
		t.Fatal(err)
	}
	b.release(10)
	if b.InUse() != 0 || b.Refused() != 2 {
		t.Errorf("in use %d, refused %d; want 0, 2", b.InUse(), b.Refused())
	}
}

// waitFor waits until n searches queue for b.
func waitFor(t *testing.T, b *SortBudget, n int) {
	t.Helper()
	for {
		b.mu.Lock()
		got := len(b.waiters)
		b.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSortBudgetObserve: the observer hears every change of the bytes
// held, in order, including grants to waiters and bytes given back.
func TestSortBudgetObserve(t *testing.T) {
	ctx := context.Background()
	b := NewSortBudget(100, time.Minute)
	var seen []int64
	b.Observe(func(used int64) { seen = append(seen, used) })
	if err := b.acquire(ctx, 60, 0); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- b.acquire(ctx, 50, 0) }()
	waitFor(t, b, 1)
	b.release(60)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.release(50)
	want := []int64{60, 0, 50, 0}
	if len(seen) != len(want) {
		t.Fatalf("observed %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("observed %v, want %v", seen, want)
		}
	}
}
