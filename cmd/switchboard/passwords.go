package main

import (
	"fmt"

	"github.com/switchboard-ldap/switchboard/directory/password"
)

// passwordConfig maps the passwords.* keys to the Hasher configuration.
func (c *Config) passwordConfig() password.Config {
	p := c.Passwords
	return password.Config{
		Scheme: p.Scheme,
		Argon2: password.Argon2Params{
			MemoryKiB: uint32(p.Argon2.MemoryKiB),
			Time:      uint32(p.Argon2.Time),
			Threads:   uint8(p.Argon2.Threads),
		},
		PBKDF2Iterations: p.PBKDF2.Iterations,
		Caps: password.Caps{
			PBKDF2Iterations: p.MaxPBKDF2Iterations,
			Argon2MemoryKiB:  uint32(p.MaxArgon2MemoryKiB),
			Argon2Time:       uint32(p.MaxArgon2Time),
			Argon2Threads:    uint8(p.MaxArgon2Threads),
			BcryptCost:       p.MaxBcryptCost,
			SHACryptRounds:   p.MaxSHACryptRounds,
		},
		Workers: p.Workers,
		Queue:   p.Queue,
		Duty:    p.Duty,
	}
}

// validatePasswords checks the passwords.* keys: ranges first (the
// Hasher's fields are narrower than int), then the Hasher's own rules.
func (c *Config) validatePasswords() error {
	p := c.Passwords
	for _, r := range []struct {
		key       string
		v, lo, hi int
	}{
		{"passwords.argon2.memory_kib", p.Argon2.MemoryKiB, 8, 1 << 22},
		{"passwords.argon2.time", p.Argon2.Time, 1, 1 << 16},
		{"passwords.argon2.threads", p.Argon2.Threads, 1, 255},
		{"passwords.pbkdf2.iterations", p.PBKDF2.Iterations, 1000, 1 << 30},
		{"passwords.workers", p.Workers, 0, 1 << 16},
		{"passwords.queue", p.Queue, 0, 1 << 30},
		{"passwords.duty", p.Duty, 1, 100},
		{"passwords.max_pbkdf2_iterations", p.MaxPBKDF2Iterations, 1, 1 << 31},
		{"passwords.max_argon2_memory_kib", p.MaxArgon2MemoryKiB, 8, 1 << 22},
		{"passwords.max_argon2_time", p.MaxArgon2Time, 1, 1 << 16},
		{"passwords.max_argon2_threads", p.MaxArgon2Threads, 1, 255},
		{"passwords.max_bcrypt_cost", p.MaxBcryptCost, 4, 31},
		{"passwords.max_sha_crypt_rounds", p.MaxSHACryptRounds, 1000, 999999999},
	} {
		if r.v < r.lo || r.v > r.hi {
			return fmt.Errorf("config: %s = %d is outside [%d, %d]", r.key, r.v, r.lo, r.hi)
		}
	}
	if err := c.passwordConfig().Validate(); err != nil {
		return fmt.Errorf("config: passwords: %w", err)
	}
	return nil
}
