package ppolicy

import (
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
)

// Policy is a password policy, read from a pwdPolicy entry
// (draft-behera-ldap-password-policy-10 section 5.2). Durations are whole
// seconds on the wire; zero turns the feature off unless said otherwise.
type Policy struct {
	DN string

	MinAge        time.Duration // pwdMinAge: between changes by the user
	MaxAge        time.Duration // pwdMaxAge: after which the password expires
	ExpireWarning time.Duration // pwdExpireWarning: warn binds this long before expiry
	GraceLimit    int           // pwdGraceAuthNLimit: binds allowed once expired

	InHistory    int // pwdInHistory: former passwords that may not come back
	CheckQuality int // pwdCheckQuality: 0 off, 1 check cleartext, 2 also refuse hashes
	MinLength    int // pwdMinLength: in characters

	Lockout         bool          // pwdLockout: too many failures lock the account
	MaxFailure      int           // pwdMaxFailure: failures that lock
	LockoutDuration time.Duration // pwdLockoutDuration: 0 = until an administrator unlocks
	FailureInterval time.Duration // pwdFailureCountInterval: failures older are forgotten
	MustChange      bool          // pwdMustChange: a password set by an administrator must be changed
	AllowUserChange bool          // pwdAllowUserChange (default TRUE)
	SafeModify      bool          // pwdSafeModify: a change must give the old password
}

// maxSeconds caps durations read from a policy (about 100 years), so that
// a huge value cannot overflow time.Duration.
const maxSeconds = 100 * 365 * 24 * 3600

// ParsePolicy reads the policy held by en. Integers that do not parse or
// are negative count as 0 (the schema's syntax check keeps them from being
// stored in the first place); booleans are TRUE or FALSE.
func ParsePolicy(en *directory.Entry) *Policy {
	num := func(name string) int {
		n, err := strconv.Atoi(en.First(name))
		if err != nil || n < 0 {
			return 0
		}
		return min(n, maxSeconds)
	}
	secs := func(name string) time.Duration { return time.Duration(num(name)) * time.Second }
	flag := func(name string, def bool) bool {
		switch strings.ToUpper(en.First(name)) {
		case "TRUE":
			return true
		case "FALSE":
			return false
		}
		return def
	}
	return &Policy{
		DN:              en.DN,
		MinAge:          secs("pwdMinAge"),
		MaxAge:          secs("pwdMaxAge"),
		ExpireWarning:   secs("pwdExpireWarning"),
		GraceLimit:      num("pwdGraceAuthNLimit"),
		InHistory:       num("pwdInHistory"),
		CheckQuality:    num("pwdCheckQuality"),
		MinLength:       num("pwdMinLength"),
		Lockout:         flag("pwdLockout", false),
		MaxFailure:      num("pwdMaxFailure"),
		LockoutDuration: secs("pwdLockoutDuration"),
		FailureInterval: secs("pwdFailureCountInterval"),
		MustChange:      flag("pwdMustChange", false),
		AllowUserChange: flag("pwdAllowUserChange", true),
		SafeModify:      flag("pwdSafeModify", false),
	}
}

// isPolicyEntry reports whether en has the pwdPolicy object class.
func isPolicyEntry(en *directory.Entry) bool {
	for _, v := range en.Get("objectClass") {
		if strings.EqualFold(string(v), "pwdPolicy") || string(v) == "1.3.6.1.4.1.42.2.27.8.2.1" {
			return true
		}
	}
	return false
}
