// Package directory is Switchboard's directory engine: entries, their
// indexes and every write, kept in one Badger v4 store.
//
// # Model
//
// An Engine holds one naming context (the suffix, e.g. dc=example,dc=com).
// Each entry has an ID, allocated from a Badger sequence and never reused,
// a parent ID (0 for the suffix entry), the DN as the client wrote it, its
// normalised DN (schema.NormalizeDN: attribute types by primary name,
// values by their equality rule) and its attributes in canonical names.
// Every LDAP write is one Badger transaction holding the entry, all its
// index keys, its operational attributes and whatever the write hooks
// (overlays such as memberof) change; it commits with fsync before the
// client is told, so an acknowledged write survives kill -9. Badger's
// optimistic transactions detect concurrent writes to the same keys; the
// engine retries them.
//
// # On-disk key layout (format version 1)
//
// All integers are big-endian; IDs are 8 bytes so that keys sort by ID.
//
//	0x00 "format"                        -> uint32 format version (1), of the whole store
//	0x00 "upgrade"                       -> an upgrade under way: from version (4) | migration (2) | cursor
//	0x00 "suffix"                        -> normalised suffix the store holds
//	0x00 "indexes"                       -> the complete indexes, "attr kinds" lines
//	0x00 "seq/id"                        -> Badger sequence lease for IDs
//	0x00 "displaced" | uvarint n | NDN (n) | ID -> empty        (an entry at NDN whose DN key another took)
//	'e' | ID                             -> entry record (see below)
//	'd' | NDN                            -> ID                 (DN index)
//	'c' | parentID | childID             -> empty              (children)
//	'p' 'i' 's' 'o' 'a' | ... | ID       -> empty              (attribute indexes)
//	'r' | ...                            -> side records       (replication: change log, floors, consumers; see package replication)
//
// The attribute index keys (presence, equality, substring grams, ordering,
// approximate) are laid out in package index. Each ends with the entry ID,
// so one (attribute, value) posting list is one prefix scan in ID order.
//
// Example: uid=jdoe with ID 7 under ou=people (ID 3) gives
//
//	65 00 00 00 00 00 00 00 07              'e' 7 -> record
//	64 "uid=jdoe,ou=people,dc=example,dc=com" -> 00..07
//	63 00..03 00..07                        'c' 3 7
//	69 03 "uid" 04 "jdoe" 00..07            'i' uid=jdoe 7
//	73 03 "uid" 03 01 "jd" 00..07           's' uid gram "\x01jd" 7 (and more grams)
//
// The entry record is
//
//	version (1B = 1) | parentID (uvarint) | len DN | DN | len NDN | NDN |
//	nattrs (uvarint) | { len name | name | nvalues | { len v | v }... }...
//
// with every length a uvarint. Open refuses a store for another suffix.
//
// # Format versions
//
// The format version covers the whole store, the side records included
// (their layout is package replication's, but not their version: a change
// to them is a new store format too). Open upgrades a store of an earlier
// version in place, version by version, through the ordered registry of
// Migrations (Options.Migrations, Migrations() by default; a package
// with side records adds its own); each step commits in its own
// transaction with the 0x00 "upgrade" record, so an upgrade cut off
// resumes where it stopped, and the version is raised with the last step.
// Open refuses a store of a later version, and one whose upgrade to a
// later version was cut off. Format 1 is the first versioned format;
// testdata/stores holds stores written by its binary, which the tests
// open. Format 2 changed only side records (package replication's two
// change logs became one): the engine's own migration from 1 is empty,
// and package replication's (replication.Migrations) does the work.
//
// # Reads
//
// Search resolves the base DN, plans the compiled filter against the
// indexes (plan.go) or walks the scope, then loads each candidate in
// ascending ID order, checks scope and the filter (three-valued, RFC 4511
// 4.5.1.7), and streams matches to the caller. Ascending ID order is what
// makes the stateless paged-results cookie of the frontend possible.
package directory
