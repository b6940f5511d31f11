package ldap

import "github.com/switchboard-ldap/switchboard/change"

// This file holds the typed form of LDAPv3 messages (RFC 4511 section 4).
//
// Decoded requests alias the PDU buffer they were decoded from: every []byte
// field points into that buffer and is valid only until the request's
// response has been written. A handler that keeps a value longer copies it.
// This is what lets a search request decode with no allocation.

// ResultCode is an LDAP resultCode (RFC 4511 section 4.1.9 and appendix A).
type ResultCode int

// Result codes used by the server.
const (
	Success                      ResultCode = 0
	OperationsError              ResultCode = 1
	ProtocolError                ResultCode = 2
	TimeLimitExceeded            ResultCode = 3
	SizeLimitExceeded            ResultCode = 4
	CompareFalse                 ResultCode = 5
	CompareTrue                  ResultCode = 6
	AuthMethodNotSupported       ResultCode = 7
	StrongerAuthRequired         ResultCode = 8
	Referral                     ResultCode = 10
	AdminLimitExceeded           ResultCode = 11
	UnavailableCriticalExtension ResultCode = 12
	ConfidentialityRequired      ResultCode = 13
	SaslBindInProgress           ResultCode = 14
	NoSuchAttribute              ResultCode = 16
	UndefinedAttributeType       ResultCode = 17
	InappropriateMatching        ResultCode = 18
	ConstraintViolation          ResultCode = 19
	AttributeOrValueExists       ResultCode = 20
	InvalidAttributeSyntax       ResultCode = 21
	NoSuchObject                 ResultCode = 32
	AliasProblem                 ResultCode = 33
	InvalidDNSyntax              ResultCode = 34
	AliasDereferencingProblem    ResultCode = 36
	InappropriateAuthentication  ResultCode = 48
	InvalidCredentials           ResultCode = 49
	InsufficientAccessRights     ResultCode = 50
	Busy                         ResultCode = 51
	Unavailable                  ResultCode = 52
	UnwillingToPerform           ResultCode = 53
	LoopDetect                   ResultCode = 54
	NamingViolation              ResultCode = 64
	ObjectClassViolation         ResultCode = 65
	NotAllowedOnNonLeaf          ResultCode = 66
	NotAllowedOnRDN              ResultCode = 67
	EntryAlreadyExists           ResultCode = 68
	ObjectClassModsProhibited    ResultCode = 69
	AffectsMultipleDSAs          ResultCode = 71
	Other                        ResultCode = 80
	Canceled                     ResultCode = 118
	NoSuchOperation              ResultCode = 119
	TooLate                      ResultCode = 120
	CannotCancel                 ResultCode = 121
	AssertionFailed              ResultCode = 122
)

// Error is an LDAP result carried as a Go error: handlers and the engine
// return it so the front end can answer with the exact code, matchedDN and
// diagnostic message.
type Error struct {
	Code      ResultCode
	MatchedDN string
	Message   string
	// Referral holds the URLs of a referral (Code Referral).
	Referral []string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "ldap: result code " + itoa(int(e.Code))
	}
	return "ldap: " + e.Message + " (" + itoa(int(e.Code)) + ")"
}

// Errorf-free constructor kept simple on purpose: NewError(code, msg).
func NewError(code ResultCode, msg string) *Error { return &Error{Code: code, Message: msg} }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Op is the protocolOp choice of an LDAPMessage: its [APPLICATION n] tag number.
type Op uint8

// Protocol operations (RFC 4511 section 4.2 onwards).
const (
	OpBindRequest           Op = 0
	OpBindResponse          Op = 1
	OpUnbindRequest         Op = 2
	OpSearchRequest         Op = 3
	OpSearchResultEntry     Op = 4
	OpSearchResultDone      Op = 5
	OpModifyRequest         Op = 6
	OpModifyResponse        Op = 7
	OpAddRequest            Op = 8
	OpAddResponse           Op = 9
	OpDelRequest            Op = 10
	OpDelResponse           Op = 11
	OpModifyDNRequest       Op = 12
	OpModifyDNResponse      Op = 13
	OpCompareRequest        Op = 14
	OpCompareResponse       Op = 15
	OpAbandonRequest        Op = 16
	OpSearchResultReference Op = 19
	OpExtendedRequest       Op = 23
	OpExtendedResponse      Op = 24
	OpIntermediateResponse  Op = 25
)

// ResponseOp returns the response operation that answers a request operation.
func (o Op) ResponseOp() Op {
	switch o {
	case OpBindRequest:
		return OpBindResponse
	case OpSearchRequest:
		return OpSearchResultDone
	case OpModifyRequest:
		return OpModifyResponse
	case OpAddRequest:
		return OpAddResponse
	case OpDelRequest:
		return OpDelResponse
	case OpModifyDNRequest:
		return OpModifyDNResponse
	case OpCompareRequest:
		return OpCompareResponse
	case OpExtendedRequest:
		return OpExtendedResponse
	}
	return o
}

// Control is an LDAP control (RFC 4511 section 4.1.11).
type Control struct {
	OID      []byte
	Critical bool
	HasValue bool
	Value    []byte
}

// Scope of a search.
type Scope uint8

// Search scopes.
const (
	ScopeBaseObject   Scope = 0
	ScopeSingleLevel  Scope = 1
	ScopeWholeSubtree Scope = 2
	// ScopeChildren is subordinateSubtree (draft-sermersheim-ldap-
	// subordinate-scope, OID 1.3.6.1.4.1.4203.1.9.1): every entry below
	// the base, not the base itself.
	ScopeChildren Scope = 3
)

