// Command gen writes the deterministic Switchboard demo directory as LDIF.
//
//	go run ./testdata/gen -n 300 -suffix dc=example,dc=com > testdata/demo.ldif
//
// The output contains the suffix entry, ou=people and ou=groups, n people
// (inetOrgPerson + posixAccount + shadowAccount, some with the Mozilla
// address-book auxiliary class) with international names, a management tree
// rooted at a CEO, and groups: one groupOfNames per department, "leadership",
// "admins", a few groupOfNames+posixGroup (rfc2307bis) groups and one
// groupOfUniqueNames. The same seed and flags always produce the same bytes;
// -n 100000 produces a large data set of the same shape for benchmarks.
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory/ldif"
)

func main() {
	n := flag.Int("n", 300, "number of people")
	suffix := flag.String("suffix", "dc=example,dc=com", "directory suffix (first RDN must be dc=...)")
	seed := flag.Uint64("seed", 1, "random seed")
	deep := flag.Int("deep", 0, "percent of the people to put in a deep OU, ou=berlin,ou=engineering,ou=people (0-100)")
	flag.Parse()
	if *deep < 0 || *deep > 100 {
		fmt.Fprintln(os.Stderr, "gen: -deep takes a percentage from 0 to 100")
		os.Exit(2)
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	if err := generate(out, *n, *suffix, *seed, *deep); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// name is one name part: native script, romanisation (may carry
// diacritics) and plain ASCII.
type name struct{ native, roman, ascii string }

// parseNames parses "native", "native|roman" or "native|roman|ascii".
func parseNames(list string) []name {
	var out []name
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		p := strings.Split(f, "|")
		nm := name{native: p[0], roman: p[0]}
		if len(p) > 1 {
			nm.roman = p[1]
		}
		nm.ascii = fold(nm.roman)
		if len(p) > 2 {
			nm.ascii = p[2]
		}
		out = append(out, nm)
	}
	return out
}

type locale struct {
	lang        string // preferredLanguage
	weight      int
	familyFirst bool // native order is "family given"
	office      int  // preferred office index, -1 for any
	given, sn   []name
}

var locales = []*locale{
	{lang: "en-US", weight: 34, office: -1,
		given: parseNames("James, Mary, John, Patricia, Robert, Jennifer, Michael, Linda, William, Elizabeth, David, Barbara, Richard, Susan, Joseph, Jessica, Thomas, Sarah, Charles, Karen, Daniel, Nancy, Matthew, Lisa, Anthony, Betty, Mark, Sandra, Emily, Olivia, Ethan, Madison, Tyler, Brianna, Kevin, Ashley"),
		sn:    parseNames("Johnson, Williams, Brown, Jones, Garcia, Miller, Davis, Rodriguez, Martinez, Hernandez, Lopez, Wilson, Anderson, Taylor, Thomas, Moore, Jackson, Martin, Lee, Thompson, White, Harris, Clark, Lewis, Robinson, Walker, Young, Allen, King, Wright, Scott, Green, Baker, Adams, Nelson, Hill, Campbell, Mitchell, Roberts, Carter, O'Brien, McAllister")},
	{lang: "en-GB", weight: 8, office: 3,
		given: parseNames("Oliver, Amelia, George, Isla, Harry, Ava, Jack, Sophie, Charlie, Grace, Siobhán, Niamh, Rhys, Eilidh"),
		sn:    parseNames("Evans, Hughes, Edwards, Wood, Turner, Collins, Cooper, Hall, Ward, Bennett, Ó Briain, MacLeod, Llewellyn, Fitzgerald")},
	{lang: "de", weight: 7, office: 4,
		given: parseNames("Lukas, Anna, Jürgen, Jörg, Katharina, Günther, Lena, Felix, Jonas, Mia, Björn, Käthe"),
		sn:    parseNames("Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schäfer, Köhler, Groß, Hoffmann, Weiß, Krüger")},
	{lang: "fr", weight: 6, office: -1,
		given: parseNames("Chloé, Étienne, Léa, Jérôme, Hélène, François, Amélie, Benoît, Inès, Raphaël, Zoë, Noël"),
		sn:    parseNames("Dubois, Lefèvre, Moreau, Laurent, Girard, Bonnet, Mercier, Faure, Rousseau, Fontaine, Lemaître, Béranger")},
	{lang: "es", weight: 6, office: -1,
		given: parseNames("José, María, Sofía, Álvaro, Lucía, Jesús, Inés, Martín, Begoña, Ramón, Ángel, Núria"),
		sn:    parseNames("García, Fernández, González, Rodríguez, López, Martínez, Sánchez, Pérez, Gómez, Muñoz, Ibáñez, Peña, Castaño, Ortíz")},
	{lang: "da", weight: 4, office: -1,
		given: parseNames("Søren, Mette, Bjørn, Åsa, Lars, Ingrid, Sigrid, Mikkel, Kjersti, Frøya, Ærling|Ærling|Aerling"),
		sn:    parseNames("Jensen, Nielsen, Hansen, Pedersen, Sørensen, Andersen, Lindqvist, Ångström, Bergström, Håkansson, Løvås, Ærø|Ærø|Aeroe")},
	{lang: "pl", weight: 4, office: -1,
		given: parseNames("Łukasz, Małgorzata, Paweł, Agnieszka, Wojciech, Katarzyna, Jiří, Tomáš, Zdeněk, Zoë"),
		sn:    parseNames("Nowak, Wiśniewski, Wójcik, Kamiński, Lewandowski, Zieliński, Dvořák, Novák, Černý, Łukasiewicz, Szymańczyk")},
	{lang: "tr", weight: 3, office: -1,
		given: parseNames("Şebnem, Emre, Çağla, Oğuz, Ayşe, Mehmet, Gülşen, İlker"),
		sn:    parseNames("Yılmaz, Kaya, Demir, Çelik, Şahin, Öztürk, Aydın, Doğan")},
	{lang: "vi", weight: 3, office: -1, familyFirst: true,
		given: parseNames("Ngọc Ánh|Ngọc Ánh|Ngoc Anh, Minh|Minh, Thảo|Thảo|Thao, Đức|Đức|Duc, Hương|Hương|Huong, Quang|Quang"),
		sn:    parseNames("Trần|Trần|Tran, Nguyễn|Nguyễn|Nguyen, Lê|Lê|Le, Phạm|Phạm|Pham, Hoàng|Hoàng|Hoang, Đặng|Đặng|Dang")},
	{lang: "ja", weight: 4, office: 5, familyFirst: true,
		given: parseNames("太郎|Tarō, 花子|Hanako, 健|Ken, 陽菜|Hina, 翔太|Shōta, 美咲|Misaki, 大輔|Daisuke, 結衣|Yui"),
		sn:    parseNames("山田|Yamada, 佐藤|Satō, 鈴木|Suzuki, 高橋|Takahashi, 田中|Tanaka, 渡辺|Watanabe, 伊藤|Itō, 中村|Nakamura")},
	{lang: "zh", weight: 5, office: -1, familyFirst: true,
		given: parseNames("芳|Fāng, 伟|Wěi, 娜|Nà, 磊|Lěi, 静|Jìng, 强|Qiáng, 敏|Mǐn, 杰|Jié"),
		sn:    parseNames("王|Wáng, 李|Lǐ, 张|Zhāng, 刘|Liú, 陈|Chén, 杨|Yáng, 黄|Huáng, 赵|Zhào")},
	{lang: "ko", weight: 3, office: -1, familyFirst: true,
		given: parseNames("민준|Min-jun, 서연|Seo-yeon, 지훈|Ji-hoon, 하은|Ha-eun, 도윤|Do-yun, 수아|Su-a"),
		sn:    parseNames("김|Kim, 이|Lee, 박|Park, 최|Choi, 정|Jung, 강|Kang")},
	{lang: "ru", weight: 4, office: -1,
		given: parseNames("Иван|Ivan, Ольга|Olga, Дмитрий|Dmitry, Наталья|Natalya, Сергей|Sergey, Анна|Anna, Алексей|Alexey, Юлия|Yulia"),
		sn:    parseNames("Петров|Petrov, Смирнов|Smirnov, Иванов|Ivanov, Кузнецов|Kuznetsov, Соколов|Sokolov, Попов|Popov, Лебедев|Lebedev, Козлов|Kozlov")},
	{lang: "el", weight: 2, office: -1,
		given: parseNames("Νίκος|Nikos, Μαρία|Maria, Γιώργος|Giorgos, Ελένη|Eleni, Δημήτρης|Dimitris, Κατερίνα|Katerina"),
		sn:    parseNames("Παπαδόπουλος|Papadopoulos, Παπαδάκης|Papadakis, Οικονόμου|Oikonomou, Γεωργίου|Georgiou, Νικολάου|Nikolaou")},
	{lang: "ar", weight: 3, office: -1,
		given: parseNames("محمد|Mohammed, فاطمة|Fatima, أحمد|Ahmed, ليلى|Layla, عمر|Omar, نور|Nour"),
		sn:    parseNames("علي|Ali, حسن|Hassan, خليل|Khalil, منصور|Mansour, سعيد|Saeed, حداد|Haddad")},
	{lang: "hi", weight: 4, office: -1,
		given: parseNames("राहुल|Rahul, प्रिया|Priya, अमित|Amit, अनीता|Anita, विकास|Vikas, दीपिका|Deepika"),
		sn:    parseNames("शर्मा|Sharma, वर्मा|Verma, गुप्ता|Gupta, सिंह|Singh, पटेल|Patel, अय्यर|Iyer")},
	{lang: "he", weight: 2, office: -1,
		given: parseNames("יעל|Yael, דוד|David, נועה|Noa, איתן|Eitan"),
		sn:    parseNames("כהן|Cohen, לוי|Levi, מזרחי|Mizrahi, פרץ|Peretz")},
}

func localeByLang(lang string) *locale {
	for _, l := range locales {
		if l.lang == lang {
			return l
		}
	}
	panic("unknown locale " + lang)
}

// featured people appear first (after the CEO and department heads), so
// that even a small directory shows every script.
var featured = []struct{ lang, given, sn string }{
	{"es", "José", "Müller"},
	{"pl", "Zoë", "Łukasiewicz"},
	{"vi", "Ngọc Ánh|Ngọc Ánh|Ngoc Anh", "Trần|Trần|Tran"},
	{"da", "Søren", "Ærø|Ærø|Aeroe"},
	{"ja", "太郎|Tarō", "山田|Yamada"},
	{"ru", "Иван|Ivan", "Петров|Petrov"},
	{"el", "Νίκος|Nikos", "Παπαδόπουλος|Papadopoulos"},
	{"ar", "محمد|Mohammed", "علي|Ali"},
	{"hi", "राहुल|Rahul", "शर्मा|Sharma"},
	{"zh", "芳|Fāng", "王|Wáng"},
	{"ko", "민준|Min-jun", "김|Kim"},
	{"he", "יעל|Yael", "כהן|Cohen"},
	{"tr", "Şebnem", "Yılmaz"},
	{"fr", "François", "Lefèvre"},
	{"en-GB", "Siobhán", "Ó Briain"},
}

type office struct {
	street, l, st, postalCode, country string
	phone                              func(r *rand.Rand) string
}

func usPhone(r *rand.Rand) string { return fmt.Sprintf("+1 555 01%02d", r.IntN(100)) }

var offices = []office{
	{"100 Example Plaza", "Springfield", "IL", "62701", "USA", usPhone},
	{"1 Market Street, Suite 300", "San Francisco", "CA", "94105", "USA", usPhone},
	{"350 Fifth Avenue", "New York", "NY", "10118", "USA", usPhone},
	{"30 Example Lane", "London", "Greater London", "EC1A 1BB", "United Kingdom",
		func(r *rand.Rand) string { return fmt.Sprintf("+44 20 7946 0%03d", r.IntN(1000)) }},
	{"Beispielstraße 12", "München", "Bayern", "80331", "Germany",
		func(r *rand.Rand) string { return fmt.Sprintf("+49 89 1234 5%03d", r.IntN(1000)) }},
	{"1-2-3 Marunouchi, Chiyoda-ku", "Tokyo", "Tokyo", "100-0005", "Japan",
		func(r *rand.Rand) string { return fmt.Sprintf("+81 3 5550 %04d", r.IntN(10000)) }},
}

type department struct {
	name, number string
	weight       int
	titles       []string
	dn           string // group DN
	head         *person
	leads        []*person
	members      []*person
}

// newDepartments returns fresh department records (they are filled in
// during generation, so they are not package state).
func newDepartments() []*department {
	return []*department{
		{name: "Engineering", number: "D100", weight: 30, titles: []string{"Software Engineer", "Senior Software Engineer", "Staff Engineer", "QA Engineer", "Site Reliability Engineer"}},
		{name: "Sales", number: "D200", weight: 14, titles: []string{"Account Executive", "Sales Development Representative", "Sales Engineer"}},
		{name: "Marketing", number: "D300", weight: 8, titles: []string{"Marketing Specialist", "Content Strategist", "Brand Designer"}},
		{name: "Finance", number: "D400", weight: 6, titles: []string{"Financial Analyst", "Accountant", "Controller"}},
		{name: "Human Resources", number: "D500", weight: 5, titles: []string{"HR Generalist", "Recruiter", "People Partner"}},
		{name: "Legal", number: "D600", weight: 3, titles: []string{"Counsel", "Paralegal", "Contracts Specialist"}},
		{name: "Operations", number: "D700", weight: 8, titles: []string{"Operations Analyst", "Facilities Coordinator", "Logistics Specialist"}},
		{name: "Customer Support", number: "D800", weight: 12, titles: []string{"Support Engineer", "Support Specialist", "Customer Success Specialist"}},
		{name: "Research", number: "D900", weight: 5, titles: []string{"Research Scientist", "Data Scientist", "Research Engineer"}},
		{name: "IT", number: "D950", weight: 6, titles: []string{"Systems Administrator", "Network Engineer", "Help Desk Technician", "Security Engineer"}},
	}
}

type person struct {
	idx       int
	uid, dn   string
	loc       *locale
	given, sn name
	dept      *department // nil for the CEO
	title     string
	manager   *person
}

// fullName renders given and family name in native or romanised form.
func (p *person) fullName(native bool) string {
	g, s := p.given.roman, p.sn.roman
	if native {
		g, s = p.given.native, p.sn.native
	}
	if p.loc.familyFirst && native {
		return s + " " + g
	}
	if p.loc.familyFirst && p.loc.lang != "vi" {
		return s + " " + g // "Yamada Tarō"
	}
	return g + " " + s
}

func (p *person) asciiName() string {
	if p.loc.familyFirst && p.loc.lang != "vi" {
		return p.sn.ascii + " " + p.given.ascii
	}
	return p.given.ascii + " " + p.sn.ascii
}

func generate(w *bufio.Writer, n int, suffix string, seed uint64, deep int) error {
	if n < 1 {
		return errors.New("-n must be at least 1")
	}
	dc, ok := strings.CutPrefix(suffix, "dc=")
	if !ok {
		return errors.New("-suffix must start with dc=")
	}
	dc, _, _ = strings.Cut(dc, ",")
	rng := rand.New(rand.NewPCG(seed, 0x5717c4b0a4d))
	peopleDN := "ou=people," + suffix
	groupsDN := "ou=groups," + suffix

	lw := ldif.NewWriter(w)
	entry := func(dn string, attrs ...ldif.Attr) error { return lw.WriteEntry(dn, attrs) }
	if err := entry(suffix,
		a("objectClass", "top", "dcObject", "organization"), a("dc", dc), a("o", "Example Corp"),
		a("description", "Switchboard demo directory (generated by testdata/gen)")); err != nil {
		return err
	}
	if err := entry(peopleDN, a("objectClass", "top", "organizationalUnit"), a("ou", "people"),
		a("description", "All staff")); err != nil {
		return err
	}
	if err := entry(groupsDN, a("objectClass", "top", "organizationalUnit"), a("ou", "groups"),
		a("description", "Department, role and POSIX groups")); err != nil {
		return err
	}
	// With deep > 0, that percent of the people live two levels further
	// down, as a benchmark's "deep OU holding a small share".
	deepDN := "ou=berlin,ou=engineering," + peopleDN
	if deep > 0 {
		if err := entry("ou=engineering,"+peopleDN, a("objectClass", "top", "organizationalUnit"), a("ou", "engineering")); err != nil {
			return err
		}
		if err := entry(deepDN, a("objectClass", "top", "organizationalUnit"), a("ou", "berlin")); err != nil {
			return err
		}
	}

	// Build people: CEO, department heads, featured names, then the rest.
	logins := map[string]int{}
	mails := map[string]bool{}
	var people []*person
	departments := newDepartments()
	depts := departments[:min(len(departments), n-1)]
	totalWeight := 0
	for _, d := range depts {
		totalWeight += d.weight
		d.dn = "cn=" + d.name + "," + groupsDN
	}
	locWeight := 0
	for _, l := range locales {
		locWeight += l.weight
	}
	pickLocale := func() *locale {
		x := rng.IntN(locWeight)
		for _, l := range locales {
			if x < l.weight {
				return l
			}
			x -= l.weight
		}
		return locales[0]
	}
	pickDept := func() *department {
		x := rng.IntN(totalWeight)
		for _, d := range depts {
			if x < d.weight {
				return d
			}
			x -= d.weight
		}
		return depts[0]
	}
	newPerson := func(loc *locale, given, sn name) *person {
		p := &person{idx: len(people), loc: loc, given: given, sn: sn}
		if p.idx%100 == 50 {
			p.sn = name{"Smith", "Smith", "Smith"}
			p.loc = localeByLang("en-US")
		}
		base := loginBase(p.given.ascii, p.sn.ascii)
		logins[base]++
		p.uid = base
		if k := logins[base]; k > 1 {
			p.uid = fmt.Sprintf("%s%d", base, k)
			for logins[p.uid] > 0 { // e.g. "jsmith2" as a base login
				logins[base]++
				p.uid = fmt.Sprintf("%s%d", base, logins[base])
			}
			logins[p.uid]++
		}
		p.dn = "uid=" + p.uid + "," + peopleDN
		if p.idx%100 < deep {
			p.dn = "uid=" + p.uid + "," + deepDN
		}
		people = append(people, p)
		return p
	}
	randomName := func() (*locale, name, name) {
		l := pickLocale()
		return l, l.given[rng.IntN(len(l.given))], l.sn[rng.IntN(len(l.sn))]
	}

	ceo := newPerson(randomName())
	ceo.title = "Chief Executive Officer"
	for _, d := range depts {
		h := newPerson(randomName())
		h.dept, h.manager, h.title = d, ceo, "Head of "+d.name
		d.head = h
		d.members = append(d.members, h)
	}
	for i := 0; len(people) < n; i++ {
		var p *person
		if i < len(featured) {
			f := featured[i]
			l := localeByLang(f.lang)
			p = newPerson(l, parseNames(f.given)[0], parseNames(f.sn)[0])
		} else {
			p = newPerson(randomName())
		}
		d := pickDept()
		p.dept = d
		p.title = d.titles[rng.IntN(len(d.titles))]
		if rng.IntN(100) < 8 {
			p.title = "Team Lead, " + d.name
			p.manager = d.head
			d.leads = append(d.leads, p)
		} else if len(d.leads) > 0 && rng.IntN(4) > 0 {
			p.manager = d.leads[rng.IntN(len(d.leads))]
		} else {
			p.manager = d.head
		}
		d.members = append(d.members, p)
	}

	for _, p := range people {
		if err := entry(p.dn, personAttrs(rng, p, mails)...); err != nil {
			return err
		}
	}

	// Groups.
	dnsOf := func(ps []*person) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.dn
		}
		return out
	}
	for _, d := range depts {
		if err := entry(d.dn, a("objectClass", "top", "groupOfNames"), a("cn", d.name),
			a("ou", d.name), a("businessCategory", d.number), a("owner", d.head.dn),
			a("description", "All members of the "+d.name+" department"),
			a("member", dnsOf(d.members)...)); err != nil {
			return err
		}
	}
	leadership := []*person{ceo}
	for _, d := range depts {
		leadership = append(leadership, d.head)
	}
	if err := entry("cn=leadership,"+groupsDN, a("objectClass", "top", "groupOfNames"), a("cn", "leadership"),
		a("owner", ceo.dn), a("description", "CEO and department heads"), a("member", dnsOf(leadership)...)); err != nil {
		return err
	}
	admins := []*person{ceo}
	var it, eng *department
	for _, d := range depts {
		switch d.name {
		case "IT":
			it = d
		case "Engineering":
			eng = d
		}
	}
	if it != nil {
		admins = append(admins, it.members[:min(len(it.members), 4)]...)
	}
	if err := entry("cn=admins,"+groupsDN, a("objectClass", "top", "groupOfNames"), a("cn", "admins"),
		a("owner", ceo.dn), a("description", "Directory administrators"), a("member", dnsOf(admins)...)); err != nil {
		return err
	}
	// rfc2307bis: posixGroup is AUXILIARY, combined with groupOfNames.
	posix := []struct {
		cn, gid, desc string
		members       []*person
	}{
		{"staff", "5000", "Primary POSIX group of all staff", people},
		{"developers", "5001", "POSIX group for source repositories", membersOr(eng, ceo)},
		{"sysadmins", "5002", "POSIX group with sudo rights", membersOr(it, ceo)},
	}
	for _, g := range posix {
		if err := entry("cn="+g.cn+","+groupsDN, a("objectClass", "top", "groupOfNames", "posixGroup"),
			a("cn", g.cn), a("gidNumber", g.gid), a("description", g.desc),
			a("member", dnsOf(g.members)...)); err != nil {
			return err
		}
	}
	var vpn []*person
	for _, p := range people {
		if p.idx%3 == 0 {
			vpn = append(vpn, p)
		}
	}
	if err := entry("cn=vpn-users,"+groupsDN, a("objectClass", "top", "groupOfUniqueNames"), a("cn", "vpn-users"),
		a("description", "People allowed to use the VPN"), a("uniqueMember", dnsOf(vpn)...)); err != nil {
		return err
	}
	return lw.Flush()
}

