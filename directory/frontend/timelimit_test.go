package frontend

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestTimeLimit: withTimeLimit behaves as context.WithTimeout, whether
// the deadline is noticed by polling Err or by waiting on Done, and
// passes the parent's cancellation and values through.
func TestTimeLimit(t *testing.T) {
	type key struct{}
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	defer cancelParent()

	// Polled: no timer, the clock decides.
	ctx, stop := withTimeLimit(parent, 20*time.Millisecond)
	if ctx.Err() != nil || ctx.Value(key{}) != "v" {
		t.Fatalf("fresh: err %v, value %v", ctx.Err(), ctx.Value(key{}))
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > 20*time.Millisecond {
		t.Errorf("deadline %v %v", d, ok)
	}
	time.Sleep(30 * time.Millisecond)
	var err error
	for range clockPolls {
		if err = ctx.Err(); err != nil {
			break
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("after the limit, polled %d times: %v", clockPolls, err)
	}
	select {
	case <-ctx.Done():
	default:
		t.Error("Done open after the limit")
	}
	stop()

	// Waited on: Done closes at the deadline.
	ctx, stop = withTimeLimit(parent, 20*time.Millisecond)
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done did not close at the limit")
	}
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("after the limit, waited: %v", err)
	}
	stop()

	// The CancelFunc ends it, armed or not.
	for _, armed := range []bool{false, true} {
		ctx, stop = withTimeLimit(parent, time.Hour)
		if armed {
			ctx.Done()
		}
		stop()
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("stopped (armed %v): %v", armed, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("stopped (armed %v): Done open", armed)
		}
	}

	// The parent's cancellation, armed or not.
	a, stopA := withTimeLimit(parent, time.Hour)
	defer stopA()
	b, stopB := withTimeLimit(parent, time.Hour)
	defer stopB()
	b.Done()
	cancelParent()
	for _, ctx := range []context.Context{a, b} {
		if err := ctx.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("parent cancelled: %v", err)
		}
		<-ctx.Done()
	}

	// A parent deadline that comes first stays the deadline.
	short, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx, stop = withTimeLimit(short, time.Hour)
	defer stop()
	if d, _ := ctx.Deadline(); time.Until(d) > time.Minute {
		t.Errorf("deadline %v after the parent's", d)
	}
}

// TestTimeLimitAllocs: a search's time limit that is only polled costs
// two allocations, the context and its CancelFunc (context.WithTimeout
// under a cancellable parent: 4).
func TestTimeLimitAllocs(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := testing.AllocsPerRun(1000, func() {
		ctx, stop := withTimeLimit(parent, time.Hour)
		if ctx.Err() != nil {
			t.Fatal("expired")
		}
		stop()
	})
	if n > 2 {
		t.Errorf("%.0f allocations per time limit", n)
	}
}

// BenchmarkTimeLimit compares withTimeLimit with context.WithTimeout for
// a limit that is polled and never expires, as a search's usually is.
func BenchmarkTimeLimit(b *testing.B) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, bc := range []struct {
		name string
		with func(context.Context, time.Duration) (context.Context, context.CancelFunc)
	}{{"withTimeLimit", withTimeLimit}, {"context.WithTimeout", context.WithTimeout}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ctx, stop := bc.with(parent, time.Hour)
				for range 8 {
					_ = ctx.Err()
				}
				stop()
			}
		})
	}
}
