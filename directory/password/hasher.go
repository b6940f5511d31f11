package password

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// Scheme names accepted in Config.Scheme.
const (
	SchemeArgon2id     = "argon2id"
	SchemePBKDF2SHA512 = "pbkdf2-sha512"
	SchemeSSHA512      = "ssha512"
)

// Default hashing parameters.
//
// Argon2id m=19456 KiB (19 MiB), t=2, p=1 is the first of the equivalent
// settings in the OWASP Password Storage Cheat Sheet; on the 2-core
// reference machine (AMD EPYC) one hash takes 28 ms and allocates 19 MiB
// (BenchmarkHashArgon2id), so the default pool of one worker there holds
// at most 19 MiB of Argon2 memory at a time.
// OpenLDAP's pw-argon2 default is m=4096,t=3,p=1 (libargon2 build).
//
// PBKDF2-HMAC-SHA512 with 210,000 iterations is the OWASP figure for that
// digest (600,000 is its figure for SHA-256, 1,300,000 for SHA-1).
const (
	DefaultArgon2MemoryKiB  = 19456
	DefaultArgon2Time       = 2
	DefaultArgon2Threads    = 1
	DefaultPBKDF2Iterations = 210_000
)

const (
	saltLen    = 16 // bytes of fresh salt for every new hash
	argon2Len  = 32 // bytes of Argon2 output
	pbkdf2Size = sha512.Size
)

// ErrBusy reports that the hashing pool's wait queue (Config.Queue) is
// full: the caller should answer busy (51) rather than wait.
var ErrBusy = errors.New("password: too many password hashes waiting")

// Argon2Params are the Argon2id parameters of new hashes.
type Argon2Params struct {
	MemoryKiB uint32 // m, KiB
	Time      uint32 // t, passes
	Threads   uint8  // p, lanes
}

// Config configures a Hasher. Zero fields take the defaults.
type Config struct {
	// Scheme of new hashes: "argon2id" (default), "pbkdf2-sha512" or
	// "ssha512".
	Scheme string
	Argon2 Argon2Params
	// PBKDF2Iterations of new {PBKDF2-SHA512} hashes.
	PBKDF2Iterations int
	// Caps refuse stored hashes that would cost more than this to verify.
	// A cap below the parameters of new hashes is raised to them.
	Caps Caps
	// Workers bounds concurrent expensive hash computations (Argon2,
	// PBKDF2, bcrypt, SHA-crypt); 0 means DefaultWorkers(): half the CPUs,
	// at least one. {SSHA*} and {SHA*} run inline in the caller.
	Workers int
	// Queue bounds the callers waiting for a worker; beyond it Hash and
	// Verify fail at once with ErrBusy. 0 means no bound (waiting still
	// ends when the caller's context does).
	Queue int
	// Duty is the percentage of time a worker slot may spend verifying:
	// after a computation that used d of CPU time, its slots stay taken
	// (idle) for d*(100-Duty)/Duty more, without delaying the caller. It
	// bounds the CPU share of a bind storm to about Workers*Duty/100
	// cores, so that searches keep the rest. 0 means DefaultDuty; 100
	// means no rest.
	Duty int
}

// Validate reports a configuration that NewHasher would have to correct.
func (c Config) Validate() error {
	switch strings.ToLower(c.Scheme) {
	case "", SchemeArgon2id, SchemePBKDF2SHA512, SchemeSSHA512:
	default:
		return fmt.Errorf("password: unknown scheme %q (want %s, %s or %s)", c.Scheme, SchemeArgon2id, SchemePBKDF2SHA512, SchemeSSHA512)
	}
	switch {
	case c.Argon2.MemoryKiB != 0 && c.Argon2.MemoryKiB < 8*uint32(max(c.Argon2.Threads, 1)):
		return fmt.Errorf("password: argon2 memory %d KiB is below 8 KiB per thread", c.Argon2.MemoryKiB)
	case c.PBKDF2Iterations < 0 || c.Workers < 0 || c.Queue < 0:
		return errors.New("password: iterations, workers and queue must not be negative")
	case c.Duty < 0 || c.Duty > 100:
		return fmt.Errorf("password: duty %d%% is outside [0, 100]", c.Duty)
	}
	return nil
}

