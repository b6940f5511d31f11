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
// insufficientAccessRights: a revoked export), the import stops, reports
// it, and purges its copy after its grace period.
//
// # Audit and metrics
//
// With Config.Audit, every PUT and DELETE of an export or import
// (succeeded or refused, with the admin identity and address that made
// it), an import's failure and its purge (made by the server, "who:
// server") are recorded in the audit log as audit.Action records with
// ops federation.export.put, federation.export.delete,
// federation.import.put, federation.import.delete,
// federation.import.failed and federation.import.purge; passwords are
// never written. RegisterMetrics adds per-agreement series,
// switchboard_federation_export_* labelled by export and
// switchboard_federation_import_* labelled by import.
//
// # Storage
//
// Exports and imports are kept in DIR/federation.json (mode 0600),
// rewritten whole (through a temporary file and a rename) on each
// change:
//
//	{"exports": [Export...], "imports": [Import...]}
//
// with the export's password as its hash, and the import's password in
// clear (it is needed to bind to the provider): protect the data
// directory as you protect the root password.
package federation