// Valid reports whether s is a scope this server serves.
func (s Scope) Valid() bool { return s <= ScopeChildren }

// FilterKind is the CHOICE tag of a Filter (RFC 4511 section 4.5.1.7).
type FilterKind uint8

// Filter kinds; the values are the context tag numbers on the wire.
const (
	FilterAnd            FilterKind = 0
	FilterOr             FilterKind = 1
	FilterNot            FilterKind = 2
	FilterEqualityMatch  FilterKind = 3
	FilterSubstrings     FilterKind = 4
	FilterGreaterOrEqual FilterKind = 5
	FilterLessOrEqual    FilterKind = 6
	FilterPresent        FilterKind = 7
	FilterApproxMatch    FilterKind = 8
	FilterExtensible     FilterKind = 9
)

// Filter is a decoded search filter: a tree with no string round trip.
//
// Field use by kind:
//   - And, Or, Not: Children (Not has exactly one).
//   - EqualityMatch, GreaterOrEqual, LessOrEqual, ApproxMatch: Attr, Value.
//   - Present: Attr.
//   - Substrings: Attr, Initial, Any, Final. A nil Initial or Final means
//     the component is absent.
//   - Extensible: MatchingRule (may be nil), Attr (may be nil), Value,
//     DNAttributes.
type Filter struct {
	Kind         FilterKind
	DNAttributes bool
	Attr         []byte
	Value        []byte
	MatchingRule []byte
	Initial      []byte
	Final        []byte
	Any          [][]byte
	Children     []Filter
}

// SubstringFilter-free helpers live in filter.go.

// BindRequest (RFC 4511 section 4.2). Only simple and SASL authentication exist.
type BindRequest struct {
	Version   int
	Name      []byte
	Simple    bool   // true for simple authentication
	Password  []byte // simple
	Mechanism []byte // SASL
	HasCreds  bool   // SASL credentials present
	Creds     []byte // SASL
}

// SearchRequest (RFC 4511 section 4.5.1).
type SearchRequest struct {
	BaseObject   []byte
	Scope        Scope
	DerefAliases uint8
	SizeLimit    int
	TimeLimit    int
	TypesOnly    bool
	Filter       *Filter
	Attributes   [][]byte
	// Invalid, when not empty, says which field holds a value outside
	// its range: a scope or derefAliases value this server does not
	// know, or a negative size or time limit. The PDU itself is well
	// formed, so the operation is answered with protocolError and the
	// connection stays up (as slapd does).
	Invalid string
}

// Change is one modification of a ModifyRequest. Operation's values
// are the protocol's (RFC 4511 section 4.6; increment is RFC 4525).
type Change struct {
	Operation change.ModOp
	Attribute Attribute
}

// Attribute is an attribute description and its values, as in add and
// modify requests and search result entries (the change vocabulary's
// attribute). In an entry of a search with TypesOnly, Values is empty.
type Attribute = change.Attribute

// ModifyRequest (RFC 4511 section 4.6).
type ModifyRequest struct {
	Object  []byte
	Changes []Change
}

// AddRequest (RFC 4511 section 4.7).
type AddRequest struct {
	Entry      []byte
	Attributes []Attribute
}

// ModifyDNRequest (RFC 4511 section 4.9).
type ModifyDNRequest struct {
	Entry          []byte
	NewRDN         []byte
	DeleteOldRDN   bool
	HasNewSuperior bool
	NewSuperior    []byte
}

// CompareRequest (RFC 4511 section 4.10).
type CompareRequest struct {
	Entry []byte
	Attr  []byte
	Value []byte
}

// ExtendedRequest (RFC 4511 section 4.12).
type ExtendedRequest struct {
	Name     []byte
	HasValue bool
	Value    []byte
}

// Request is one decoded LDAPMessage. Exactly the member named by Op is set.
// Requests are reused through a pool by the server; see the file comment on
// aliasing.
type Request struct {
	MessageID int32
	Op        Op
	Controls  []Control

	Bind      BindRequest
	Search    SearchRequest
	Modify    ModifyRequest
	Add       AddRequest
	Delete    []byte // DelRequest is the DN itself
	ModifyDN  ModifyDNRequest
	Compare   CompareRequest
	AbandonID int32
	Extended  ExtendedRequest

	// Decoder scratch space, reused between messages so that decoding a
	// typical request allocates nothing once warm.
	filters  []Filter
	anys     [][]byte
	values   [][]byte
	attrs    []Attribute
	changes  []Change
	controls []Control
}

// Result is the LDAPResult that ends every response (RFC 4511 section 4.1.9),
// plus the fields some responses add.
type Result struct {
	Code        ResultCode
	MatchedDN   string
	Diagnostic  string
	Referral    []string
	Controls    []ResponseControl
	ServerCreds []byte // BindResponse serverSaslCreds, when non-nil

	// ExtendedResponse only.
	ResponseName  string
	ResponseValue []byte // nil means absent
}

// ResponseControl is a control the server attaches to a response or entry.
type ResponseControl struct {
	OID      string
	Critical bool
	Value    []byte // nil means absent
}

// Entry is a search result entry as the server encodes it.
type Entry struct {
	DN         string
	Attributes []Attribute
}