// Hasher hashes new passwords with the configured scheme and verifies
// stored ones of any supported scheme, running the expensive schemes in a
// bounded pool so that a storm of binds cannot take every core.
type Hasher struct {
	scheme string
	argon  Argon2Params
	iter   int
	caps   Caps

	slots   chan struct{} // one token per running computation slot
	gate    chan struct{} // serialises multi-slot acquisition
	queue   int64
	waiting atomic.Int64
	duty    int // percent, 1..100
	// argonNsPerUnit is the fastest Argon2 run seen, in ns per KiB-pass.
	argonNsPerUnit atomic.Uint64

	// dummy is a value of the configured scheme and parameters with a
	// random key, which VerifyDummy checks against; dummies counts them.
	dummy   checker
	dummies atomic.Uint64

	// testHook, when set, runs while a computation holds its slots.
	testHook func()
}

// NewHasher returns a Hasher for cfg, with defaults for zero fields. An
// unknown scheme falls back to argon2id (Config.Validate reports it).
func NewHasher(cfg Config) *Hasher {
	h := &Hasher{scheme: strings.ToLower(cfg.Scheme), argon: cfg.Argon2, iter: cfg.PBKDF2Iterations, caps: cfg.Caps.withDefaults()}
	switch h.scheme {
	case SchemeArgon2id, SchemePBKDF2SHA512, SchemeSSHA512:
	default:
		h.scheme = SchemeArgon2id
	}
	if h.argon.MemoryKiB == 0 {
		h.argon.MemoryKiB = DefaultArgon2MemoryKiB
	}
	if h.argon.Time == 0 {
		h.argon.Time = DefaultArgon2Time
	}
	if h.argon.Threads == 0 {
		h.argon.Threads = DefaultArgon2Threads
	}
	h.argon.MemoryKiB = max(h.argon.MemoryKiB, 8*uint32(h.argon.Threads))
	if h.iter <= 0 {
		h.iter = DefaultPBKDF2Iterations
	}
	// Our own new hashes must stay verifiable.
	switch h.scheme {
	case SchemeArgon2id:
		h.caps.Argon2MemoryKiB = max(h.caps.Argon2MemoryKiB, h.argon.MemoryKiB)
		h.caps.Argon2Time = max(h.caps.Argon2Time, h.argon.Time)
		h.caps.Argon2Threads = max(h.caps.Argon2Threads, h.argon.Threads)
	case SchemePBKDF2SHA512:
		h.caps.PBKDF2Iterations = max(h.caps.PBKDF2Iterations, h.iter)
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = DefaultWorkers()
	}
	h.slots = make(chan struct{}, workers)
	h.gate = make(chan struct{}, 1)
	h.queue = int64(cfg.Queue)
	h.duty = cfg.Duty
	if h.duty <= 0 {
		h.duty = DefaultDuty
	}
	h.duty = min(h.duty, 100)
	// The caps were raised to the configured parameters above, so the
	// dummy parses; were it ever refused, VerifyDummy would still answer.
	h.dummy, _ = parse(h.dummyValue(), h.caps)
	return h
}

// dummyValue returns a stored value of the configured scheme and
// parameters whose salt and key are random bytes: checking a password
// against it costs what checking a real value of the scheme costs, and
// matches nothing.
func (h *Hasher) dummyValue() []byte {
	salt, key := make([]byte, saltLen), make([]byte, 64)
	rand.Read(salt) // crypto/rand.Read never fails (it aborts the process instead)
	rand.Read(key)
	switch h.scheme {
	case SchemeSSHA512:
		return append([]byte("{SSHA512}"), base64.StdEncoding.AppendEncode(nil, append(key[:sha512.Size], salt...))...)
	case SchemePBKDF2SHA512:
		return appendPBKDF2(nil, h.iter, salt, key[:pbkdf2Size])
	default:
		return appendArgon2(nil, h.argon, salt, key[:argon2Len])
	}
}

// DefaultDuty is the default Config.Duty, in percent.
//
// With it and DefaultWorkers, an Argon2id bind storm on a 2-core server
// gets about 0.3 core (one worker verifying 30% of the time: about 12
// binds per second at the default parameters), and searches keep 75-84%
// of their throughput (cmd/switchboard-bench -op eq, 8 connections, 20k
// people, during -op bind on 8 connections; with two workers and no rest
// searches fell to 3%, with one worker and no rest to 49%). Raise Duty
// (up to 100) and Workers for bind-heavy deployments with CPU to spare.
const DefaultDuty = 30

