package carddav

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// A Chunk is one card of a .vcf file as written, for Parse.
type Chunk struct {
	Line int // 1-based line of the file where the card begins
	Data []byte
}

// Split cuts a .vcf file of any number of vCards into one Chunk per card:
// from a BEGIN:VCARD line to the next END:VCARD line. It checks nothing
// else (Parse does): text outside cards other than blank lines becomes a
// chunk of its own, and a card that a BEGIN:VCARD interrupts ends before
// it, so that Parse refuses each with its own message.
func Split(data []byte) []Chunk {
	var out []Chunk
	start, startLine := -1, 0 // the open chunk, -1 none
	inCard := false
	off := 0
	for n := 1; off < len(data); n++ {
		end := len(data)
		if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
			end = off + i + 1
		}
		l := bytes.TrimRight(data[off:end], "\r\n")
		switch {
		case equalFoldTrim(l, "BEGIN:VCARD"):
			if start >= 0 {
				out = append(out, Chunk{startLine, data[start:off]})
			}
			start, startLine, inCard = off, n, true
		case inCard && equalFoldTrim(l, "END:VCARD"):
			out = append(out, Chunk{startLine, data[start:end]})
			start, inCard = -1, false
		case start < 0 && len(bytes.TrimSpace(l)) > 0:
			start, startLine = off, n // stray text: a chunk Parse refuses
		}
		off = end
	}
	if start >= 0 {
		out = append(out, Chunk{startLine, data[start:]})
	}
	return out
}

func equalFoldTrim(l []byte, s string) bool {
	return strings.EqualFold(string(bytes.TrimSpace(l)), s)
}

// ErrCardTooLarge is a card or PHOTO over Limits.
var ErrCardTooLarge = errors.New("carddav: card too large")

// Limits bound a card stored in a personal book, through PUT or an
// offline import; zero fields take the defaults of Config.
type Limits struct {
	MaxCardBytes  int64
	MaxPhotoBytes int
}

// Check parses one card and checks it against the limits. Its errors are
// a *ParseError or wrap ErrCardTooLarge.
func (l Limits) Check(data []byte) (*Card, error) {
	if l.MaxCardBytes <= 0 {
		l.MaxCardBytes = DefaultMaxCardBytes
	}
	if l.MaxPhotoBytes <= 0 {
		l.MaxPhotoBytes = DefaultMaxPhotoBytes
	}
	if int64(len(data)) > l.MaxCardBytes {
		return nil, fmt.Errorf("%w: the card is %d bytes, more than the %d allowed", ErrCardTooLarge, len(data), l.MaxCardBytes)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, err
	}
	for _, p := range c.All("PHOTO") {
		if b, ok := photoBytes(p); ok && len(b) > l.MaxPhotoBytes {
			return nil, fmt.Errorf("%w: the card's PHOTO is %d bytes, more than the %d allowed", ErrCardTooLarge, len(b), l.MaxPhotoBytes)
		}
	}
	return c, nil
}

// ImportName names a card for an import into a personal book, after its
// UID so that importing the same card again replaces it: the UID itself
// (without urn:uuid:) when it is a plain token, else a hash of it; a card
// without UID is named by a hash of its bytes.
func ImportName(c *Card, data []byte) string {
	uid := strings.TrimSpace(c.Get("UID").textOrEmpty())
	if len(uid) >= 9 && strings.EqualFold(uid[:9], "urn:uuid:") {
		uid = uid[9:]
	}
	if uid == "" {
		s := sha256.Sum256(data)
		return "card-" + hex.EncodeToString(s[:16]) + ".vcf"
	}
	if len(uid) <= 200 && strings.Trim(uid, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@") == "" &&
		uid[0] != '.' {
		return uid + ".vcf"
	}
	s := sha256.Sum256([]byte(uid))
	return "uid-" + hex.EncodeToString(s[:16]) + ".vcf"
}

func (p *Prop) textOrEmpty() string {
	if p == nil {
		return ""
	}
	return p.Text()
}

// The layout of personal books in the directory (store.go), for tools
// that write them offline.
const (
	ClassAddressBook = classBook
	ClassCard        = classCard
	AttrName         = attrName
	AttrVCard        = attrVCard
)

// CheckBookName reports whether name may name a personal book.
func CheckBookName(name string) error {
	if err := checkSegment(name); err != nil {
		return err
	}
	if name == directoryURL || strings.Contains(name, "/") {
		return fmt.Errorf("%q cannot name a personal address book", name)
	}
	return nil
}

// BookDN is the DN of the personal book named book of the user owner.
func BookDN(owner, book string) string {
	return attrName + "=" + goldap.EscapeDN(book) + "," + owner
}

// CardDN is the DN of the card named name in the book bookDN.
func CardDN(bookDN, name string) string { return cardDN(bookDN, name) }
