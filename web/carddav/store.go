package carddav

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/web"
)

// Personal address books in the directory: a book is an entry
//
//	switchboardName=<book>,<owner DN>   objectClass: switchboardAddressBook
//
// and its cards the entries right below it,
//
//	switchboardName=<card>,<book DN>    objectClass: switchboardCard
//	                                    switchboardVCard: <the vCard as PUT>
//
// where <book> and <card> are the last segments of their URLs. When a
// card is deleted through CardDAV, its book records "<entryUUID> <card>"
// in switchboardCardRemoved, so that sync-collection can name the card
// the change log knows only by entryUUID.
const (
	classBook    = "switchboardAddressBook"
	classCard    = "switchboardCard"
	attrName     = "switchboardName"
	attrVCard    = "switchboardVCard"
	attrRemoved  = "switchboardCardRemoved"
	defaultBook  = "contacts"
	directoryURL = "directory" // the directory book's segment
)

// pageSize is the page of the paged searches that list books: below the
// default size limit for users (500), which a page smaller than the
// limit is not subject to.
const pageSize = 200

var cardAttrs = []string{attrName, attrVCard, "entryUUID"}

// store is the directory as one request's user sees it, over the user's
// own LDAP connection: every read and write is an ordinary LDAP operation
// with the user's access rights.
type store struct {
	conn         *goldap.Conn
	base         string // the naming context (the directory book's search base)
	peopleFilter string // the filter selecting the directory book's people
	userDN       string
}

// A card is one resource of a book.
type card struct {
	name string // URL segment
	uuid string // entryUUID of its entry
	data []byte // the vCard as served
	etag string
}

func etagOf(data []byte) string {
	s := sha256.Sum256(data)
	return `"` + hex.EncodeToString(s[:12]) + `"`
}

// httpError is an error with the HTTP answer it calls for.
type httpError struct {
	status int
	cond   string // a DAV or CardDAV precondition element, "" none
	space  string
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, msg string) *httpError { return &httpError{status: status, msg: msg} }