// DefaultWorkers is the default size of the pool: half the CPUs, at least
// one, so that a bind storm can never occupy every core (with all cores
// hashing, searches on a 2-core machine fell to 3% of their rate).
func DefaultWorkers() int { return max(1, runtime.NumCPU()/2) }

// Workers returns the size of the pool.
func (h *Hasher) Workers() int { return cap(h.slots) }

// Scheme returns the scheme of new hashes.
func (h *Hasher) Scheme() string { return h.scheme }

// acquire takes n slots (at most the pool size), waiting until ctx ends.
func (h *Hasher) acquire(ctx context.Context, n int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n = min(max(n, 1), cap(h.slots))
	if h.queue > 0 {
		if h.waiting.Add(1) > h.queue {
			h.waiting.Add(-1)
			return ErrBusy
		}
		defer h.waiting.Add(-1)
	}
	select {
	case h.gate <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.gate }()
	for i := range n {
		select {
		case h.slots <- struct{}{}:
		case <-ctx.Done():
			h.release(i)
			return ctx.Err()
		}
	}
	return nil
}

func (h *Hasher) release(n int) {
	for range n {
		<-h.slots
	}
}

// run runs fn holding weight pool slots. With a duty below 100 the slots
// are given back only after a rest proportional to the CPU time fn used;
// the caller does not wait for it. argonUnits is m*t for an Argon2
// computation (0 otherwise), see cpuUsed. Only verification rests (rest
// true): a bind storm can come from anyone, while new hashes come from
// authenticated writes and the offline import, which must not be slowed.
func (h *Hasher) run(ctx context.Context, weight int, argonUnits uint64, rest bool, fn func()) error {
	if err := h.acquire(ctx, weight); err != nil {
		return err
	}
	n := min(max(weight, 1), cap(h.slots))
	resting := false
	defer func() {
		if !resting {
			h.release(n)
		}
	}()
	if h.testHook != nil {
		h.testHook()
	}
	if !rest || h.duty >= 100 {
		fn()
		return nil
	}
	used := h.cpuUsed(max(weight, 1), argonUnits, fn)
	resting = true
	time.AfterFunc(used*time.Duration(100-h.duty)/time.Duration(h.duty), func() { h.release(n) })
	return nil
}

// cpuUsed runs fn and estimates the CPU time it used: not its wall time,
// which a search load stretches (resting for the stretch too would starve
// binds for nothing). PBKDF2, bcrypt and SHA-crypt compute on the calling
// goroutine, locked to its thread for the thread's CPU clock.
// golang.org/x/crypto/argon2 computes each segment on new goroutines, so
// for Argon2 the estimate is units (m*t) times the fastest wall time per
// unit seen so far, times the lanes: the cost of an uncontended run.
func (h *Hasher) cpuUsed(lanes int, argonUnits uint64, fn func()) time.Duration {
	if argonUnits > 0 {
		start := time.Now()
		fn()
		per := uint64(time.Since(start)) * uint64(lanes) / argonUnits
		for {
			cur := h.argonNsPerUnit.Load()
			if cur != 0 && cur <= per || h.argonNsPerUnit.CompareAndSwap(cur, per) {
				break
			}
		}
		return time.Duration(h.argonNsPerUnit.Load() * argonUnits)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	c0, ok0 := threadCPU()
	fn()
	if c1, ok1 := threadCPU(); ok0 && ok1 {
		return c1 - c0
	}
	return time.Since(start)
}

// Hash returns the hash of plain in the configured scheme, with a fresh
// random salt: {ARGON2}$argon2id$v=19$m=..,t=..,p=..$salt$hash,
// {PBKDF2-SHA512}iter$salt$hash or {SSHA512}base64.
func (h *Hasher) Hash(ctx context.Context, plain []byte) ([]byte, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("password: reading random salt: %w", err)
	}
	switch h.scheme {
	case SchemeSSHA512:
		return saltedHash("{SSHA512}", sha512.New(), plain, salt), nil
	case SchemePBKDF2SHA512:
		var dk []byte
		var kerr error
		if err := h.run(ctx, 1, 0, false, func() { dk, kerr = pbkdf2.Key(sha512.New, string(plain), salt, h.iter, pbkdf2Size) }); err != nil {
			return nil, err
		}
		if kerr != nil {
			return nil, fmt.Errorf("password: pbkdf2: %w", kerr)
		}
		return appendPBKDF2(make([]byte, 0, 16+10+1+22+1+86), h.iter, salt, dk), nil
	default:
		var dk []byte
		a := h.argon
		if err := h.run(ctx, int(a.Threads), uint64(a.MemoryKiB)*uint64(a.Time), false, func() { dk = argon2.IDKey(plain, salt, a.Time, a.MemoryKiB, a.Threads, argon2Len) }); err != nil {
			return nil, err
		}
		return appendArgon2(nil, a, salt, dk), nil
	}
}

