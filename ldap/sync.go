package ldap

// Content synchronization (RFC 4533) and persistent search
// (draft-ietf-ldapext-psearch-03): the values of their controls and of the
// Sync Info intermediate message. The server decodes the requests and
// encodes the rest; the decoders of the responses serve clients and tests.

// Object identifiers of RFC 4533 and of persistent search.
const (
	OIDSyncRequest = "1.3.6.1.4.1.4203.1.9.1.1"
	OIDSyncState   = "1.3.6.1.4.1.4203.1.9.1.2"
	OIDSyncDone    = "1.3.6.1.4.1.4203.1.9.1.3"
	OIDSyncInfo    = "1.3.6.1.4.1.4203.1.9.1.4"

	OIDPersistentSearch     = "2.16.840.1.113730.3.4.3"
	OIDEntryChangeNotifying = "2.16.840.1.113730.3.4.7"
)

// SyncRefreshRequired is e-syncRefreshRequired (RFC 4533 section 2.6): the
// server cannot bring the client up to date from its cookie and the client
// must start again without one.
const SyncRefreshRequired ResultCode = 4096

// Sync request modes (RFC 4533 section 2.2).
const (
	SyncRefreshOnly       = 1
	SyncRefreshAndPersist = 3
)

// SyncRequest is the value of the Sync Request control:
//
//	syncRequestValue ::= SEQUENCE {
//	    mode ENUMERATED { refreshOnly (1), refreshAndPersist (3) },
//	    cookie syncCookie OPTIONAL,
//	    reloadHint BOOLEAN DEFAULT FALSE }
//
// Cookie aliases the decoded value; it is nil when absent.
type SyncRequest struct {
	Mode       int
	Cookie     []byte
	ReloadHint bool
}

// DecodeSyncRequest decodes a Sync Request control value.
func DecodeSyncRequest(v []byte) (SyncRequest, error) {
	var r SyncRequest
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return r, controlError("malformed sync request control value")
	}
	mode, c, err := readInt(c, tagEnumerated, 0, 3)
	if err != nil || (mode != SyncRefreshOnly && mode != SyncRefreshAndPersist) {
		return r, controlError("sync request: mode is neither refreshOnly nor refreshAndPersist")
	}
	r.Mode = int(mode)
	if len(c) > 0 && c[0] == tagOctetString {
		var ck []byte
		if ck, c, err = expect(c, tagOctetString); err != nil {
			return r, controlError("sync request: malformed cookie")
		}
		r.Cookie = ck
		if r.Cookie == nil {
			r.Cookie = []byte{}
		}
	}
	if len(c) > 0 && c[0] == tagBoolean {
		var b []byte
		if b, c, err = expect(c, tagBoolean); err != nil {
			return r, controlError("sync request: malformed reloadHint")
		}
		if r.ReloadHint, err = parseBool(b); err != nil {
			return r, controlError("sync request: malformed reloadHint")
		}
	}
	if len(c) != 0 {
		return r, controlError("sync request: trailing data")
	}
	return r, nil
}

// AppendSyncRequest appends a Sync Request control value (for clients).
func AppendSyncRequest(b []byte, r SyncRequest) []byte {
	n := 3
	if r.Cookie != nil {
		n += tlvSize(len(r.Cookie))
	}
	if r.ReloadHint {
		n += 3
	}
	b = appendHeader(b, tagSequence, n)
	b = appendInt(b, tagEnumerated, int64(r.Mode))
	if r.Cookie != nil {
		b = appendBytes(b, tagOctetString, r.Cookie)
	}
	if r.ReloadHint {
		b = appendBool(b, tagBoolean, true)
	}
	return b
}

// Sync states of an entry (RFC 4533 section 2.3).
const (
	SyncPresent = 0
	SyncAdd     = 1
	SyncModify  = 2
	SyncDelete  = 3
)

// SyncState is the value of the Sync State control sent with each entry:
//
//	syncStateValue ::= SEQUENCE {
//	    state ENUMERATED { present (0), add (1), modify (2), delete (3) },
//	    entryUUID syncUUID,
//	    cookie    syncCookie OPTIONAL }
//
// UUID is the 16-octet binary form (RFC 4533 section 2.1).
type SyncState struct {
	State  int
	UUID   [16]byte
	Cookie []byte // nil: absent
}

// AppendSyncState appends a Sync State control value.
func AppendSyncState(b []byte, s SyncState) []byte {
	n := 3 + tlvSize(16)
	if s.Cookie != nil {
		n += tlvSize(len(s.Cookie))
	}
	b = appendHeader(b, tagSequence, n)
	b = appendInt(b, tagEnumerated, int64(s.State))
	b = appendBytes(b, tagOctetString, s.UUID[:])
	if s.Cookie != nil {
		b = appendBytes(b, tagOctetString, s.Cookie)
	}
	return b
}

