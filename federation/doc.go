// Package federation shares parts of the directory with partner
// organisations, and keeps copies of what partners share, through the
// admin HTTP API:
//
//	PUT    /api/v1/federation/exports/{name}   define what partner {name} sees
//	GET    /api/v1/federation/exports[/{name}] the exports, with what each partner fetched
//	DELETE /api/v1/federation/exports/{name}   revoke at once
//	PUT    /api/v1/federation/imports/{name}   copy a partner's export here
//	GET    /api/v1/federation/imports[/{name}] state, entries, last change, last error
//	DELETE /api/v1/federation/imports/{name}   stop and purge the copy
//	POST   /api/v1/federation/discover         a partner asks which addresses exist
//
// # Exports
//
// An export is a partner identity, bound as cn=NAME,cn=federation (a DN
// outside the naming context, so no entry can be bound as it) with the
// export's password, whose stored form is hashed as userPassword is. It
// is a directory/frontend Partner: its access is a policy of its own
// (exportRules), which the frontend asks instead of the server's access
// rules on every operation and which the sync provider and persistent
// searches see through the search's access, so the partner's view is the
// same over search, compare, RFC 4533 sync and persistent search:
//
//   - entries in base+scope that match the filter, and nothing else
//     (the base itself is searchable but returned only if it matches);
//   - of those, the listed attributes with objectClass and the
//     operational attributes a sync consumer keeps (entryUUID, entryCSN,
//     createTimestamp, modifyTimestamp); userPassword, authPassword,
//     sealed attributes and other operational attributes are withheld
//     even if listed;
//   - values of DN-valued attributes (member, manager, seeAlso, ...)
//     only where they name an entry of the export (frontend.Partner);
//   - never an imported subtree, unless the export says reshare_imports.
//
// An entry that stops matching or moves out of base+scope is therefore
// a delete for the partner's sync session (persist phase, and the delete
// phase of a refresh from a cookie), and an add when it matches again.
// Changing an export's base, scope, filter or attributes (PUT) closes
// its partner's sessions; the cookies the partner holds carry the
// version of the view they were given under (frontend.Partner.View), so
// its next session gets the present phase and its copy loses what left
// the view, though those entries did not change.
// Deleting an export revokes it at once: the frontend forgets the
// partner (its binds fail, sessions still bound can do nothing) and its
// connections are closed with a notice of disconnection.
//
// Known limits: a partner's copy receives an entry only if its parent is
// there too, so a filtered export should share entries directly below
// its base (a filter that leaves out intermediate entries strands their
// children); a value of a DN-valued attribute is not re-sent when the
// entry it names enters or leaves the view; a partner's filter on a
// DN-valued attribute still tests values it may not read.
//
// # Private discovery
//
// An export PUT with "discovery": true gives its partner the discovery
// right, and gets a salt chosen by the server (32 random bytes, shown in
// hex as discovery_salt by GET and PUT; kept while discovery stays on,
// a new one when it is turned off and on). The admin hands the salt to
// the partner, who asks whether addresses exist without sending them:
//
//	POST /api/v1/federation/discover
//	Authorization: Basic (the export's bind DN or name : its password)
//	{"hashes": ["<hex sha256(salt || normalised address)>", ...]}
//	-> 200 {"matches": [{"hash": "...", "dn": "uid=...,ou=people,..."}]}
//
// The salt enters the hash as its 64 hex characters (text, not the
// bytes they spell), followed by the normalised address: surrounding
// white space removed and every letter lower-cased, the local part too
// (NormalizeAddress, DiscoveryHash); with a shell,
//
//	printf %s "$salt$(printf %s "$addr" | tr A-Z a-z)" | sha256sum
//
// A hash matches the mail values of the entries the partner's view
// holds (base+scope+filter as its compiled policy decides, so never an
// imported subtree unless reshared), whether or not mail is among the
// attributes it reads; the DN answered is the source's (the partner's
// import rewrites it). A mail attribute that is sealed cannot be
// discovered (the PUT is refused). There is no wildcard and nothing to
// page: only exact hashes match, at most MaxDiscoverHashes a request
// (more: 413), and each partner draws the hashes it asks about from a
// token bucket (Config.DiscoveryBurst at once, DiscoveryRate a second;
// spent: 429 with Retry-After), so enumerating by guessing is slow.
//
// The partner is no identity of the admin API, so the route is mounted
// on admin.Server.SelfAuth and authenticates itself: an unknown or
// revoked partner costs the same password verification as a wrong
// password (401 either way), and failures count in the failed-bind
// throttle. A password once verified is recognised for verifiedFor by an
// HMAC under a key of the process, so that a partner's stream of small
// requests pays the slow password hash once. Every request, refused or
// not, is recorded in the audit log (op federation.discover: the
// partner, the number of hashes and of matches, never a hash) and
// counted in the switchboard_federation_discover_* metrics and the
// export's discovery_stats.
//
// Each export with the right keeps an index, hash to DNs, of its view's
// addresses, built at the first request after the store changed (the
// engine's write epoch) or the export did: a search of the view and a
// SHA-256 per address (about 0.1 s for 10,000 people), then a map
// lookup per hash. An index is bounded at maxDiscoveryIndex addresses.
//
// # Imports
//
// An import runs a replication.Syncrepl consumer (refreshAndPersist, or
// refreshOnly every interval) against a provider, Switchboard or slapd,
// copying remote_base to local_base with every DN and DN-valued value
// rewritten. The import creates the local_base entry itself (the
// provider's base entry is often outside what it shares), declares the
// subtree below it a read-only copy (directory.ReadOnlyCopy: local writes
// get unwillingToPerform naming the import, or a referral), and on DELETE
// stops the consumer and removes the subtree with the local_base entry.
// When the provider refuses the consumer (invalidCredentials or
// insufficientAccessRights: a revoked export; or e-syncRefreshRequired
// to a refresh without a cookie, which no refresh can satisfy), the
// import stops, reports it (GET: state failed, failure, purge_at), and
// purges its copy after its grace period. e-syncRefreshRequired to a
// cookie (the provider's log no longer covers it, as after the import
// was stopped longer than the provider keeps changes, or slapd with a
// trimmed log) is not a refusal: the consumer drops the cookie and
// refreshes in full, which keeps the copy exact; stopping and purging it
// would punish the partner for having been away.
//
// # Audit and metrics
//
// With Config.Audit, every PUT and DELETE of an export or import
// (succeeded or refused, with the admin identity and address that made
// it), an import's failure and its purge (made by the server, "who:
// server") are recorded in the audit log as audit.Action records with
// ops federation.export.put, federation.export.delete,
// federation.import.put, federation.import.delete,
// federation.import.failed and federation.import.purge, and discovery
// requests as federation.discover; passwords are never written.
// RegisterMetrics adds per-agreement series,
// switchboard_federation_export_* and switchboard_federation_discover_*
// labelled by export and switchboard_federation_import_* labelled by
// import.
//
// # Storage
//
// Exports and imports are kept in DIR/federation.json (mode 0600),
// rewritten whole (through a temporary file and a rename) on each
// change:
//
//	{"exports": [Export...], "imports": [Import...]}
//
// with the export's password as its hash. The import's password is
// needed to bind to the provider, so it cannot be hashed: when the
// server has a master key (encryption.key_file or
// SWITCHBOARD_ENCRYPTION_KEY) it is kept sealed under it, as sealed
// attributes are (directory.Sealer, bound to the import's name), in
// password_sealed, and a password kept in clear before the key was
// configured is sealed at the next start; an import whose password does
// not open (the server started without that key) stays stopped and
// says so. Without a master key the password is kept in clear: protect
// the data directory as you protect the root password.
package federation