func membersOr(d *department, fallback *person) []*person {
	if d == nil {
		return []*person{fallback}
	}
	return d.members
}

func a(typ string, values ...string) ldif.Attr {
	vs := make([][]byte, len(values))
	for i, v := range values {
		vs[i] = []byte(v)
	}
	return ldif.Attr{Name: typ, Values: vs}
}

func personAttrs(rng *rand.Rand, p *person, mails map[string]bool) []ldif.Attr {
	oc := []string{"top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount", "shadowAccount"}
	mozilla := rng.IntN(10) == 0
	if mozilla {
		oc = append(oc, "mozillaAbPersonAlpha")
	}
	cn := []string{p.fullName(true)}
	sn := []string{p.sn.native}
	given := []string{p.given.native}
	if p.sn.native != p.sn.roman || p.given.native != p.given.roman {
		cn = append(cn, p.fullName(false))
		if p.sn.native != p.sn.roman {
			sn = append(sn, p.sn.roman)
		}
		if p.given.native != p.given.roman {
			given = append(given, p.given.roman)
		}
	}
	if p.loc.lang == "vi" {
		cn = append(cn, p.given.native+" "+p.sn.native) // Western order, as often written abroad
	}
	mail := mailLocal(p.given.ascii) + "." + mailLocal(p.sn.ascii) + "@example.com"
	if mails[mail] {
		mail = p.uid + "@example.com" // logins have no dots, so this is unique
	}
	mails[mail] = true

	off := offices[rng.IntN(3)]
	if p.loc.office >= 0 && rng.IntN(4) > 0 {
		off = offices[p.loc.office]
	} else if rng.IntN(5) == 0 {
		off = offices[rng.IntN(len(offices))]
	}
	ou, deptNo := "Executive Office", "D000"
	if p.dept != nil {
		ou, deptNo = p.dept.name, p.dept.number
	}
	empType := "Employee"
	switch x := rng.IntN(100); {
	case x < 10:
		empType = "Contractor"
	case x < 13:
		empType = "Intern"
	}
	attrs := []ldif.Attr{
		a("objectClass", oc...),
		a("uid", p.uid),
		a("cn", cn...),
		a("sn", sn...),
		a("givenName", given...),
		a("displayName", p.fullName(true)),
		a("mail", mail),
		a("telephoneNumber", off.phone(rng)),
	}
	if rng.IntN(10) < 4 {
		mobile := fmt.Sprintf("+1 555 01%02d", rng.IntN(100))
		if off.country == "United Kingdom" {
			mobile = fmt.Sprintf("+44 7700 900%03d", rng.IntN(1000))
		}
		attrs = append(attrs, a("mobile", mobile))
	}
	attrs = append(attrs,
		a("title", p.title),
		a("ou", ou),
		a("departmentNumber", deptNo),
		a("employeeNumber", fmt.Sprintf("%06d", 100001+p.idx)),
		a("employeeType", empType),
	)
	if p.manager != nil {
		attrs = append(attrs, a("manager", p.manager.dn))
	}
	attrs = append(attrs,
		a("postalAddress", strings.Join([]string{"Example Corp", off.street, off.l + ", " + off.st + " " + off.postalCode, off.country}, "$")),
		a("street", off.street),
		a("l", off.l),
		a("st", off.st),
		a("postalCode", off.postalCode),
		a("preferredLanguage", p.loc.lang),
		a("uidNumber", fmt.Sprint(10000+p.idx)),
		a("gidNumber", "5000"),
		a("homeDirectory", "/home/"+p.uid),
		a("loginShell", "/bin/bash"),
		a("gecos", p.asciiName()),
		a("shadowLastChange", fmt.Sprint(19000+rng.IntN(1500))),
		a("userPassword", ssha("password", rng)),
	)
	if mozilla {
		attrs = append(attrs,
			a("mozillaNickname", strings.ToLower(strings.Fields(p.given.ascii)[0])),
			a("mozillaSecondEmail", p.uid+"@mail.example.net"))
	}
	return attrs
}

