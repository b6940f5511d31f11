// Package ldif reads and writes the LDAP Data Interchange Format, LDIF
// version 1, as specified by RFC 2849.
//
// A Reader streams records (content records and change records) from an
// io.Reader; memory use is bounded by the largest record, not by the size of
// the input. A Writer produces canonical LDIF: a leading "version: 1" line,
// lines folded at 76 columns, and base64 ("::") for every value that is not
// an RFC 2849 SAFE-STRING.
//
// # Supported grammar
//
// The reader accepts the following subset of RFC 2849 section 3 (ABNF;
// keywords are case-insensitive):
//
//	ldif-file        = [BOM] [version-spec 1*SEP] *(*SEP record) *SEP
//	version-spec     = "version:" FILL "1"
//	record           = dn-spec SEP (attrval-records / change-record)
//	dn-spec          = "dn:" (FILL distinguishedName / ":" FILL base64-UTF8)
//	attrval-records  = 1*(attrval-spec)                ; content record
//	change-record    = *control changetype body
//	control          = "control:" FILL ldap-oid [1*SPACE ("true"/"false")]
//	                   [value-spec] SEP
//	changetype       = "changetype:" FILL
//	                   ("add" / "delete" / "modify" / "modrdn" / "moddn") SEP
//	add body         = 1*attrval-spec
//	delete body      = (nothing)
//	modify body      = *(("add:"/"delete:"/"replace:"/"increment:") FILL
//	                   AttributeDescription SEP *attrval-spec ["-" SEP])
//	modrdn body      = ("newrdn:" (FILL rdn / ":" FILL base64-rdn)) SEP
//	                   "deleteoldrdn:" FILL ("0" / "1") SEP
//	                   [("newsuperior:" (FILL dn / ":" FILL base64-dn)) SEP]
//	attrval-spec     = AttributeDescription value-spec SEP
//	value-spec       = ":" (FILL [SAFE-STRING] / ":" FILL BASE64-STRING /
//	                   "<" FILL url)
//	AttributeDescription = (ldap-oid / ALPHA *(ALPHA/DIGIT/"-"))
//	                   *(";" 1*(ALPHA/DIGIT/"-"))
//	SEP              = CR LF / LF
//
// Lines beginning with "#" are comments, including their folded
// continuation lines. A line beginning with a single space continues the
// previous line (RFC 2849 note 2); a continuation line at the start of a
// record is an error. Blank lines separate records. A UTF-8 byte order mark
// at the very start of the input is skipped.
//
// Deviations and choices:
//
//   - Plain (non-base64) values may contain non-ASCII bytes if they are
//     valid UTF-8 (common in hand-written files); NUL and CR are rejected.
//     The Writer never produces such values: it base64-encodes them.
//   - Values of the same attribute description (compared case-insensitively,
//     options included) are merged into one Attr in order of appearance.
//   - "moddn" is normalised to "modrdn". The last modify block may omit its
//     trailing "-". "delete: attr" without values deletes the attribute;
//     "add:" needs at least one value and "increment:" exactly one
//     (RFC 4525).
//   - The attribute descriptions "dn", "changetype" and "control" are
//     reserved and rejected in record bodies.
//   - URL values (":<") are refused unless ReaderOptions.AllowURLs is set,
//     and then only file:// URLs naming a local file are read.
//   - A file may mix content and change records; callers that need one kind
//     check Record.ChangeType.
//
// Syntax errors are reported as *ParseError carrying the line number. After a
// syntax error inside a record, the next call to Reader.Next continues with
// the following record; I/O errors and size-limit errors are permanent.
package ldif
