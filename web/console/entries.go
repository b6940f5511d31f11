package console

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// A kind is what a list page shows: people or groups.
type kind struct {
	Name, Plural, Path string
	Filter             string   // the entries of the kind
	Classes            []string // the object classes of a new one
	RDN                []string // naming attributes, the first with a value names a new entry
	Container          string   // the preferred parent's RDN under the naming context
	Columns            []string // attributes the list shows after cn
}

var (
	kindPerson = &kind{Name: "person", Plural: "People", Path: "/people", Filter: "(objectClass=person)",
		Classes: []string{"top", "person", "organizationalPerson", "inetOrgPerson"}, RDN: []string{"uid", "cn"},
		Container: "ou=people", Columns: []string{"uid", "mail", "title"}}
	kindGroup = &kind{Name: "group", Plural: "Groups", Path: "/groups",
		Filter:  "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
		Classes: []string{"top", "groupOfNames"}, RDN: []string{"cn"}, Container: "ou=groups", Columns: []string{"description"}}
)

func kindNamed(name string) *kind {
	if name == kindGroup.Name {
		return kindGroup
	}
	return kindPerson
}

// Listing bounds: a search returns at most maxList entries, shown
// pageSize a page.
const (
	maxList  = 1000
	pageSize = 25
)

type listRow struct {
	DN, CN  string
	Columns []string
}

type listPage struct {
	Kind      *kind
	Query     string
	Rows      []listRow
	Total     int
	Truncated bool // more than maxList matched
	Page      int
	Pages     int
	Prev      string // URLs of the neighbouring pages, if any
	Next      string
	First     int // the 1-based number of the first row shown
	Error     string
}

// searchFilter is the filter for a search box's text: the kind's entries
// whose name, uid, mail or surname contains it.
func searchFilter(k *kind, q string) string {
	q = strings.TrimSpace(q)
	if q == "" {
		return k.Filter
	}
	v := goldap.EscapeFilter(q)
	return "(&" + k.Filter + "(|(cn=*" + v + "*)(uid=*" + v + "*)(mail=*" + v + "*)(sn=*" + v + "*)(givenName=*" + v + "*)))"
}

func (c *Console) list(k *kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		q := r.URL.Query().Get("q")
		if len(q) > 256 {
			q = q[:256]
		}
		p := listPage{Kind: k, Query: q, Page: 1}
		if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 1 {
			p.Page = n
		}
		info, err := c.directoryInfo(s)
		if err != nil {
			c.fail(w, r, s, http.StatusBadGateway, "The directory's schema cannot be read: "+err.Error())
			return
		}
		attrs := append([]string{"cn"}, k.Columns...)
		res, err := s.conn().Search(goldap.NewSearchRequest(info.suffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
			maxList, 30, false, searchFilter(k, q), attrs, nil))
		if err != nil && !isCode(err, goldap.LDAPResultSizeLimitExceeded) {
			p.Error = ldapMessage(err)
		}
		if res != nil {
			p.Truncated = len(res.Entries) >= maxList || isCode(err, goldap.LDAPResultSizeLimitExceeded)
			for _, e := range res.Entries {
				row := listRow{DN: e.DN, CN: e.GetAttributeValue("cn")}
				for _, a := range k.Columns {
					row.Columns = append(row.Columns, strings.Join(e.GetAttributeValues(a), ", "))
				}
				p.Rows = append(p.Rows, row)
			}
		}
		slices.SortFunc(p.Rows, func(a, b listRow) int {
			return cmp.Or(cmp.Compare(strings.ToLower(a.CN), strings.ToLower(b.CN)), cmp.Compare(a.DN, b.DN))
		})
		p.Total = len(p.Rows)
		p.Pages = max(1, (p.Total+pageSize-1)/pageSize)
		p.Page = min(p.Page, p.Pages)
		lo := (p.Page - 1) * pageSize
		p.Rows = p.Rows[lo:min(lo+pageSize, p.Total)]
		p.First = lo + 1
		link := func(n int) string {
			v := url.Values{"page": {strconv.Itoa(n)}}
			if q != "" {
				v.Set("q", q)
			}
			return k.Path + "?" + v.Encode()
		}
		if p.Page > 1 {
			p.Prev = link(p.Page - 1)
		}
		if p.Page < p.Pages {
			p.Next = link(p.Page + 1)
		}
		if r.URL.Query().Get("fragment") == "1" {
			c.renderFragment(w, "list", "results", p)
			return
		}
		c.renderPage(w, r, s, http.StatusOK, "list", &page{Title: k.Plural, Nav: k.Path, Content: p})
	}
}

