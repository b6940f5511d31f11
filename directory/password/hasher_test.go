package password

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cheapArgon is an Argon2id value that costs little to verify
// (phc-winner-argon2 test vector, m=256).
const cheapArgon = "{ARGON2}$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"

// TestPoolBoundsConcurrency: no more than Workers expensive computations
// run at once; cheap schemes do not enter the pool.
func TestPoolBoundsConcurrency(t *testing.T) {
	const workers = 2
	h := NewHasher(Config{Workers: workers, Duty: 100})
	var cur, peak, entered atomic.Int32
	h.testHook = func() {
		entered.Add(1)
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		cur.Add(-1)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if ok, err := h.Verify(ctx, []byte(cheapArgon), []byte("password")); !ok || err != nil {
				t.Errorf("Verify = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != workers {
		t.Errorf("peak concurrency %d; want %d", p, workers)
	}
	if e := entered.Load(); e != 12 {
		t.Errorf("%d computations entered the pool; want 12", e)
	}
	entered.Store(0)
	if ok, _ := h.Verify(ctx, []byte("{SSHA}astCL3mzWJpuSvo+NNG4JIFAscbBb52Q"), []byte("secret")); !ok || entered.Load() != 0 {
		t.Errorf("{SSHA} verify: ok=%v, pool entries %d; want inline", ok, entered.Load())
	}
	// An Argon2 value with p lanes takes p slots (at most the pool).
	wide := NewHasher(Config{Workers: 4, Duty: 100, Argon2: Argon2Params{MemoryKiB: 64, Time: 1, Threads: 3}})
	var inUse atomic.Int32
	wide.testHook = func() { inUse.Store(int32(len(wide.slots))) }
	if _, err := wide.Hash(ctx, []byte("x")); err != nil || inUse.Load() != 3 {
		t.Errorf("p=3 hash held %d slots (err %v); want 3", inUse.Load(), err)
	}
}

// TestPoolHonoursContext: a caller waiting for a slot gives up when its
// context ends, and a full queue answers ErrBusy at once.
func TestPoolHonoursContext(t *testing.T) {
	h := NewHasher(Config{Workers: 1, Queue: 1, Duty: 100})
	release := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	h.testHook = func() {
		once.Do(func() { close(started) })
		<-release
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Verify(context.Background(), []byte(cheapArgon), []byte("password"))
	}()
	<-started // the only slot is now held

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	ok, err := h.Verify(ctx, []byte(cheapArgon), []byte("password"))
	if ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting Verify = %v, %v; want DeadlineExceeded", ok, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("waiting Verify took %v after its deadline", d)
	}

	// Queue: 1 waiter allowed; a second one is refused with ErrBusy.
	wctx, wcancel := context.WithCancel(context.Background())
	waiterIn := make(chan error, 1)
	go func() {
		_, err := h.Verify(wctx, []byte(cheapArgon), []byte("password"))
		waiterIn <- err
	}()
	deadline := time.Now().Add(2 * time.Second)
	for h.waiting.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if _, err := h.Hash(context.Background(), []byte("x")); !errors.Is(err, ErrBusy) {
		t.Errorf("Hash with a full queue: %v; want ErrBusy", err)
	}
	wcancel()
	if err := <-waiterIn; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	close(release)
	<-done
	// Slots were all given back.
	if n := len(h.slots); n != 0 {
		t.Errorf("%d slots still held", n)
	}
	if _, err := h.Verify(context.Background(), []byte(cheapArgon), []byte("password")); err != nil {
		t.Errorf("Verify after the storm: %v", err)
	}
}

// TestDuty: with Duty 50 a slot rests as long as the computation took,
// after the caller has its answer.
func TestDuty(t *testing.T) {
	h := NewHasher(Config{Workers: 1, Duty: 50, Scheme: SchemePBKDF2SHA512, PBKDF2Iterations: 20000})
	stored, err := h.Hash(context.Background(), []byte("x")) // does not rest
	if err != nil {
		t.Fatal(err)
	}
	if len(h.slots) != 0 {
		t.Errorf("Hash left its slot resting")
	}
	start := time.Now()
	ok, err := h.Verify(context.Background(), stored, []byte("x"))
	took := time.Since(start)
	if !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	if len(h.slots) != 1 {
		t.Errorf("slot free right after a computation with duty 50")
	}
	deadline := time.Now().Add(2*took + time.Second)
	for len(h.slots) != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if len(h.slots) != 0 {
		t.Errorf("slot still held %v after a %v computation", 2*took+time.Second, took)
	}
	if err := (Config{Duty: 101}).Validate(); err == nil {
		t.Error("duty 101 accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{Scheme: "md5"}).Validate(); err == nil {
		t.Error("scheme md5 accepted")
	}
	if err := (Config{Scheme: "Argon2id", Workers: 2}).Validate(); err != nil {
		t.Error(err)
	}
	if h := NewHasher(Config{}); h.Workers() != DefaultWorkers() || h.duty != DefaultDuty {
		t.Errorf("defaults: %d workers, duty %d", h.Workers(), h.duty)
	}
	if h := NewHasher(Config{Scheme: "md5"}); h.Scheme() != SchemeArgon2id {
		t.Errorf("unknown scheme fell back to %s", h.Scheme())
	}
}

// FuzzVerify: no stored value panics, and none makes Verify slow (the
// default caps bound the work; the fuzz target lowers them further).
func FuzzVerify(f *testing.F) {
	for _, ka := range knownAnswers {
		f.Add(ka.stored, ka.plain)
	}
	for _, s := range []string{"{ARGON2}$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$CTFh", "{PBKDF2-SHA512}2147483648$AA$AA", "{CRYPT}$6$rounds=999999999999999999999$x$y", "{CRYPT}$2b$99$", "{", "{SSHA}", ""} {
		f.Add(s, "x")
	}
	h := NewHasher(Config{Workers: 1, Caps: Caps{PBKDF2Iterations: 20000, Argon2MemoryKiB: 4096, Argon2Time: 3, Argon2Threads: 2, BcryptCost: 6, SHACryptRounds: 20000}})
	f.Fuzz(func(t *testing.T, stored, plain string) {
		start := time.Now()
		ok, err := h.Verify(context.Background(), []byte(stored), []byte(plain))
		if ok && err != nil {
			t.Fatalf("Verify(%q) = true with error %v", stored, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Verify(%q) took %v", stored, d)
		}
		h.NeedsRehash([]byte(stored))
		IsHashed([]byte(stored))
	})
}

// TestVerifyDummy: the dummy verification is a value of the configured
// scheme and parameters (NeedsRehash has nothing to upgrade), runs in the
// pool exactly when a real value of the scheme does, is counted, and
// fails like Verify when the pool is busy.
func TestVerifyDummy(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cfg    Config
		pooled bool
	}{
		{Config{Argon2: Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}, true},
		{Config{Scheme: SchemePBKDF2SHA512, PBKDF2Iterations: 1000}, true},
		{Config{Scheme: SchemeSSHA512}, false},
	} {
		tc.cfg.Duty = 100
		h := NewHasher(tc.cfg)
		if v := h.dummyValue(); h.NeedsRehash(v) || h.Costly(v) != tc.pooled {
			t.Errorf("%s: dummy %s: NeedsRehash %v, Costly %v; want false, %v", h.Scheme(), v, h.NeedsRehash(v), h.Costly(v), tc.pooled)
		}
		var entered atomic.Int32
		h.testHook = func() { entered.Add(1) }
		for i := range 2 {
			if err := h.VerifyDummy(ctx, []byte("pw")); err != nil {
				t.Errorf("%s: VerifyDummy: %v", h.Scheme(), err)
			}
			if got := h.DummyVerifications(); got != uint64(i+1) {
				t.Errorf("%s: DummyVerifications %d after %d calls", h.Scheme(), got, i+1)
			}
		}
		if pooled := entered.Load() == 2; pooled != tc.pooled {
			t.Errorf("%s: %d of 2 dummy verifications entered the pool; want pooled=%v", h.Scheme(), entered.Load(), tc.pooled)
		}
	}

	// A busy pool answers the dummy as it answers a real verification.
	h := NewHasher(Config{Workers: 1, Queue: 1, Duty: 100, Argon2: Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	h.waiting.Store(1) // the queue is full
	if err := h.VerifyDummy(ctx, []byte("pw")); !errors.Is(err, ErrBusy) {
		t.Errorf("VerifyDummy with a full queue: %v; want ErrBusy", err)
	}
	if h.Costly([]byte("{SSHA}astCL3mzWJpuSvo+NNG4JIFAscbBb52Q")) || h.Costly([]byte("cleartext")) || !h.Costly([]byte(cheapArgon)) {
		t.Error("Costly: want false for {SSHA} and cleartext, true for Argon2")
	}
}
