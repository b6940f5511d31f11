package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory/ldif"
)

// person is what the workloads need from one inetOrgPerson entry.
type person struct {
	DN, UID, Mail, CN, SN, GivenName string
}

// dataset is the people of an LDIF file, in a deterministic shuffled order.
type dataset struct {
	People []person
	Parent string // the container of the first person (for adddel)
}

// loadData reads the people (entries with objectClass inetOrgPerson and a
// uid) from an LDIF file and shuffles them with seed, so that the same
// file and seed always give the same workload.
func loadData(path string, seed uint64) (*dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readData(bufio.NewReaderSize(f, 1<<20), seed)
}

func readData(in io.Reader, seed uint64) (*dataset, error) {
	r := ldif.NewReader(in, ldif.ReaderOptions{})
	ds := &dataset{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if rec.ChangeType != "" {
			continue
		}
		var p person
		isPerson := false
		first := func(a ldif.Attr) string {
			if len(a.Values) == 0 {
				return ""
			}
			return string(a.Values[0])
		}
		for _, a := range rec.Attrs {
			switch strings.ToLower(a.Name) {
			case "objectclass":
				for _, v := range a.Values {
					if strings.EqualFold(string(v), "inetOrgPerson") {
						isPerson = true
					}
				}
			case "uid":
				p.UID = first(a)
			case "mail":
				p.Mail = first(a)
			case "cn":
				p.CN = first(a)
			case "sn":
				p.SN = first(a)
			case "givenname":
				p.GivenName = first(a)
			}
		}
		if !isPerson || p.UID == "" {
			continue
		}
		p.DN = rec.DN
		if ds.Parent == "" {
			if i := strings.IndexByte(rec.DN, ','); i > 0 {
				ds.Parent = rec.DN[i+1:]
			}
		}
		ds.People = append(ds.People, p)
	}
	if len(ds.People) == 0 {
		return nil, fmt.Errorf("no inetOrgPerson entries with a uid")
	}
	rng := rand.New(rand.NewPCG(seed, 0x5b))
	rng.Shuffle(len(ds.People), func(i, j int) { ds.People[i], ds.People[j] = ds.People[j], ds.People[i] })
	return ds, nil
}

// prefix2 is the two-letter prefix a user types into an address book: the
// first two letters of the mail local part (ASCII in the generated data,
// e.g. "ra" for raphael.lefevre@...), lower-cased.
func (p *person) prefix2() string {
	s := p.Mail
	if s == "" {
		s = p.UID
	}
	if len(s) > 2 {
		s = s[:2]
	}
	return strings.ToLower(s)
}

// escapeFilterValue escapes an assertion value for a string filter
// (RFC 4515 section 3).
func escapeFilterValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '*', '(', ')', '\\', 0:
			fmt.Fprintf(&b, "\\%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// within returns the people whose DN lies at or below base (compared
// case-insensitively, as the generated data spells DNs one way).
func (ds *dataset) within(base string) *dataset {
	b := strings.ToLower(base)
	out := &dataset{Parent: ds.Parent}
	for _, p := range ds.People {
		dn := strings.ToLower(p.DN)
		if dn == b || strings.HasSuffix(dn, ","+b) {
			out.People = append(out.People, p)
		}
	}
	return out
}