// entryAttrs are the attributes the entry page reads: the user ones, and
// the operational ones it shows.
var entryAttrs = []string{"*", "memberOf", "pwdAccountLockedTime", "pwdChangedTime", "pwdFailureTime", "pwdReset",
	"pwdPolicySubentry", "pwdGraceUseTime", "createTimestamp", "modifyTimestamp", "creatorsName", "modifiersName"}

// readEntry reads one entry through s's connection.
func readEntry(s *session, dn string, attrs ...string) (*goldap.Entry, error) {
	if len(attrs) == 0 {
		attrs = []string{"*"}
	}
	res, err := s.conn().Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 30, false,
		"(objectClass=*)", attrs, nil))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, goldap.NewError(goldap.LDAPResultNoSuchObject, fmt.Errorf("%s is not visible", dn))
	}
	return res.Entries[0], nil
}

type attrRow struct {
	Name   string
	Values []string
}

type memberRow struct {
	DN, CN  string
	Group   bool
	Depth   int    // 0: a direct member; n: through n nested groups
	Via     string // the nested group it is a member through
	Missing bool   // no visible entry
}

type entryPage struct {
	DN, CN     string
	Person     bool
	Group      bool
	Attrs      []attrRow
	Account    *account
	Groups     []memberRow // groups of the entry, nested ones with Depth > 0
	Members    []memberRow // members of a group, nested ones with Depth > 0
	MemberAttr string      // member or uniqueMember
	Error      string
}

// hasClass reports whether e has one of the object classes.
func hasClass(e *goldap.Entry, classes ...string) bool {
	for _, v := range e.GetAttributeValues("objectClass") {
		for _, c := range classes {
			if strings.EqualFold(v, c) {
				return true
			}
		}
	}
	return false
}

// maxNesting bounds how deep nested groups are followed.
const maxNesting = 8

func (c *Console) view(w http.ResponseWriter, r *http.Request, s *session) {
	dn := r.URL.Query().Get("dn")
	e, err := readEntry(s, dn, entryAttrs...)
	if err != nil {
		c.failLDAP(w, r, s, "Cannot read "+dn, err)
		return
	}
	p := entryPage{DN: e.DN, CN: e.GetAttributeValue("cn"), Person: hasClass(e, "person"), Group: hasClass(e, "groupOfNames", "groupOfUniqueNames")}
	for _, a := range e.Attributes {
		if strings.HasPrefix(strings.ToLower(a.Name), "pwd") || strings.EqualFold(a.Name, "userPassword") {
			continue
		}
		row := attrRow{Name: a.Name}
		for _, v := range a.ByteValues {
			if utf8.Valid(v) {
				row.Values = append(row.Values, string(v))
			} else {
				row.Values = append(row.Values, fmt.Sprintf("(%d bytes of binary data)", len(v)))
			}
		}
		p.Attrs = append(p.Attrs, row)
	}
	if p.Person || e.GetAttributeValue("userPassword") != "" || e.GetAttributeValue("pwdChangedTime") != "" {
		p.Account = c.accountOf(s, e)
	}
	p.Groups = groupsOf(s, e.DN)
	if p.Group {
		p.MemberAttr = "member"
		if !hasClass(e, "groupOfNames") {
			p.MemberAttr = "uniqueMember"
		}
		p.Members = membersOf(s, e, 0, map[string]bool{strings.ToLower(e.DN): true})
	}
	c.renderPage(w, r, s, http.StatusOK, "entry", &page{Title: e.DN, Nav: navOf(p.Group), Content: p})
}

func navOf(group bool) string {
	if group {
		return kindGroup.Path
	}
	return kindPerson.Path
}

