package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/schema"
)

// permanentLock is the pwdAccountLockedTime that locks an account until
// an administrator unlocks it (as slapd's ppolicy has it).
const permanentLock = "000001010000Z"

// account is an entry's password and lockout state.
type account struct {
	Locked      bool
	Permanent   bool      // locked until unlocked
	LockedAt    time.Time // when, for a lock that runs out
	LockedUntil time.Time
	Failures    int
	ChangedAt   time.Time
	ExpiresAt   time.Time
	Expired     bool
	Reset       bool // must change the password at next login
	GraceUsed   int
	Policy      string // the governing policy's DN
	Rules       []string
	PolicyError string
}

func genTime(v string) time.Time {
	t, err := schema.ParseGeneralizedTime([]byte(v))
	if err != nil {
		return time.Time{}
	}
	return t
}

// accountOf reads e's password state and the policy that governs it.
func (c *Console) accountOf(s *session, e *goldap.Entry) *account {
	a := &account{Failures: len(e.GetAttributeValues("pwdFailureTime")), Reset: strings.EqualFold(e.GetAttributeValue("pwdReset"), "TRUE"),
		GraceUsed: len(e.GetAttributeValues("pwdGraceUseTime")), ChangedAt: genTime(e.GetAttributeValue("pwdChangedTime"))}
	if a.ChangedAt.IsZero() {
		a.ChangedAt = genTime(e.GetAttributeValue("createTimestamp"))
	}
	a.Policy = e.GetAttributeValue("pwdPolicySubentry")
	if a.Policy == "" {
		a.Policy = c.cfg.DefaultPolicy
	}
	var p *goldap.Entry
	if a.Policy != "" {
		var err error
		p, err = readEntry(s, a.Policy, "*")
		if err != nil {
			a.PolicyError = ldapMessage(err)
		} else {
			a.Rules = policyRules(p)
		}
	}
	num := func(name string) int {
		if p == nil {
			return 0
		}
		n, _ := strconv.Atoi(p.GetAttributeValue(name))
		return n
	}
	if v := e.GetAttributeValue("pwdAccountLockedTime"); v != "" {
		a.Locked = true
		if v == permanentLock || num("pwdLockoutDuration") == 0 {
			a.Permanent = true
		} else if t := genTime(v); !t.IsZero() {
			a.LockedAt, a.LockedUntil = t, t.Add(time.Duration(num("pwdLockoutDuration"))*time.Second)
			a.Locked = time.Now().Before(a.LockedUntil)
		}
	}
	if maxAge := num("pwdMaxAge"); maxAge > 0 && !a.ChangedAt.IsZero() {
		a.ExpiresAt = a.ChangedAt.Add(time.Duration(maxAge) * time.Second)
		a.Expired = time.Now().After(a.ExpiresAt)
	}
	return a
}

// policyRules describes a pwdPolicy entry's rules in words.
func policyRules(p *goldap.Entry) []string {
	get := func(name string) string { return p.GetAttributeValue(name) }
	n := func(name string) int { v, _ := strconv.Atoi(get(name)); return v }
	dur := func(secs int) string { return (time.Duration(secs) * time.Second).String() }
	var out []string
	if v := n("pwdMinLength"); v > 0 {
		out = append(out, fmt.Sprintf("At least %d characters.", v))
	}
	switch n("pwdCheckQuality") {
	case 1, 2:
		out = append(out, "Not containing the account's uid, names or mail name (3 or more characters, any case); "+
			"three of lower case, upper case, digits and other characters, or 12 or more characters with two of them.")
	}
	if v := n("pwdInHistory"); v > 0 {
		out = append(out, fmt.Sprintf("Not one of the last %d passwords.", v))
	}
	if v := n("pwdMinAge"); v > 0 {
		out = append(out, "Users may change their own password once every "+dur(v)+".")
	}
	if v := n("pwdMaxAge"); v > 0 {
		s := "Passwords expire after " + dur(v)
		if w := n("pwdExpireWarning"); w > 0 {
			s += ", with a warning " + dur(w) + " before"
		}
		if g := n("pwdGraceAuthNLimit"); g > 0 {
			s += fmt.Sprintf(", then %d grace logins", g)
		}
		out = append(out, s+".")
	}
	if strings.EqualFold(get("pwdLockout"), "TRUE") && n("pwdMaxFailure") > 0 {
		s := fmt.Sprintf("%d failed logins lock the account", n("pwdMaxFailure"))
		if d := n("pwdLockoutDuration"); d > 0 {
			s += " for " + dur(d)
		} else {
			s += " until an administrator unlocks it"
		}
		out = append(out, s+".")
	}
	if strings.EqualFold(get("pwdMustChange"), "TRUE") {
		out = append(out, "After an administrator sets a password, the user must change it at the next login.")
	}
	if strings.EqualFold(get("pwdSafeModify"), "TRUE") {
		out = append(out, "Users changing their own password must give the current one.")
	}
	return out
}