// DecodeSyncState decodes a Sync State control value.
func DecodeSyncState(v []byte) (SyncState, error) {
	var s SyncState
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return s, controlError("malformed sync state control value")
	}
	st, c, err := readInt(c, tagEnumerated, 0, 3)
	if err != nil {
		return s, controlError("sync state: bad state")
	}
	s.State = int(st)
	u, c, err := expect(c, tagOctetString)
	if err != nil || len(u) != 16 {
		return s, controlError("sync state: entryUUID is not 16 octets")
	}
	copy(s.UUID[:], u)
	if len(c) > 0 {
		ck, r, err := expect(c, tagOctetString)
		if err != nil || len(r) != 0 {
			return s, controlError("sync state: malformed cookie")
		}
		s.Cookie = append([]byte{}, ck...)
	}
	return s, nil
}

// SyncDone is the value of the Sync Done control on the SearchResultDone:
//
//	syncDoneValue ::= SEQUENCE {
//	    cookie          syncCookie OPTIONAL,
//	    refreshDeletes  BOOLEAN DEFAULT FALSE }
type SyncDone struct {
	Cookie         []byte // nil: absent
	RefreshDeletes bool
}

// AppendSyncDone appends a Sync Done control value.
func AppendSyncDone(b []byte, d SyncDone) []byte {
	n := 0
	if d.Cookie != nil {
		n += tlvSize(len(d.Cookie))
	}
	if d.RefreshDeletes {
		n += 3
	}
	b = appendHeader(b, tagSequence, n)
	if d.Cookie != nil {
		b = appendBytes(b, tagOctetString, d.Cookie)
	}
	if d.RefreshDeletes {
		b = appendBool(b, tagBoolean, true)
	}
	return b
}

// DecodeSyncDone decodes a Sync Done control value.
func DecodeSyncDone(v []byte) (SyncDone, error) {
	var d SyncDone
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return d, controlError("malformed sync done control value")
	}
	d.Cookie, d.RefreshDeletes, c, err = cookieAndFlag(c, false)
	if err != nil || len(c) != 0 {
		return d, controlError("malformed sync done control value")
	}
	return d, nil
}

// cookieAndFlag reads "cookie OPTIONAL, flag BOOLEAN DEFAULT def".
func cookieAndFlag(c []byte, def bool) (cookie []byte, flag bool, rest []byte, err error) {
	flag = def
	if len(c) > 0 && c[0] == tagOctetString {
		var ck []byte
		if ck, c, err = expect(c, tagOctetString); err != nil {
			return nil, false, nil, err
		}
		cookie = append([]byte{}, ck...)
	}
	if len(c) > 0 && c[0] == tagBoolean {
		var b []byte
		if b, c, err = expect(c, tagBoolean); err != nil {
			return nil, false, nil, err
		}
		if flag, err = parseBool(b); err != nil {
			return nil, false, nil, err
		}
	}
	return cookie, flag, c, nil
}

// Kinds of Sync Info message (the CHOICE tags of syncInfoValue).
const (
	SyncInfoNewCookie      = 0
	SyncInfoRefreshDelete  = 1
	SyncInfoRefreshPresent = 2
	SyncInfoIDSet          = 3
)

// SyncInfo is the value of the Sync Info intermediate message:
//
//	syncInfoValue ::= CHOICE {
//	    newcookie      [0] syncCookie,
//	    refreshDelete  [1] SEQUENCE { cookie OPTIONAL, refreshDone BOOLEAN DEFAULT TRUE },
//	    refreshPresent [2] SEQUENCE { cookie OPTIONAL, refreshDone BOOLEAN DEFAULT TRUE },
//	    syncIdSet      [3] SEQUENCE { cookie OPTIONAL, refreshDeletes BOOLEAN DEFAULT FALSE,
//	                                  syncUUIDs SET OF syncUUID } }
//
// Done is refreshDone for kinds 1 and 2, refreshDeletes for kind 3.
type SyncInfo struct {
	Kind   int
	Cookie []byte // nil: absent (newcookie always has one)
	Done   bool
	UUIDs  [][16]byte // syncIdSet only
}