// groupsOf returns the groups dn is a member of, directly and through
// nested groups, as the user may see them.
func groupsOf(s *session, dn string) []memberRow {
	var out []memberRow
	seen := map[string]bool{strings.ToLower(dn): true}
	frontier := []memberRow{{DN: dn}}
	for depth := 0; depth < maxNesting && len(frontier) > 0; depth++ {
		var next []memberRow
		for _, m := range frontier {
			v := goldap.EscapeFilter(m.DN)
			res, err := s.conn().Search(goldap.NewSearchRequest(searchBase(s, dn), goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
				maxList, 30, false, "(|(member="+v+")(uniqueMember="+v+"))", []string{"cn"}, nil))
			if res == nil || err != nil && !isCode(err, goldap.LDAPResultSizeLimitExceeded) {
				continue
			}
			for _, g := range res.Entries {
				if seen[strings.ToLower(g.DN)] {
					continue
				}
				seen[strings.ToLower(g.DN)] = true
				row := memberRow{DN: g.DN, CN: g.GetAttributeValue("cn"), Group: true, Depth: depth}
				if depth > 0 {
					row.Via = m.CN
				}
				out = append(out, row)
				next = append(next, row)
			}
		}
		frontier = next
	}
	return out
}

// searchBase is where group searches start: the naming context the
// entry is under, as the root DSE names it.
func searchBase(s *session, dn string) string {
	res, err := s.conn().Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{"namingContexts"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return ""
	}
	for _, nc := range res.Entries[0].GetAttributeValues("namingContexts") {
		if strings.HasSuffix(strings.ToLower(dn), strings.ToLower(nc)) {
			return nc
		}
	}
	return res.Entries[0].GetAttributeValue("namingContexts")
}

// maxMembers bounds the members shown of one group.
const maxMembers = 500

// membersOf returns g's members, each nested group's members after it.
func membersOf(s *session, g *goldap.Entry, depth int, seen map[string]bool) []memberRow {
	var out []memberRow
	dns := append(g.GetAttributeValues("member"), g.GetAttributeValues("uniqueMember")...)
	for i, dn := range dns {
		if i >= maxMembers {
			out = append(out, memberRow{DN: fmt.Sprintf("... and %d more", len(dns)-maxMembers), Missing: true, Depth: depth})
			break
		}
		row := memberRow{DN: dn, Depth: depth}
		if depth > 0 {
			row.Via = g.GetAttributeValue("cn")
		}
		e, err := readEntry(s, dn, "cn", "objectClass", "member", "uniqueMember")
		if err != nil {
			row.Missing = true
			out = append(out, row)
			continue
		}
		row.CN = e.GetAttributeValue("cn")
		row.Group = hasClass(e, "groupOfNames", "groupOfUniqueNames")
		out = append(out, row)
		if row.Group && depth+1 < maxNesting && !seen[strings.ToLower(e.DN)] {
			seen[strings.ToLower(e.DN)] = true
			out = append(out, membersOf(s, e, depth+1, seen)...)
		}
	}
	return out
}

type formPage struct {
	Kind    *kind
	DN      string // the entry edited; empty for a new one
	Parent  string // a new entry's parent
	Classes []string
	Fields  []field
	Error   string
}

// kindForm reads the directory's schema and the form fields of kind k's
// object classes; on failure it answers the request and returns false.
func (c *Console) kindForm(w http.ResponseWriter, r *http.Request, s *session, k *kind) (*schemaCache, []field, bool) {
	info, err := c.directoryInfo(s)
	if err != nil {
		c.fail(w, r, s, http.StatusBadGateway, "The directory's schema cannot be read: "+err.Error())
		return nil, nil, false
	}
	fields, err := fieldsFor(info.schema, k.Classes)
	if err != nil {
		c.fail(w, r, s, http.StatusBadGateway, err.Error())
		return nil, nil, false
	}
	return info, fields, true
}

func (c *Console) newForm(w http.ResponseWriter, r *http.Request, s *session) {
	k := kindNamed(r.URL.Query().Get("kind"))
	info, fields, ok := c.kindForm(w, r, s, k)
	if !ok {
		return
	}
	parent := info.suffix
	if _, err := readEntry(s, k.Container+","+info.suffix, "1.1"); err == nil {
		parent = k.Container + "," + info.suffix
	}
	p := formPage{Kind: k, Parent: parent, Classes: k.Classes, Fields: fields}
	c.renderPage(w, r, s, http.StatusOK, "form", &page{Title: "New " + k.Name, Nav: k.Path, Content: p})
}

