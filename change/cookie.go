package change

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A Cookie is the state an RFC 4533 consumer keeps between sessions, in
// the form OpenLDAP's syncrepl sends and expects:
//
//	rid=NNN[,sid=SSS][,csn=CSN[;CSN...]][,delcsn=CSN][,view=VVV]
//
// rid is the consumer's replication ID (decimal, up to 999), sid a server
// ID (hexadecimal, up to fff), and each CSN the newest change the
// consumer holds from the server ID inside that CSN. view, Switchboard's
// own, is the version of a federation partner's view the cookie was
// given under (frontend.Partner.View: up to 64 letters and digits).
// Unknown fields are ignored, as slapd does.
type Cookie struct {
	RID  int // -1: absent
	SID  int // -1: absent
	CSNs map[uint16]CSN
	View string // "": absent
}

// ParseCookie parses a cookie. An empty cookie is valid and holds nothing.
func ParseCookie(s string) (Cookie, error) {
	c := Cookie{RID: -1, SID: -1, CSNs: map[uint16]CSN{}}
	if s == "" {
		return c, nil
	}
	if len(s) > 64<<10 {
		return c, fmt.Errorf("change: cookie of %d bytes is too long", len(s))
	}
	for _, field := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(field, "=")
		if !ok {
			return c, fmt.Errorf("change: cookie field %q has no value", field)
		}
		switch name {
		case "rid":
			n, err := strconv.ParseUint(val, 10, 16)
			if err != nil || n > 999 {
				return c, fmt.Errorf("change: cookie rid %q is not 0-999", val)
			}
			c.RID = int(n)
		case "sid":
			n, err := strconv.ParseUint(val, 16, 16)
			if err != nil || n > MaxReplica {
				return c, fmt.Errorf("change: cookie sid %q is not 0-fff", val)
			}
			c.SID = int(n)
		case "csn":
			for _, t := range strings.Split(val, ";") {
				csn, err := ParseCSN(t)
				if err != nil {
					return c, fmt.Errorf("change: cookie: %w", err)
				}
				if old, ok := c.CSNs[csn.Replica]; !ok || old.Less(csn) {
					c.CSNs[csn.Replica] = csn
				}
			}
		case "view":
			if val == "" || len(val) > 64 || strings.IndexFunc(val, func(r rune) bool {
				return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
			}) >= 0 {
				return c, fmt.Errorf("change: cookie view %q is not 1-64 letters and digits", val)
			}
			c.View = val
		}
	}
	return c, nil
}

// String returns the cookie in OpenLDAP's form, CSNs in server ID order.
func (c Cookie) String() string {
	var b strings.Builder
	sep := ""
	if c.RID >= 0 {
		fmt.Fprintf(&b, "rid=%03d", c.RID)
		sep = ","
	}
	if c.SID >= 0 {
		fmt.Fprintf(&b, "%ssid=%03x", sep, c.SID)
		sep = ","
	}
	if len(c.CSNs) > 0 {
		b.WriteString(sep + "csn=")
		os := make([]uint16, 0, len(c.CSNs))
		for o := range c.CSNs {
			os = append(os, o)
		}
		slices.Sort(os)
		for i, o := range os {
			if i > 0 {
				b.WriteByte(';')
			}
			b.WriteString(c.CSNs[o].String())
		}
		sep = ","
	}
	if c.View != "" {
		b.WriteString(sep + "view=" + c.View)
	}
	return b.String()
}