type passwordPage struct {
	DN        string
	Own       bool
	Account   *account
	Generated string
	Error     string
}

func (c *Console) passwordForm(w http.ResponseWriter, r *http.Request, s *session) {
	e, err := readEntry(s, r.URL.Query().Get("dn"), entryAttrs...)
	if err != nil {
		c.failLDAP(w, r, s, "Cannot read the entry", err)
		return
	}
	p := passwordPage{DN: e.DN, Own: strings.EqualFold(e.DN, s.DN()), Account: c.accountOf(s, e)}
	c.render(w, r, s, http.StatusOK, "password", "Password of "+e.DN, p)
}

func (c *Console) setPassword(w http.ResponseWriter, r *http.Request, s *session) {
	dn := r.PostFormValue("dn")
	e, err := readEntry(s, dn, entryAttrs...)
	if err != nil {
		c.failLDAP(w, r, s, "Cannot read the entry", err)
		return
	}
	p := passwordPage{DN: e.DN, Own: strings.EqualFold(e.DN, s.DN()), Account: c.accountOf(s, e)}
	show := func(status int, msg string) {
		p.Error = msg
		c.render(w, r, s, status, "password", "Password of "+e.DN, p)
	}
	pw, again := r.PostFormValue("password"), r.PostFormValue("again")
	generate := r.PostFormValue("generate") != ""
	if !generate && pw == "" {
		show(http.StatusUnprocessableEntity, "Type the new password twice, or choose to have one generated.")
		return
	}
	if !generate && pw != again {
		show(http.StatusUnprocessableEntity, "The two passwords differ; nothing was changed.")
		return
	}
	if generate {
		pw = ""
	}
	res, err := s.conn().PasswordModify(goldap.NewPasswordModifyRequest(e.DN, r.PostFormValue("old"), pw))
	if err != nil {
		show(ldapStatus(err), "The directory refused the password: "+ldapMessage(err))
		return
	}
	if generate {
		p.Generated = res.GeneratedPassword
		if e2, err := readEntry(s, e.DN, entryAttrs...); err == nil {
			p.Account = c.accountOf(s, e2)
		}
		c.render(w, r, s, http.StatusOK, "password", "Password of "+e.DN, p)
		return
	}
	http.Redirect(w, r, "/entry?"+url.Values{"dn": {e.DN}, "done": {"Password set."}}.Encode(), http.StatusSeeOther)
}

// lock returns the handler that locks an account (pwdAccountLockedTime
// set to the permanent value) or unlocks it (the attribute deleted,
// which the password policy takes to clear the failures too).
func (c *Console) lock(on bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		dn := r.PostFormValue("dn")
		mod := goldap.NewModifyRequest(dn, nil)
		done := "Locked " + dn + "."
		if on {
			mod.Replace("pwdAccountLockedTime", []string{permanentLock})
		} else {
			mod.Delete("pwdAccountLockedTime", nil)
			done = "Unlocked " + dn + "."
		}
		if err := s.conn().Modify(mod); err != nil {
			if !on && isCode(err, goldap.LDAPResultNoSuchAttribute) {
				done = dn + " was not locked."
			} else {
				c.failLDAP(w, r, s, "The directory refused", err)
				return
			}
		}
		http.Redirect(w, r, "/entry?"+url.Values{"dn": {dn}, "done": {done}}.Encode(), http.StatusSeeOther)
	}
}
