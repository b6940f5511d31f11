// Package ldap implements the LDAPv3 wire protocol for Switchboard: the BER
// codec for LDAPMessage PDUs (RFC 4511), search filters (RFC 4515),
// distinguished names (RFC 4514), the controls and extended operations the
// server understands, and the server loop that ties them to a Handler.
//
// # Framing
//
// An LDAP session is a stream of LDAPMessage PDUs, each one complete BER
// element (RFC 4511 section 4.1.1):
//
//	LDAPMessage ::= SEQUENCE {
//	     messageID       MessageID,            -- INTEGER (0 .. maxInt)
//	     protocolOp      CHOICE { bindRequest BindRequest, ... },
//	     controls        [0] Controls OPTIONAL }
//
// ReadPDU reads exactly one such element: the SEQUENCE identifier 0x30, a
// definite length, and that many content octets. The length is checked
// against the server's limit before any of the body is read or buffer space
// is allocated for it, so a client announcing a 2 GiB message
// (30 84 7F FF FF F0) costs six octets of input and nothing else.
//
// # BER subset
//
// RFC 4511 section 5.1 restricts BER, and the codec enforces it:
//
//   - Lengths use the definite form only. The indefinite form (0x80) is
//     rejected, and so are length fields of more than four octets (0x85 and
//     up): no valid PDU needs them. Non-minimal definite lengths (81 05) are
//     accepted on input; the encoder always writes minimal ones.
//   - OCTET STRINGs are primitive. Identifiers are single octets; LDAP uses
//     no tag number above 30, so the high-tag-number form is an error.
//   - BOOLEAN contents are one octet; we send 0xFF for TRUE and accept any
//     non-zero octet as TRUE.
//   - INTEGER and ENUMERATED contents are one to four octets, two's
//     complement; each field is range checked (message IDs 1 .. 2^31-1 on
//     requests, sizeLimit and timeLimit 0 .. maxInt, scope 0 .. 2,
//     derefAliases 0 .. 3, modify operation 0 .. 3 with increment from
//     RFC 4525).
//   - Every element must fit inside its parent. Elements a SEQUENCE does
//     not define may follow the defined ones and are skipped ("extensibility
//     implied", RFC 4511 section 4), but must themselves be well formed.
//
// Filters may nest at most MaxFilterDepth (100) levels and hold at most
// MaxFilterNodes (100000) nodes; the limit on depth is what keeps a hostile
// filter from exhausting the stack (compare OpenLDAP CVE-2020-12243).
//
// # Example
//
// A simple bind as "cn=admin" with password "secret", message ID 1, is 28
// octets on the wire:
//
//	30 1a                       LDAPMessage SEQUENCE, 26 octets
//	   02 01 01                 messageID 1
//	   60 15                    [APPLICATION 0] BindRequest, 21 octets
//	      02 01 03              version 3
//	      04 08 63 6e 3d 61     name "cn=admin"
//	            64 6d 69 6e
//	      80 06 73 65 63 72     [0] simple "secret"
//	            65 74
//
// and the server's successful answer is 14:
//
//	30 0c                       LDAPMessage SEQUENCE, 12 octets
//	   02 01 01                 messageID 1
//	   61 07                    [APPLICATION 1] BindResponse, 7 octets
//	      0a 01 00              resultCode success (ENUMERATED 0)
//	      04 00                 matchedDN ""
//	      04 00                 diagnosticMessage ""
//
// # Decoding and aliasing
//
// DecodeRequest fills a Request from one PDU. It does not copy: every
// []byte in the Request (DNs, attribute types and values, filter parts,
// control values, passwords) is a sub-slice of the PDU buffer. The Request
// and the PDU are therefore one unit: the buffer must not be reused or
// modified until the operation's response has been written, and a handler
// that keeps any value beyond that (in a cache, a goroutine that outlives
// the operation, the database) must copy it. The Request's own scratch
// slices (the filter arena, value and attribute lists) are reused by the
// next DecodeRequest, which is why a warm Request decodes a typical search
// without allocating.
//
// A malformed request yields a *DecodeError. When the message ID was read
// (HasID) the server can answer that operation with protocolError; when it
// was not, the stream cannot be trusted and the server sends a Notice of
// Disconnection (AppendNoticeOfDisconnection) and closes the connection.
//
// # Encoding
//
// The Append functions add one complete LDAPMessage to a byte slice. Each
// computes the lengths of its nested elements first and writes front to
// back, without reflection or intermediate trees, so encoding into a reused
// buffer does not allocate.
package ldap