func (c *Console) create(w http.ResponseWriter, r *http.Request, s *session) {
	k := kindNamed(r.PostFormValue("kind"))
	info, fields, ok := c.kindForm(w, r, s, k)
	if !ok {
		return
	}
	p := formPage{Kind: k, Parent: strings.TrimSpace(r.PostFormValue("parent")), Classes: k.Classes, Fields: fields}
	show := func(status int, msg string) {
		p.Error = msg
		c.renderPage(w, r, s, status, "form", &page{Title: "New " + k.Name, Nav: k.Path, Content: p})
	}
	ok = readFields(info.schema, p.Fields, r.PostForm)
	if _, err := goldap.ParseDN(p.Parent); err != nil || p.Parent == "" {
		show(http.StatusUnprocessableEntity, fmt.Sprintf("The parent %q is not a DN.", p.Parent))
		return
	}
	if !ok {
		show(http.StatusUnprocessableEntity, "Some values are not valid; nothing was written. See the fields marked below.")
		return
	}
	var rdn string
	for _, name := range k.RDN {
		for _, f := range p.Fields {
			if strings.EqualFold(f.Name, name) && len(f.Values) > 0 {
				rdn = f.Name + "=" + goldap.EscapeDN(f.Values[0])
				break
			}
		}
		if rdn != "" {
			break
		}
	}
	if rdn == "" {
		show(http.StatusUnprocessableEntity, "A "+k.Name+" needs a "+strings.Join(k.RDN, " or ")+" to be named by.")
		return
	}
	dn := rdn + "," + p.Parent
	add := goldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", k.Classes)
	for _, f := range p.Fields {
		if len(f.Values) > 0 {
			add.Attribute(f.Name, f.Values)
		}
	}
	if err := s.conn().Add(add); err != nil {
		show(ldapStatus(err), "The directory refused the new entry: "+ldapMessage(err))
		return
	}
	http.Redirect(w, r, "/entry?"+url.Values{"dn": {dn}, "done": {"Created " + dn + "."}}.Encode(), http.StatusSeeOther)
}

// editFields returns the form of entry e: the fields of its object
// classes, with its values.
func (c *Console) editFields(s *session, e *goldap.Entry) (*schemaCache, []field, error) {
	info, err := c.directoryInfo(s)
	if err != nil {
		return nil, nil, err
	}
	fields, err := fieldsFor(info.schema, e.GetAttributeValues("objectClass"))
	if err != nil {
		return nil, nil, err
	}
	for i := range fields {
		for _, a := range e.Attributes {
			if strings.EqualFold(a.Name, fields[i].Name) {
				fields[i].Values = a.Values
			}
		}
	}
	return info, fields, nil
}

func (c *Console) editForm(w http.ResponseWriter, r *http.Request, s *session) {
	e, err := readEntry(s, r.URL.Query().Get("dn"))
	if err != nil {
		c.failLDAP(w, r, s, "Cannot read the entry", err)
		return
	}
	_, fields, err := c.editFields(s, e)
	if err != nil {
		c.fail(w, r, s, http.StatusBadGateway, err.Error())
		return
	}
	k := kindNamed("")
	if hasClass(e, "groupOfNames", "groupOfUniqueNames") {
		k = kindGroup
	}
	p := formPage{Kind: k, DN: e.DN, Classes: e.GetAttributeValues("objectClass"), Fields: fields}
	c.renderPage(w, r, s, http.StatusOK, "form", &page{Title: "Edit " + e.DN, Nav: k.Path, Content: p})
}

