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
//	0x00 "format"                        -> uint32 format version (1)
//	0x00 "suffix"                        -> normalised suffix the store holds
//	0x00 "seq/id"                        -> Badger sequence lease for IDs
//	'e' | ID                             -> entry record (see below)
//	'd' | NDN                            -> ID                 (DN index)
//	'c' | parentID | childID             -> empty              (children)
//	'i' | len(attr) (1B) | attr | len(v) (uvarint) | v | ID
//	                                     -> empty              (equality)
//
// attr in an equality key is the lower-cased primary name of an indexed
// attribute type; v is the value's equality normal form (longer than 256
// bytes: its first 256 bytes and its SHA-256, since candidates are always
// re-checked). All keys of one (attr, v) share a prefix, so an equality
// lookup is one prefix scan that yields IDs in ascending order. Presence
// and substring indexes, and the planner that uses them, belong to the
// query-engine work; the Indexed option names the equality-indexed types.
//
// Example: uid=jdoe with ID 7 under ou=people (ID 3) gives
//
//	65 00 00 00 00 00 00 00 07              'e' 7 -> record
//	64 "uid=jdoe,ou=people,dc=example,dc=com" -> 00..07
//	63 00..03 00..07                        'c' 3 7
//	69 03 "uid" 04 "jdoe" 00..07            'i' uid=jdoe 7
//
// The entry record is
//
//	version (1B = 1) | parentID (uvarint) | len DN | DN | len NDN | NDN |
//	nattrs (uvarint) | { len name | name | nvalues | { len v | v }... }...
//
// with every length a uvarint. Open refuses a store whose format version
// or suffix differ from what it expects, rather than misread it.
//
// # Reads
//
// Search resolves the base DN, asks the equality indexes for candidates
// when the filter allows (an indexed equality, an AND with one, an OR of
// such), otherwise walks the scope through the children keys, then loads
// each candidate in ascending ID order, checks scope and the compiled
// filter (three-valued, RFC 4511 4.5.1.7), and streams matches to the
// caller. Ascending ID order is what makes the stateless paged-results
// cookie of the frontend possible.
package directory