// ssha returns an RFC 2307-style {SSHA} hash: base64(sha1(pw+salt)+salt)
// with a deterministic 8-byte salt.
func ssha(pw string, rng *rand.Rand) string {
	salt := make([]byte, 8)
	for i := range salt {
		salt[i] = byte(rng.UintN(256))
	}
	h := sha1.New()
	h.Write([]byte(pw))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}

func letters(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// loginBase is the first initial plus the family name, lower-case ASCII
// letters only, at most 12 characters.
func loginBase(given, sn string) string {
	g, s := letters(given), letters(sn)
	base := s
	if g != "" {
		base = g[:1] + s
	}
	if len(base) > 12 {
		base = base[:12]
	}
	if base == "" {
		base = "user"
	}
	return base
}

func mailLocal(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		case c == ' ':
			b.WriteByte('.')
		}
	}
	return b.String()
}

// fold transliterates Latin letters with diacritics to ASCII.
func fold(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c < 0x80 {
			b.WriteRune(c)
			continue
		}
		if r, ok := foldMap[c]; ok {
			b.WriteString(r)
		}
	}
	return b.String()
}

var foldMap = func() map[rune]string {
	pairs := []string{
		"ÀÁÂÃÄĀĂĄ", "A", "àáâãäāăąǎ", "a", "Å", "A", "å", "a", "Æ", "Ae", "æ", "ae",
		"ÇĆČ", "C", "çćč", "c", "ĎĐ", "D", "ďđ", "d", "ÈÉÊËĒĘĚ", "E", "èéêëēęě", "e",
		"Ğ", "G", "ğ", "g", "ÌÍÎÏİ", "I", "ìíîïıǐ", "i", "Ł", "L", "ł", "l",
		"ÑŃŇ", "N", "ñńň", "n", "ÒÓÔÕÖŌŐ", "O", "òóôõöōőǒ", "o", "Ø", "O", "ø", "o", "Œ", "Oe", "œ", "oe",
		"Ř", "R", "ř", "r", "ŚŠŞ", "S", "śšş", "s", "ß", "ss", "ŤŢ", "T", "ťţ", "t",
		"ÙÚÛÜŪŮŰ", "U", "ùúûüūůűǔ", "u", "Ý", "Y", "ýÿ", "y", "ŹŻŽ", "Z", "źżž", "z",
	}
	m := map[rune]string{}
	for i := 0; i < len(pairs); i += 2 {
		for _, c := range pairs[i] {
			m[c] = pairs[i+1]
		}
	}
	return m
}()