// ldapError turns an LDAP error into the HTTP answer for it.
func ldapError(op string, err error) error {
	var le *goldap.Error
	if errors.As(err, &le) {
		if web.DiskFull(err) {
			// RFC 4918 11.5: the server cannot store it now.
			return fail(http.StatusInsufficientStorage, op+": "+le.Err.Error()+"; try again later")
		}
		switch le.ResultCode {
		case goldap.LDAPResultNoSuchObject:
			return fail(http.StatusNotFound, "not found")
		case goldap.LDAPResultInsufficientAccessRights:
			return &httpError{status: http.StatusForbidden, cond: "need-privileges", space: nsDAV, msg: op + ": the directory refused: " + le.Err.Error()}
		case goldap.LDAPResultEntryAlreadyExists:
			return fail(http.StatusPreconditionFailed, op+": it exists already")
		case goldap.LDAPResultBusy, goldap.LDAPResultUnavailable:
			return fail(http.StatusServiceUnavailable, op+": the directory is busy: "+le.Err.Error())
		case goldap.LDAPResultAdminLimitExceeded, goldap.LDAPResultSizeLimitExceeded, goldap.LDAPResultTimeLimitExceeded:
			// The directory's limits (value and entry sizes, write
			// rate, search limits): the user's to stay within.
			return fail(http.StatusForbidden, op+": over a limit of the directory: "+le.Err.Error())
		case goldap.LDAPResultConstraintViolation, goldap.LDAPResultObjectClassViolation, goldap.LDAPResultInvalidAttributeSyntax:
			return fail(http.StatusBadRequest, op+": the directory refused: "+le.Err.Error())
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// me is the user's own entry.
type me struct {
	dn, uuid, name string
}

func (s *store) me() (me, error) {
	res, err := s.conn.Search(goldap.NewSearchRequest(s.userDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", []string{"entryUUID", "cn", "displayName"}, nil))
	if err != nil {
		return me{}, ldapError("read your own entry", err)
	}
	if len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("entryUUID") == "" {
		return me{}, fail(http.StatusForbidden, "your own entry or its entryUUID is not readable")
	}
	en := res.Entries[0]
	name := en.GetAttributeValue("displayName")
	if name == "" {
		name = en.GetAttributeValue("cn")
	}
	return me{dn: en.DN, uuid: strings.ToLower(en.GetAttributeValue("entryUUID")), name: name}, nil
}

// attrsOf converts an LDAP entry to Attrs.
func attrsOf(en *goldap.Entry) Attrs {
	a := Attrs{}
	for _, at := range en.Attributes {
		n := strings.ToLower(at.Name)
		a[n] = append(a[n], at.Values...)
	}
	return a
}

// personCard renders a directory entry.
func personCard(en *goldap.Entry, version string) card {
	a := attrsOf(en)
	data := PersonCard(a, version).Encode()
	u := strings.ToLower(a.first("entryuuid"))
	return card{name: u + ".vcf", uuid: u, data: data, etag: etagOf(data)}
}

// people lists the directory book, in pages so that the user's size
// limit (if any) applies per page.
func (s *store) listPeople(ctx context.Context, version string, fn func(card) error) error {
	req := goldap.NewSearchRequest(s.base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		s.peopleFilter, PersonAttrs, nil)
	res, err := s.conn.SearchWithPaging(req, pageSize)
	if err != nil {
		return ldapError("list the directory", err)
	}
	for _, en := range res.Entries {
		if en.GetAttributeValue("entryUUID") == "" {
			continue
		}
		if err := fn(personCard(en, version)); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// person reads one person of the directory book by entryUUID.
func (s *store) person(version, uuid string) (card, error) {
	f := fmt.Sprintf("(&%s(entryUUID=%s))", s.peopleFilter, goldap.EscapeFilter(uuid))
	res, err := s.conn.Search(goldap.NewSearchRequest(s.base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, 0, false, f, PersonAttrs, nil))
	if err != nil {
		return card{}, ldapError("read the card", err)
	}
	if len(res.Entries) != 1 {
		return card{}, fail(http.StatusNotFound, "no such card")
	}
	return personCard(res.Entries[0], version), nil
}

func (s *store) bookDN(book string) string {
	return attrName + "=" + goldap.EscapeDN(book) + "," + s.userDN
}

func cardDN(bookDN, name string) string {
	return attrName + "=" + goldap.EscapeDN(name) + "," + bookDN
}

// books lists the user's personal books by name.
func (s *store) books() ([]string, error) {
	res, err := s.conn.Search(goldap.NewSearchRequest(s.userDN, goldap.ScopeSingleLevel, goldap.NeverDerefAliases,
		0, 0, false, "(objectClass="+classBook+")", []string{attrName}, nil))
	if err != nil {
		return nil, ldapError("list your address books", err)
	}
	var out []string
	for _, en := range res.Entries {
		if n := en.GetAttributeValue(attrName); n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}

// createBook adds a personal book.
func (s *store) createBook(name string) error {
	req := goldap.NewAddRequest(s.bookDN(name), nil)
	req.Attribute("objectClass", []string{classBook})
	req.Attribute(attrName, []string{name})
	if err := s.conn.Add(req); err != nil {
		return ldapError("create the address book", err)
	}
	return nil
}

// bookExists reports whether the personal book exists and is readable.
func (s *store) bookExists(name string) (bool, error) {
	res, err := s.conn.Search(goldap.NewSearchRequest(s.bookDN(name), goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, 0, false, "(objectClass="+classBook+")", []string{"1.1"}, nil))
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return false, nil
	}
	if err != nil {
		return false, ldapError("read the address book", err)
	}
	return len(res.Entries) == 1, nil
}

func cardOf(en *goldap.Entry) card {
	data := en.GetRawAttributeValue(attrVCard)
	return card{name: en.GetAttributeValue(attrName), uuid: strings.ToLower(en.GetAttributeValue("entryUUID")),
		data: data, etag: etagOf(data)}
}

// cards lists a personal book.
func (s *store) cards(book string, fn func(card) error) error {
	req := goldap.NewSearchRequest(s.bookDN(book), goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass="+classCard+")", cardAttrs, nil)
	res, err := s.conn.SearchWithPaging(req, pageSize)
	if err != nil {
		return ldapError("list the address book", err)
	}
	for _, en := range res.Entries {
		if err := fn(cardOf(en)); err != nil {
			return err
		}
	}
	return nil
}

// card reads one card of a personal book; ok is false when there is none.
func (s *store) card(book, name string) (c card, ok bool, err error) {
	res, err := s.conn.Search(goldap.NewSearchRequest(cardDN(s.bookDN(book), name), goldap.ScopeBaseObject,
		goldap.NeverDerefAliases, 1, 0, false, "(objectClass="+classCard+")", cardAttrs, nil))
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return card{}, false, nil
	}
	if err != nil {
		return card{}, false, ldapError("read the card", err)
	}
	if len(res.Entries) != 1 {
		return card{}, false, nil
	}
	return cardOf(res.Entries[0]), true, nil
}

// putCard stores a card, adding it or replacing its vCard.
func (s *store) putCard(book, name string, data []byte, exists bool) error {
	dn := cardDN(s.bookDN(book), name)
	if exists {
		m := goldap.NewModifyRequest(dn, nil)
		m.Replace(attrVCard, []string{string(data)})
		if err := s.conn.Modify(m); err != nil {
			return ldapError("store the card", err)
		}
		return nil
	}
	req := goldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{classCard})
	req.Attribute(attrName, []string{name})
	req.Attribute(attrVCard, []string{string(data)})
	if err := s.conn.Add(req); err != nil {
		return ldapError("store the card", err)
	}
	return nil
}

// deleteCard removes a card, first recording it in the book for
// sync-collection.
func (s *store) deleteCard(book string, c card) error {
	bdn := s.bookDN(book)
	m := goldap.NewModifyRequest(bdn, nil)
	m.Add(attrRemoved, []string{c.uuid + " " + c.name})
	if err := s.conn.Modify(m); err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultAttributeOrValueExists) {
		return ldapError("record the card's removal", err)
	}
	if err := s.conn.Del(goldap.NewDelRequest(cardDN(bdn, c.name), nil)); err != nil {
		return ldapError("delete the card", err)
	}
	return nil
}

// removed maps the entryUUIDs of cards deleted from a book to their names.
func (s *store) removed(book string) (map[string]string, error) {
	res, err := s.conn.Search(goldap.NewSearchRequest(s.bookDN(book), goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", []string{attrRemoved}, nil))
	if err != nil {
		return nil, ldapError("read the address book", err)
	}
	out := map[string]string{}
	for _, en := range res.Entries {
		for _, v := range en.GetAttributeValues(attrRemoved) {
			if u, n, ok := strings.Cut(v, " "); ok {
				out[strings.ToLower(u)] = n
			}
		}
	}
	return out, nil
}

// notPeople returns those of uuids that name entries the user may read
// that are not people (groups, address books): a sync search names
// entries that changed in its scope and are not in its content, and
// these never were in the directory book.
func (s *store) notPeople(uuids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for len(uuids) > 0 {
		n := min(len(uuids), 100)
		var f strings.Builder
		f.WriteString("(&(!(objectClass=inetOrgPerson))(|")
		for _, u := range uuids[:n] {
			f.WriteString("(entryUUID=" + goldap.EscapeFilter(u) + ")")
		}
		f.WriteString("))")
		uuids = uuids[n:]
		res, err := s.conn.Search(goldap.NewSearchRequest(s.base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
			0, 0, false, f.String(), []string{"entryUUID"}, nil))
		if err != nil {
			return nil, ldapError("look up removed entries", err)
		}
		for _, en := range res.Entries {
			out[strings.ToLower(en.GetAttributeValue("entryUUID"))] = true
		}
	}
	return out, nil
}
