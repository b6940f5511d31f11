package ppolicy

import (
	"log/slog"
	"time"
)

// Config configures the overlay and its write hook.
type Config struct {
	// Default is the DN of the policy entry (an entry of object class
	// pwdPolicy) for the entries that name none in pwdPolicySubentry.
	// Empty: such entries have no policy.
	Default string
	// Now is the clock; nil means time.Now. Tests pin it.
	Now func() time.Time
	// Logger hears of policy entries that are missing or unusable and of
	// state that could not be written.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