// AppendSyncInfo appends a Sync Info value.
func AppendSyncInfo(b []byte, s SyncInfo) []byte {
	if s.Kind == SyncInfoNewCookie {
		return appendBytes(b, classContext, s.Cookie)
	}
	n := 0
	if s.Cookie != nil {
		n += tlvSize(len(s.Cookie))
	}
	// Leave out the flag when it has its default value (DER).
	def := s.Kind != SyncInfoIDSet
	if s.Done != def {
		n += 3
	}
	set := 0
	if s.Kind == SyncInfoIDSet {
		set = len(s.UUIDs) * tlvSize(16)
		n += tlvSize(set)
	}
	b = appendHeader(b, classContext|bitConstructed|byte(s.Kind), n)
	if s.Cookie != nil {
		b = appendBytes(b, tagOctetString, s.Cookie)
	}
	if s.Done != def {
		b = appendBool(b, tagBoolean, s.Done)
	}
	if s.Kind == SyncInfoIDSet {
		b = appendHeader(b, tagSet, set)
		for i := range s.UUIDs {
			b = appendBytes(b, tagOctetString, s.UUIDs[i][:])
		}
	}
	return b
}

// DecodeSyncInfo decodes a Sync Info value.
func DecodeSyncInfo(v []byte) (SyncInfo, error) {
	var s SyncInfo
	tag, c, rest, err := readTLV(v)
	if err != nil || len(rest) != 0 {
		return s, controlError("malformed sync info value")
	}
	switch tag {
	case classContext | SyncInfoNewCookie:
		s.Kind, s.Cookie = SyncInfoNewCookie, append([]byte{}, c...)
		return s, nil
	case classContext | bitConstructed | SyncInfoRefreshDelete, classContext | bitConstructed | SyncInfoRefreshPresent:
		s.Kind = int(tag & 0x1f)
		s.Cookie, s.Done, c, err = cookieAndFlag(c, true)
		if err != nil || len(c) != 0 {
			return s, controlError("malformed sync info value")
		}
		return s, nil
	case classContext | bitConstructed | SyncInfoIDSet:
		s.Kind = SyncInfoIDSet
		s.Cookie, s.Done, c, err = cookieAndFlag(c, false)
		if err != nil {
			return s, controlError("malformed sync info value")
		}
		set, r, err := expect(c, tagSet)
		if err != nil || len(r) != 0 {
			return s, controlError("sync info: malformed syncUUIDs")
		}
		for len(set) > 0 {
			u, r, err := expect(set, tagOctetString)
			if err != nil || len(u) != 16 {
				return s, controlError("sync info: a syncUUID is not 16 octets")
			}
			var id [16]byte
			copy(id[:], u)
			s.UUIDs = append(s.UUIDs, id)
			set = r
		}
		return s, nil
	}
	return s, controlError("sync info: unknown choice")
}

// Change types of persistent search (draft-ietf-ldapext-psearch-03
// section 4), as a bit mask.
const (
	PSearchAdd    = 1
	PSearchDelete = 2
	PSearchModify = 4
	PSearchModDN  = 8
)

// PersistentSearch is the value of the persistent search control:
//
//	PersistentSearch ::= SEQUENCE {
//	    changeTypes INTEGER, changesOnly BOOLEAN, returnECs BOOLEAN }
type PersistentSearch struct {
	ChangeTypes int
	ChangesOnly bool
	ReturnECs   bool
}

// DecodePersistentSearch decodes a persistent search control value.
func DecodePersistentSearch(v []byte) (PersistentSearch, error) {
	var p PersistentSearch
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return p, controlError("malformed persistent search control value")
	}
	ct, c, err := readInt(c, tagInteger, 1, 15)
	if err != nil {
		return p, controlError("persistent search: changeTypes is not 1-15")
	}
	p.ChangeTypes = int(ct)
	for _, dst := range []*bool{&p.ChangesOnly, &p.ReturnECs} {
		b, r, err := expect(c, tagBoolean)
		if err != nil {
			return p, controlError("persistent search: malformed flags")
		}
		if *dst, err = parseBool(b); err != nil {
			return p, controlError("persistent search: malformed flags")
		}
		c = r
	}
	if len(c) != 0 {
		return p, controlError("persistent search: trailing data")
	}
	return p, nil
}

// AppendEntryChangeNotification appends the value of the entry change
// notification control:
//
//	EntryChangeNotification ::= SEQUENCE {
//	    changeType ENUMERATED { add (1), delete (2), modify (4), modDN (8) },
//	    previousDN LDAPDN OPTIONAL,     -- modDN only
//	    changeNumber INTEGER OPTIONAL }
//
// previousDN "" is left out; the change number is never sent.
func AppendEntryChangeNotification(b []byte, changeType int, previousDN string) []byte {
	n := 2 + intSize(int64(changeType))
	if previousDN != "" {
		n += tlvSize(len(previousDN))
	}
	b = appendHeader(b, tagSequence, n)
	b = appendInt(b, tagEnumerated, int64(changeType))
	if previousDN != "" {
		b = appendString(b, tagOctetString, previousDN)
	}
	return b
}
