package replication

import (
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
)

// The change log lives in package changelog; these names keep the
// Replicator's API in the vocabulary it always had.
type (
	Changelog = changelog.Changelog
	Config    = changelog.Config
	LogRecord = changelog.LogRecord
	Record    = changelog.Record
	Coverage  = changelog.Coverage
	Consumer  = changelog.Consumer
)

// ErrLogRecord is returned (wrapped) for a log record that does not
// decode.
var ErrLogRecord = changelog.ErrLogRecord

// New returns a Changelog for cfg (changelog.New).
func New(cfg Config) (*Changelog, error) { return changelog.New(cfg) }

// Migrations returns the upgrades of this package's side records, to run
// after directory.Migrations() (pass both in directory.Options.Migrations):
// from format 1 to 2, the RFC 4533 changelog and the op log become one
// change log (changelog.Migrations).
func Migrations() []directory.Migration { return changelog.Migrations(keyGeneration) }
