package web

import (
	"errors"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// diskFullMessage begins the diagnostic of every write the directory
// refuses for want of disk space (package directory, its free-space
// guard), which it answers with unwillingToPerform (53).
const diskFullMessage = "the store's disk is full"

// DiskFull reports whether err is the directory refusing a write because
// its disk is full: a temporary condition, which surfaces answer with 507
// Insufficient Storage (RFC 4918) rather than as a client error; the
// same request succeeds once space is freed.
func DiskFull(err error) bool {
	var le *goldap.Error
	return errors.As(err, &le) && le.ResultCode == goldap.LDAPResultUnwillingToPerform &&
		le.Err != nil && strings.HasPrefix(le.Err.Error(), diskFullMessage)
}