func (c *Console) edit(w http.ResponseWriter, r *http.Request, s *session) {
	e, err := readEntry(s, r.PostFormValue("dn"))
	if err != nil {
		c.failLDAP(w, r, s, "Cannot read the entry", err)
		return
	}
	info, fields, err := c.editFields(s, e)
	if err != nil {
		c.fail(w, r, s, http.StatusBadGateway, err.Error())
		return
	}
	old := slices.Clone(fields)
	k := kindPerson
	if hasClass(e, "groupOfNames", "groupOfUniqueNames") {
		k = kindGroup
	}
	p := formPage{Kind: k, DN: e.DN, Classes: e.GetAttributeValues("objectClass"), Fields: fields}
	show := func(status int, msg string) {
		p.Error = msg
		c.renderPage(w, r, s, status, "form", &page{Title: "Edit " + e.DN, Nav: k.Path, Content: p})
	}
	if !readFields(info.schema, p.Fields, r.PostForm) {
		show(http.StatusUnprocessableEntity, "Some values are not valid; nothing was written. See the fields marked below.")
		return
	}
	mod := goldap.NewModifyRequest(e.DN, nil)
	for i, f := range p.Fields {
		if !sameValues(old[i].Values, f.Values) {
			mod.Replace(f.Name, f.Values)
		}
	}
	if len(mod.Changes) == 0 {
		http.Redirect(w, r, "/entry?"+url.Values{"dn": {e.DN}, "done": {"Nothing changed."}}.Encode(), http.StatusSeeOther)
		return
	}
	if err := s.conn().Modify(mod); err != nil {
		show(ldapStatus(err), "The directory refused the change: "+ldapMessage(err))
		return
	}
	http.Redirect(w, r, "/entry?"+url.Values{"dn": {e.DN}, "done": {"Saved."}}.Encode(), http.StatusSeeOther)
}

// sameValues compares two value lists as sets.
func sameValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

type renamePage struct {
	DN, RDN, Parent string
	DeleteOld       bool
	Error           string
}

// splitDN returns a DN's first RDN and its parent, as typed.
func splitDN(dn string) (rdn, parent string) {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 {
		return dn, ""
	}
	first := &goldap.DN{RDNs: d.RDNs[:1]}
	rest := &goldap.DN{RDNs: d.RDNs[1:]}
	return first.String(), rest.String()
}

func (c *Console) renameForm(w http.ResponseWriter, r *http.Request, s *session) {
	e, err := readEntry(s, r.URL.Query().Get("dn"), "1.1")
	if err != nil {
		c.failLDAP(w, r, s, "Cannot read the entry", err)
		return
	}
	rdn, parent := splitDN(e.DN)
	c.render(w, r, s, http.StatusOK, "rename", "Rename or move", renamePage{DN: e.DN, RDN: rdn, Parent: parent, DeleteOld: true})
}

func (c *Console) rename(w http.ResponseWriter, r *http.Request, s *session) {
	p := renamePage{DN: r.PostFormValue("dn"), RDN: strings.TrimSpace(r.PostFormValue("rdn")),
		Parent: strings.TrimSpace(r.PostFormValue("parent")), DeleteOld: r.PostFormValue("deleteold") != ""}
	show := func(status int, msg string) {
		p.Error = msg
		c.render(w, r, s, status, "rename", "Rename or move", p)
	}
	if d, err := goldap.ParseDN(p.RDN); err != nil || len(d.RDNs) != 1 {
		show(http.StatusUnprocessableEntity, fmt.Sprintf("The new name %q is not one RDN (such as uid=jdoe).", p.RDN))
		return
	}
	if _, err := goldap.ParseDN(p.Parent); err != nil {
		show(http.StatusUnprocessableEntity, fmt.Sprintf("The new parent %q is not a DN.", p.Parent))
		return
	}
	_, oldParent := splitDN(p.DN)
	newSup := ""
	if !strings.EqualFold(p.Parent, oldParent) {
		newSup = p.Parent
	}
	if err := s.conn().ModifyDN(goldap.NewModifyDNRequest(p.DN, p.RDN, p.DeleteOld, newSup)); err != nil {
		show(ldapStatus(err), "The directory refused the rename: "+ldapMessage(err))
		return
	}
	dn := p.RDN
	if p.Parent != "" {
		dn += "," + p.Parent
	}
	http.Redirect(w, r, "/entry?"+url.Values{"dn": {dn}, "done": {"Renamed " + p.DN + " to " + dn + "."}}.Encode(), http.StatusSeeOther)
}

type deletePage struct {
	DN, CN string
	Group  bool
	Error  string
}

