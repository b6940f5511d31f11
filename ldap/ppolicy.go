package ldap

// The password policy control (draft-behera-ldap-password-policy-10
// section 6). The request control has no value; the response control's
// value is
//
//	PasswordPolicyResponseValue ::= SEQUENCE {
//	    warning [0] CHOICE {
//	        timeBeforeExpiration [0] INTEGER (0 .. maxInt),
//	        graceAuthNsRemaining [1] INTEGER (0 .. maxInt) } OPTIONAL,
//	    error   [1] ENUMERATED { ... } OPTIONAL }
//
// The CHOICE under [0] is explicitly tagged (a tagged CHOICE always is),
// so a warning is A0 len (80|81) len INTEGER; the error is 81 01 NN.

// OIDPasswordPolicy names the request and response control.
const OIDPasswordPolicy = "1.3.6.1.4.1.42.2.27.8.5.1"

// PolicyWarning is the kind of warning of a password policy response.
type PolicyWarning int

// Warnings. PolicyNoWarning is not on the wire: the warning is left out.
const (
	PolicyNoWarning            PolicyWarning = -1
	PolicyTimeBeforeExpiration PolicyWarning = 0
	PolicyGraceAuthNsRemaining PolicyWarning = 1
)

// PolicyError is the error of a password policy response.
type PolicyError int

// Errors, with the draft's values. PolicyNoError is not on the wire.
const (
	PolicyNoError                     PolicyError = -1
	PolicyPasswordExpired             PolicyError = 0
	PolicyAccountLocked               PolicyError = 1
	PolicyChangeAfterReset            PolicyError = 2
	PolicyPasswordModNotAllowed       PolicyError = 3
	PolicyMustSupplyOldPassword       PolicyError = 4
	PolicyInsufficientPasswordQuality PolicyError = 5
	PolicyPasswordTooShort            PolicyError = 6
	PolicyPasswordTooYoung            PolicyError = 7
	PolicyPasswordInHistory           PolicyError = 8
)

// PolicyResponse is a decoded password policy response value.
type PolicyResponse struct {
	Warning PolicyWarning
	Value   int // of the warning: seconds, or binds left
	Error   PolicyError
}

// AppendPolicyResponse appends the value of a password policy response
// control.
func AppendPolicyResponse(b []byte, p PolicyResponse) []byte {
	n := 0
	if p.Warning != PolicyNoWarning {
		n += tlvSize(intSize(int64(p.Value)))
		n = tlvSize(n)
	}
	if p.Error != PolicyNoError {
		n += 3
	}
	b = appendHeader(b, tagSequence, n)
	if p.Warning != PolicyNoWarning {
		b = appendHeader(b, classContext|0x20, tlvSize(intSize(int64(p.Value))))
		b = appendInt(b, classContext|byte(p.Warning), int64(p.Value))
	}
	if p.Error != PolicyNoError {
		b = append(b, classContext|1, 1, byte(p.Error))
	}
	return b
}

// PolicyResponseControl returns the response control carrying p.
func PolicyResponseControl(p PolicyResponse) ResponseControl {
	return ResponseControl{OID: OIDPasswordPolicy, Value: AppendPolicyResponse(nil, p)}
}

// DecodePolicyResponse decodes a password policy response value.
func DecodePolicyResponse(v []byte) (PolicyResponse, error) {
	p := PolicyResponse{Warning: PolicyNoWarning, Error: PolicyNoError}
	bad := controlError("malformed password policy response value")
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return p, bad
	}
	if len(c) > 0 && c[0] == classContext|0x20 {
		w, r, err := expect(c, classContext|0x20)
		if err != nil {
			return p, bad
		}
		if len(w) == 0 || (w[0] != classContext && w[0] != classContext|1) {
			return p, bad
		}
		kind := PolicyWarning(w[0] & 1)
		n, w, err := readInt(w, w[0], 0, maxInt)
		if err != nil || len(w) != 0 {
			return p, bad
		}
		p.Warning, p.Value = kind, int(n)
		c = r
	}
	if len(c) > 0 {
		e, r, err := readInt(c, classContext|1, 0, 8)
		if err != nil || len(r) != 0 {
			return p, bad
		}
		p.Error = PolicyError(e)
	}
	return p, nil
}

// String names the error as the draft does.
func (e PolicyError) String() string {
	names := [...]string{"passwordExpired", "accountLocked", "changeAfterReset", "passwordModNotAllowed",
		"mustSupplyOldPassword", "insufficientPasswordQuality", "passwordTooShort", "passwordTooYoung",
		"passwordInHistory"}
	if e >= 0 && int(e) < len(names) {
		return names[e]
	}
	return "none"
}
