package audit

import (
	"log/slog"
	"time"
)

// Config configures the audit log.
type Config struct {
	// File is the log's path; rotated files are File.1 (newest) to
	// File.Keep (oldest).
	File string
	// Sync fsyncs each record before the operation's result is sent
	// (concurrent operations share fsyncs). Without it a crash can lose
	// the last records the kernel had not written yet.
	Sync bool
	// MaxBytes rotates the file before a record would take it past this
	// size. Default 100 MiB; negative never rotates.
	MaxBytes int64
	// Keep is how many rotated files are kept. Default 10.
	Keep int
	// FailClosed answers other (80) when the record of a write cannot be
	// written. The write itself has already committed by then: see the
	// package documentation.
	FailClosed bool
	// Sealed reports whether the values of an attribute description, as
	// a client wrote it (any case, a name or an OID, with options), are
	// sealed at rest (the configuration's encryption.attributes). The log
	// redacts them as it redacts passwords, so that no sealed value is
	// ever written in clear. Nil: none.
	Sealed func(desc string) bool
	// Logger receives write failures (at Error), rotations and recovery.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Defaults.
const (
	DefaultMaxBytes = 100 << 20
	DefaultKeep     = 10
)

func (c Config) withDefaults() Config {
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.Keep <= 0 {
		c.Keep = DefaultKeep
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