func (c *Console) deleteForm(w http.ResponseWriter, r *http.Request, s *session) {
	e, err := readEntry(s, r.URL.Query().Get("dn"), "cn", "objectClass")
	if err != nil {
		c.failLDAP(w, r, s, "Cannot read the entry", err)
		return
	}
	c.render(w, r, s, http.StatusOK, "delete", "Delete "+e.DN, deletePage{DN: e.DN, CN: e.GetAttributeValue("cn"),
		Group: hasClass(e, "groupOfNames", "groupOfUniqueNames")})
}

func (c *Console) delete(w http.ResponseWriter, r *http.Request, s *session) {
	dn := r.PostFormValue("dn")
	if r.PostFormValue("confirm") != "yes" {
		c.render(w, r, s, http.StatusUnprocessableEntity, "delete", "Delete "+dn, deletePage{DN: dn, Error: "Tick the box to confirm."})
		return
	}
	if err := s.conn().Del(goldap.NewDelRequest(dn, nil)); err != nil {
		c.render(w, r, s, ldapStatus(err), "delete", "Delete "+dn, deletePage{DN: dn, Error: "The directory refused: " + ldapMessage(err)})
		return
	}
	back := kindPerson.Path
	if r.PostFormValue("group") != "" {
		back = kindGroup.Path
	}
	http.Redirect(w, r, back+"?"+url.Values{"done": {"Deleted " + dn + "."}}.Encode(), http.StatusSeeOther)
}

// members adds a member to a group or removes one: the form names the
// group, the member (a DN, or a uid, mail or cn naming one entry) and
// the action.
func (c *Console) members(w http.ResponseWriter, r *http.Request, s *session) {
	group, member, back := r.PostFormValue("group"), strings.TrimSpace(r.PostFormValue("member")), r.PostFormValue("back")
	if back == "" {
		back = group
	}
	g, err := readEntry(s, group, "objectClass")
	if err != nil {
		c.failLDAP(w, r, s, "Cannot read the group", err)
		return
	}
	attr := "member"
	if !hasClass(g, "groupOfNames") {
		attr = "uniqueMember"
	}
	dn, err := c.resolveMember(s, member)
	if err != nil {
		c.fail(w, r, s, http.StatusUnprocessableEntity, err.Error())
		return
	}
	mod := goldap.NewModifyRequest(g.DN, nil)
	var done string
	switch r.PostFormValue("action") {
	case "add":
		mod.Add(attr, []string{dn})
		done = "Added " + dn + " to " + g.DN + "."
	case "remove":
		mod.Delete(attr, []string{dn})
		done = "Removed " + dn + " from " + g.DN + "."
	default:
		c.fail(w, r, s, http.StatusBadRequest, "Unknown action.")
		return
	}
	if err := s.conn().Modify(mod); err != nil {
		c.failLDAP(w, r, s, "The directory refused the membership change", err)
		return
	}
	http.Redirect(w, r, "/entry?"+url.Values{"dn": {back}, "done": {done}}.Encode(), http.StatusSeeOther)
}

// resolveMember maps what was typed in a membership form to a DN: a DN
// of a visible entry as it is, else the one entry whose uid, mail or cn
// it is.
func (c *Console) resolveMember(s *session, typed string) (string, error) {
	if typed == "" {
		return "", fmt.Errorf("name a member: a uid, mail address, cn or DN")
	}
	if strings.Contains(typed, "=") {
		if _, err := goldap.ParseDN(typed); err == nil {
			e, err := readEntry(s, typed, "1.1")
			if err != nil {
				return typed, nil // removing a member whose entry is gone
			}
			return e.DN, nil
		}
	}
	info, err := c.directoryInfo(s)
	if err != nil {
		return "", err
	}
	v := goldap.EscapeFilter(typed)
	res, err := s.conn().Search(goldap.NewSearchRequest(info.suffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 2, 30, false,
		"(|(uid="+v+")(mail="+v+")(cn="+v+"))", []string{"1.1"}, nil))
	if res == nil || err != nil && !isCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return "", fmt.Errorf("cannot look %q up: %s", typed, ldapMessage(err))
	}
	switch len(res.Entries) {
	case 0:
		return "", fmt.Errorf("no entry has the uid, mail or cn %q", typed)
	case 1:
		return res.Entries[0].DN, nil
	}
	return "", fmt.Errorf("more than one entry has the uid, mail or cn %q: give its DN", typed)
}