// appendPBKDF2 appends the stored form {PBKDF2-SHA512}iter$salt$key.
func appendPBKDF2(out []byte, iter int, salt, dk []byte) []byte {
	out = append(out, "{PBKDF2-SHA512}"...)
	out = strconv.AppendInt(out, int64(iter), 10)
	out = append(out, '$')
	out = ab64.AppendEncode(out, salt)
	out = append(out, '$')
	return ab64.AppendEncode(out, dk)
}

// appendArgon2 appends the stored form
// {ARGON2}$argon2id$v=19$m=..,t=..,p=..$salt$key.
func appendArgon2(out []byte, a Argon2Params, salt, dk []byte) []byte {
	out = fmt.Appendf(out, "{ARGON2}$argon2id$v=19$m=%d,t=%d,p=%d$", a.MemoryKiB, a.Time, a.Threads)
	out = base64.RawStdEncoding.AppendEncode(out, salt)
	out = append(out, '$')
	return base64.RawStdEncoding.AppendEncode(out, dk)
}

// Verify reports whether plain matches the stored userPassword value. A
// value of an unknown scheme, a malformed one or one whose cost exceeds
// the caps never matches, and the error says which (ErrUnknownScheme,
// ErrMalformed, ErrCostTooHigh). Expensive schemes wait for a pool slot
// (ctx ends the wait; ErrBusy when the queue is full). The comparison is
// constant-time.
func (h *Hasher) Verify(ctx context.Context, stored, plain []byte) (bool, error) {
	c, err := parse(stored, h.caps)
	if err != nil {
		return false, err
	}
	return h.verify(ctx, &c, plain)
}

func (h *Hasher) verify(ctx context.Context, c *checker, plain []byte) (bool, error) {
	if c.weight == 0 {
		return c.check(plain), nil
	}
	var ok bool
	if err := h.run(ctx, c.weight, c.argonUnits(), true, func() { ok = c.check(plain) }); err != nil {
		return false, err
	}
	return ok, nil
}

// VerifyDummy spends on plain what Verify spends on a value of the
// configured scheme and parameters, in the same pool and with the same
// errors (ErrBusy, the context's), and matches nothing. A bind to a name
// that has no password to check (no such entry, no userPassword, no right
// to use it) calls it, so that its failure takes as long as a wrong
// password's: otherwise the time of the answer tells which names exist.
func (h *Hasher) VerifyDummy(ctx context.Context, plain []byte) error {
	h.dummies.Add(1)
	_, err := h.verify(ctx, &h.dummy, plain)
	return err
}

// DummyVerifications returns how many times VerifyDummy was called.
func (h *Hasher) DummyVerifications() uint64 { return h.dummies.Load() }

// Costly reports whether verifying stored runs in the pool: a value of an
// expensive scheme within the caps. A failed bind that checked no costly
// value adds a VerifyDummy, so that a cheap legacy hash ({SSHA}) does not
// answer faster than a missing entry.
func (h *Hasher) Costly(stored []byte) bool {
	c, err := parse(stored, h.caps)
	return err == nil && c.weight > 0
}

// NeedsRehash reports whether stored is not in the current scheme with
// the current parameters (for re-hashing after a successful bind).
// Values this Hasher cannot parse report false: there is nothing to
// upgrade from a value that cannot match.
func (h *Hasher) NeedsRehash(stored []byte) bool {
	c, err := parse(stored, h.caps)
	if err != nil {
		return false
	}
	switch h.scheme {
	case SchemeSSHA512:
		return !(c.kind == kindSalted && c.scheme == "SSHA512" && len(c.raw)-c.size >= saltLen)
	case SchemePBKDF2SHA512:
		return !(c.kind == kindPBKDF2 && c.scheme == "PBKDF2-SHA512" && c.iter == h.iter && len(c.salt) >= saltLen)
	default:
		return !(c.kind == kindArgon2 && c.argonID && c.m == h.argon.MemoryKiB && c.t == h.argon.Time && c.p == h.argon.Threads &&
			len(c.salt) >= saltLen && len(c.raw) == argon2Len)
	}
}
