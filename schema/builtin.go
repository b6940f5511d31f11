package schema

// builtinDefinitions parses the built-in schema text below.
func builtinDefinitions() ([]*AttributeTypeDescription, []*ObjectClassDescription, error) {
	return ParseSchemaFile([]byte(builtinSchema))
}

// builtinSchema holds the built-in definitions in OpenLDAP .schema form.
// OIDs and definitions are those of the cited specifications; descriptions
// are ours.
const builtinSchema = `
objectidentifier LDAPsyn 1.3.6.1.4.1.1466.115.121.1
objectidentifier NISsyn 1.3.6.1.1.1.0
objectidentifier COSINEat 0.9.2342.19200300.100.1
objectidentifier COSINEoc 0.9.2342.19200300.100.4
objectidentifier NISat 1.3.6.1.1.1.1
objectidentifier NISoc 1.3.6.1.1.1.2
objectidentifier MOZat 1.3.6.1.4.1.13769
objectidentifier PPat 1.3.6.1.4.1.42.2.27.8.1
objectidentifier PPoc 1.3.6.1.4.1.42.2.27.8.2

# ---- RFC 4512: operational attributes and subschema -----------------------

attributetype ( 2.5.4.0 NAME 'objectClass'
	DESC 'object classes of the entry'
	EQUALITY objectIdentifierMatch SYNTAX LDAPsyn:38 )
attributetype ( 2.5.4.1 NAME 'aliasedObjectName'
	DESC 'name of the object an alias points to'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12 SINGLE-VALUE )
attributetype ( 2.5.21.9 NAME 'structuralObjectClass'
	DESC 'structural object class of the entry'
	EQUALITY objectIdentifierMatch SYNTAX LDAPsyn:38
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 2.5.21.10 NAME 'governingStructureRule'
	DESC 'structure rule governing the entry'
	EQUALITY integerMatch SYNTAX LDAPsyn:27
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 2.5.18.1 NAME 'createTimestamp'
	DESC 'time the entry was added'
	EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch
	SYNTAX LDAPsyn:24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 2.5.18.2 NAME 'modifyTimestamp'
	DESC 'time the entry was last modified'
	EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch
	SYNTAX LDAPsyn:24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 2.5.18.3 NAME 'creatorsName'
	DESC 'who added the entry'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 2.5.18.4 NAME 'modifiersName'
	DESC 'who last modified the entry'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 2.5.18.10 NAME 'subschemaSubentry'
	DESC 'name of the subschema subentry that controls the entry'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 2.5.18.9 NAME 'hasSubordinates'
	DESC 'whether the entry has children (X.501)'
	EQUALITY booleanMatch SYNTAX LDAPsyn:7
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 1.3.6.1.4.1.453.16.2.103 NAME 'numSubordinates'
	DESC 'number of immediate children'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27
	SINGLE-VALUE NO-USER-MODIFICATION USAGE dSAOperation )
attributetype ( 2.5.21.1 NAME 'dITStructureRules'
	EQUALITY integerFirstComponentMatch SYNTAX LDAPsyn:17 USAGE directoryOperation )
attributetype ( 2.5.21.2 NAME 'dITContentRules'
	EQUALITY objectIdentifierFirstComponentMatch SYNTAX LDAPsyn:16 USAGE directoryOperation )
attributetype ( 2.5.21.4 NAME 'matchingRules'
	EQUALITY objectIdentifierFirstComponentMatch SYNTAX LDAPsyn:30 USAGE directoryOperation )
attributetype ( 2.5.21.5 NAME 'attributeTypes'
	EQUALITY objectIdentifierFirstComponentMatch SYNTAX LDAPsyn:3 USAGE directoryOperation )
attributetype ( 2.5.21.6 NAME 'objectClasses'
	EQUALITY objectIdentifierFirstComponentMatch SYNTAX LDAPsyn:37 USAGE directoryOperation )
attributetype ( 2.5.21.7 NAME 'nameForms'
	EQUALITY objectIdentifierFirstComponentMatch SYNTAX LDAPsyn:35 USAGE directoryOperation )
attributetype ( 2.5.21.8 NAME 'matchingRuleUse'
	EQUALITY objectIdentifierFirstComponentMatch SYNTAX LDAPsyn:31 USAGE directoryOperation )
attributetype ( 1.3.6.1.4.1.1466.101.120.16 NAME 'ldapSyntaxes'
	EQUALITY objectIdentifierFirstComponentMatch SYNTAX LDAPsyn:54 USAGE directoryOperation )
attributetype ( 1.3.6.1.4.1.1466.101.120.6 NAME 'altServer'
	SYNTAX LDAPsyn:26 USAGE dSAOperation )
attributetype ( 1.3.6.1.4.1.1466.101.120.5 NAME 'namingContexts'
	SYNTAX LDAPsyn:12 USAGE dSAOperation )
attributetype ( 1.3.6.1.4.1.1466.101.120.13 NAME 'supportedControl'
	SYNTAX LDAPsyn:38 USAGE dSAOperation )
attributetype ( 1.3.6.1.4.1.1466.101.120.7 NAME 'supportedExtension'
	SYNTAX LDAPsyn:38 USAGE dSAOperation )
attributetype ( 1.3.6.1.4.1.4203.1.3.5 NAME 'supportedFeatures'
	EQUALITY objectIdentifierMatch SYNTAX LDAPsyn:38 USAGE dSAOperation )
attributetype ( 1.3.6.1.4.1.1466.101.120.15 NAME 'supportedLDAPVersion'
	SYNTAX LDAPsyn:27 USAGE dSAOperation )
attributetype ( 1.3.6.1.4.1.1466.101.120.14 NAME 'supportedSASLMechanisms'
	SYNTAX LDAPsyn:15 USAGE dSAOperation )
# RFC 3045
attributetype ( 1.3.6.1.1.4 NAME 'vendorName'
	EQUALITY caseExactIA5Match SYNTAX LDAPsyn:15
	SINGLE-VALUE NO-USER-MODIFICATION USAGE dSAOperation )
attributetype ( 1.3.6.1.1.5 NAME 'vendorVersion'
	EQUALITY caseExactIA5Match SYNTAX LDAPsyn:15
	SINGLE-VALUE NO-USER-MODIFICATION USAGE dSAOperation )
# RFC 4530
attributetype ( 1.3.6.1.1.16.4 NAME 'entryUUID'
	DESC 'universally unique identifier of the entry'
	EQUALITY UUIDMatch ORDERING UUIDOrderingMatch SYNTAX 1.3.6.1.1.16.1
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
# RFC 5020
attributetype ( 1.3.6.1.1.20 NAME 'entryDN'
	DESC 'distinguished name of the entry'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
# OpenLDAP's replication state (draft-chu-ldap-csn), so that entryCSN and
# contextCSN interoperate with syncrepl consumers.
attributetype ( 1.3.6.1.4.1.4203.666.1.7 NAME 'entryCSN'
	DESC 'change sequence number of the entry content'
	EQUALITY CSNMatch ORDERING CSNOrderingMatch SYNTAX 1.3.6.1.4.1.4203.666.11.2.1{64}
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 1.3.6.1.4.1.4203.666.1.25 NAME 'contextCSN'
	DESC 'the largest committed CSN of a context, one per replica'
	EQUALITY CSNMatch ORDERING CSNOrderingMatch SYNTAX 1.3.6.1.4.1.4203.666.11.2.1{64}
	NO-USER-MODIFICATION USAGE dSAOperation )
# Multi-supplier replication's conflict markers (package replication).
attributetype ( 2.25.167031871370493812436425452219513702722.2.1 NAME 'switchboardConflict'
	DESC 'the DN this entry lost to an entry that took it first'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( 2.25.167031871370493812436425452219513702722.2.2 NAME 'switchboardGlue'
	DESC 'TRUE on a deleted entry kept as a placeholder for entries below it'
	EQUALITY booleanMatch SYNTAX LDAPsyn:7
	SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
# As maintained by a memberOf overlay.
attributetype ( 1.2.840.113556.1.2.102 NAME 'memberOf'
	DESC 'groups the entry is a member of'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12
	NO-USER-MODIFICATION USAGE directoryOperation )

objectclass ( 2.5.6.0 NAME 'top' DESC 'root of the class hierarchy'
	ABSTRACT MUST objectClass )
objectclass ( 2.5.6.1 NAME 'alias' DESC 'an alias entry'
	SUP top STRUCTURAL MUST aliasedObjectName )
objectclass ( 2.5.20.1 NAME 'subschema' DESC 'subschema subentry'
	AUXILIARY MAY ( dITStructureRules $ nameForms $ dITContentRules $
	objectClasses $ attributeTypes $ matchingRules $ matchingRuleUse ) )
objectclass ( 1.3.6.1.4.1.1466.101.120.111 NAME 'extensibleObject'
	DESC 'entry may hold any attribute'
	SUP top AUXILIARY )

# ---- RFC 4519 ---------------------------------------------------------------

attributetype ( 2.5.4.41 NAME 'name'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.5.4.49 NAME 'distinguishedName'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12 )
attributetype ( 2.5.4.15 NAME 'businessCategory'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.5.4.6 NAME ( 'c' 'countryName' ) DESC 'ISO 3166 two-letter country code'
	SUP name SYNTAX LDAPsyn:11 SINGLE-VALUE )
attributetype ( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )
attributetype ( 0.9.2342.19200300.100.1.25 NAME ( 'dc' 'domainComponent' )
	EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch
	SYNTAX LDAPsyn:26 SINGLE-VALUE )
attributetype ( 2.5.4.13 NAME 'description'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.5.4.27 NAME 'destinationIndicator'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:44 )
attributetype ( 2.5.4.46 NAME 'dnQualifier'
	EQUALITY caseIgnoreMatch ORDERING caseIgnoreOrderingMatch
	SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:44 )
attributetype ( 2.5.4.47 NAME 'enhancedSearchGuide' SYNTAX LDAPsyn:21 )
attributetype ( 2.5.4.23 NAME 'facsimileTelephoneNumber' SYNTAX LDAPsyn:22 )
attributetype ( 2.5.4.44 NAME 'generationQualifier' SUP name )
attributetype ( 2.5.4.42 NAME ( 'givenName' 'gn' ) SUP name )
attributetype ( 2.5.4.51 NAME 'houseIdentifier'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.5.4.43 NAME 'initials' SUP name )
attributetype ( 2.5.4.25 NAME 'internationalISDNNumber'
	EQUALITY numericStringMatch SUBSTR numericStringSubstringsMatch SYNTAX LDAPsyn:36 )
attributetype ( 2.5.4.7 NAME ( 'l' 'localityName' ) SUP name )
attributetype ( 2.5.4.31 NAME 'member' SUP distinguishedName )
attributetype ( 2.5.4.10 NAME ( 'o' 'organizationName' ) SUP name )
attributetype ( 2.5.4.11 NAME ( 'ou' 'organizationalUnitName' ) SUP name )
attributetype ( 2.5.4.32 NAME 'owner' SUP distinguishedName )
attributetype ( 2.5.4.19 NAME 'physicalDeliveryOfficeName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.5.4.16 NAME 'postalAddress'
	EQUALITY caseIgnoreListMatch SUBSTR caseIgnoreListSubstringsMatch SYNTAX LDAPsyn:41 )
attributetype ( 2.5.4.17 NAME 'postalCode'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.5.4.18 NAME 'postOfficeBox'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.5.4.28 NAME 'preferredDeliveryMethod' SYNTAX LDAPsyn:14 SINGLE-VALUE )
attributetype ( 2.5.4.26 NAME 'registeredAddress' SUP postalAddress SYNTAX LDAPsyn:41 )
attributetype ( 2.5.4.33 NAME 'roleOccupant' SUP distinguishedName )
attributetype ( 2.5.4.14 NAME 'searchGuide' SYNTAX LDAPsyn:25 )
attributetype ( 2.5.4.34 NAME 'seeAlso' SUP distinguishedName )
attributetype ( 2.5.4.5 NAME 'serialNumber'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:44 )
attributetype ( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )
attributetype ( 2.5.4.8 NAME ( 'st' 'stateOrProvinceName' ) SUP name )
attributetype ( 2.5.4.9 NAME ( 'street' 'streetAddress' )
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.5.4.20 NAME 'telephoneNumber'
	EQUALITY telephoneNumberMatch SUBSTR telephoneNumberSubstringsMatch SYNTAX LDAPsyn:50 )
attributetype ( 2.5.4.22 NAME 'teletexTerminalIdentifier' SYNTAX LDAPsyn:51 )
attributetype ( 2.5.4.21 NAME 'telexNumber' SYNTAX LDAPsyn:52 )
attributetype ( 2.5.4.12 NAME 'title' SUP name )
attributetype ( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' )
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.5.4.50 NAME 'uniqueMember'
	EQUALITY uniqueMemberMatch SYNTAX LDAPsyn:34 )
attributetype ( 2.5.4.35 NAME 'userPassword'
	EQUALITY octetStringMatch SYNTAX LDAPsyn:40 )
attributetype ( 2.5.4.24 NAME 'x121Address'
	EQUALITY numericStringMatch SUBSTR numericStringSubstringsMatch SYNTAX LDAPsyn:36 )
attributetype ( 2.5.4.45 NAME 'x500UniqueIdentifier'
	EQUALITY bitStringMatch SYNTAX LDAPsyn:6 )

objectclass ( 2.5.6.11 NAME 'applicationProcess' SUP top STRUCTURAL
	MUST cn MAY ( seeAlso $ ou $ l $ description ) )
objectclass ( 2.5.6.2 NAME 'country' SUP top STRUCTURAL
	MUST c MAY ( searchGuide $ description ) )
objectclass ( 1.3.6.1.4.1.1466.344 NAME 'dcObject' SUP top AUXILIARY MUST dc )
objectclass ( 2.5.6.14 NAME 'device' SUP top STRUCTURAL
	MUST cn MAY ( serialNumber $ seeAlso $ owner $ ou $ o $ l $ description ) )
objectclass ( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL
	MUST ( member $ cn ) MAY ( businessCategory $ seeAlso $ owner $ ou $ o $ description ) )
objectclass ( 2.5.6.17 NAME 'groupOfUniqueNames' SUP top STRUCTURAL
	MUST ( uniqueMember $ cn ) MAY ( businessCategory $ seeAlso $ owner $ ou $ o $ description ) )
objectclass ( 2.5.6.3 NAME 'locality' SUP top STRUCTURAL
	MAY ( street $ seeAlso $ searchGuide $ st $ l $ description ) )
objectclass ( 2.5.6.4 NAME 'organization' SUP top STRUCTURAL
	MUST o MAY ( userPassword $ searchGuide $ seeAlso $ businessCategory $
	x121Address $ registeredAddress $ destinationIndicator $ preferredDeliveryMethod $
	telexNumber $ teletexTerminalIdentifier $ telephoneNumber $ internationalISDNNumber $
	facsimileTelephoneNumber $ street $ postOfficeBox $ postalCode $ postalAddress $
	physicalDeliveryOfficeName $ st $ l $ description ) )
objectclass ( 2.5.6.7 NAME 'organizationalPerson' SUP person STRUCTURAL
	MAY ( title $ x121Address $ registeredAddress $ destinationIndicator $
	preferredDeliveryMethod $ telexNumber $ teletexTerminalIdentifier $ telephoneNumber $
	internationalISDNNumber $ facsimileTelephoneNumber $ street $ postOfficeBox $
	postalCode $ postalAddress $ physicalDeliveryOfficeName $ ou $ st $ l ) )
objectclass ( 2.5.6.8 NAME 'organizationalRole' SUP top STRUCTURAL
	MUST cn MAY ( x121Address $ registeredAddress $ destinationIndicator $
	preferredDeliveryMethod $ telexNumber $ teletexTerminalIdentifier $ telephoneNumber $
	internationalISDNNumber $ facsimileTelephoneNumber $ seeAlso $ roleOccupant $
	street $ postOfficeBox $ postalCode $ postalAddress $
	physicalDeliveryOfficeName $ ou $ st $ l $ description ) )
objectclass ( 2.5.6.5 NAME 'organizationalUnit' SUP top STRUCTURAL
	MUST ou MAY ( businessCategory $ description $ destinationIndicator $
	facsimileTelephoneNumber $ internationalISDNNumber $ l $ physicalDeliveryOfficeName $
	postalAddress $ postalCode $ postOfficeBox $ preferredDeliveryMethod $
	registeredAddress $ searchGuide $ seeAlso $ st $ street $ telephoneNumber $
	teletexTerminalIdentifier $ telexNumber $ userPassword $ x121Address ) )
objectclass ( 2.5.6.6 NAME 'person' SUP top STRUCTURAL
	MUST ( sn $ cn ) MAY ( userPassword $ telephoneNumber $ seeAlso $ description ) )
objectclass ( 2.5.6.10 NAME 'residentialPerson' SUP person STRUCTURAL
	MUST l MAY ( businessCategory $ x121Address $ registeredAddress $
	destinationIndicator $ preferredDeliveryMethod $ telexNumber $
	teletexTerminalIdentifier $ telephoneNumber $ internationalISDNNumber $
	facsimileTelephoneNumber $ street $ postOfficeBox $ postalCode $ postalAddress $
	physicalDeliveryOfficeName $ st $ l ) )
objectclass ( 1.3.6.1.1.3.1 NAME 'uidObject' SUP top AUXILIARY MUST uid )

# ---- RFC 4523: certificates ---------------------------------------------

attributetype ( 2.5.4.36 NAME 'userCertificate' DESC 'X.509 user certificate'
	EQUALITY certificateExactMatch SYNTAX LDAPsyn:8 )
attributetype ( 2.5.4.37 NAME 'cACertificate' DESC 'X.509 CA certificate'
	EQUALITY certificateExactMatch SYNTAX LDAPsyn:8 )

# ---- RFC 4524: COSINE --------------------------------------------------------

attributetype ( COSINEat:37 NAME 'associatedDomain'
	EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX LDAPsyn:26 )
attributetype ( COSINEat:38 NAME 'associatedName'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12 )
attributetype ( COSINEat:48 NAME 'buildingName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:43 NAME ( 'co' 'friendlyCountryName' )
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( COSINEat:14 NAME 'documentAuthor'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12 )
attributetype ( COSINEat:11 NAME 'documentIdentifier'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:15 NAME 'documentLocation'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:56 NAME 'documentPublisher'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( COSINEat:12 NAME 'documentTitle'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:13 NAME 'documentVersion'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:5 NAME ( 'drink' 'favouriteDrink' )
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:20 NAME ( 'homePhone' 'homeTelephoneNumber' )
	EQUALITY telephoneNumberMatch SUBSTR telephoneNumberSubstringsMatch SYNTAX LDAPsyn:50 )
attributetype ( COSINEat:39 NAME 'homePostalAddress'
	EQUALITY caseIgnoreListMatch SUBSTR caseIgnoreListSubstringsMatch SYNTAX LDAPsyn:41 )
attributetype ( COSINEat:9 NAME 'host'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:4 NAME 'info'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{2048} )
attributetype ( COSINEat:3 NAME ( 'mail' 'rfc822Mailbox' )
	EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX LDAPsyn:26{256} )
attributetype ( COSINEat:10 NAME 'manager'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12 )
attributetype ( COSINEat:41 NAME ( 'mobile' 'mobileTelephoneNumber' )
	EQUALITY telephoneNumberMatch SUBSTR telephoneNumberSubstringsMatch SYNTAX LDAPsyn:50 )
attributetype ( COSINEat:45 NAME 'organizationalStatus'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:42 NAME ( 'pager' 'pagerTelephoneNumber' )
	EQUALITY telephoneNumberMatch SUBSTR telephoneNumberSubstringsMatch SYNTAX LDAPsyn:50 )
attributetype ( COSINEat:40 NAME 'personalTitle'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:6 NAME 'roomNumber'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:21 NAME 'secretary'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12 )
attributetype ( COSINEat:44 NAME 'uniqueIdentifier'
	EQUALITY caseIgnoreMatch SYNTAX LDAPsyn:15{256} )
attributetype ( COSINEat:8 NAME 'userClass'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{256} )
# RFC 1274 attributes used by inetOrgPerson.
attributetype ( COSINEat:55 NAME 'audio' SYNTAX LDAPsyn:4{250000} )
attributetype ( COSINEat:7 NAME 'photo' SYNTAX LDAPsyn:23{25000} )

objectclass ( COSINEoc:5 NAME 'account' SUP top STRUCTURAL
	MUST uid MAY ( description $ seeAlso $ l $ o $ ou $ host ) )
objectclass ( COSINEoc:6 NAME 'document' SUP top STRUCTURAL
	MUST documentIdentifier MAY ( cn $ description $ seeAlso $ l $ o $ ou $
	documentTitle $ documentVersion $ documentAuthor $ documentLocation $ documentPublisher ) )
objectclass ( COSINEoc:9 NAME 'documentSeries' SUP top STRUCTURAL
	MUST cn MAY ( description $ l $ o $ ou $ seeAlso $ telephoneNumber ) )
objectclass ( COSINEoc:13 NAME 'domain' SUP top STRUCTURAL
	MUST dc MAY ( userPassword $ searchGuide $ seeAlso $ businessCategory $
	x121Address $ registeredAddress $ destinationIndicator $ preferredDeliveryMethod $
	telexNumber $ teletexTerminalIdentifier $ telephoneNumber $ internationalISDNNumber $
	facsimileTelephoneNumber $ street $ postOfficeBox $ postalCode $ postalAddress $
	physicalDeliveryOfficeName $ st $ l $ description $ o $ associatedName ) )
objectclass ( COSINEoc:17 NAME 'domainRelatedObject' SUP top AUXILIARY
	MUST associatedDomain )
objectclass ( COSINEoc:18 NAME 'friendlyCountry' SUP country STRUCTURAL MUST co )
objectclass ( COSINEoc:14 NAME 'rFC822localPart' SUP domain STRUCTURAL
	MAY ( cn $ description $ destinationIndicator $ facsimileTelephoneNumber $
	internationalISDNNumber $ physicalDeliveryOfficeName $ postalAddress $ postalCode $
	postOfficeBox $ registeredAddress $ seeAlso $ sn $ street $ telephoneNumber $
	teletexTerminalIdentifier $ telexNumber $ x121Address ) )
objectclass ( COSINEoc:7 NAME 'room' SUP top STRUCTURAL
	MUST cn MAY ( roomNumber $ description $ seeAlso $ telephoneNumber ) )
objectclass ( COSINEoc:19 NAME 'simpleSecurityObject' SUP top AUXILIARY
	MUST userPassword )

# ---- RFC 2079 ----------------------------------------------------------------

attributetype ( 1.3.6.1.4.1.250.1.57 NAME 'labeledURI'
	DESC 'URI followed by an optional label'
	EQUALITY caseExactMatch SYNTAX LDAPsyn:15 )
objectclass ( 1.3.6.1.4.1.250.3.15 NAME 'labeledURIObject'
	SUP top AUXILIARY MAY labeledURI )

# ---- RFC 2798: inetOrgPerson ---------------------------------------------

attributetype ( 2.16.840.1.113730.3.1.1 NAME 'carLicense'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.16.840.1.113730.3.1.2 NAME 'departmentNumber'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( 2.16.840.1.113730.3.1.241 NAME 'displayName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 SINGLE-VALUE )
attributetype ( 2.16.840.1.113730.3.1.3 NAME 'employeeNumber'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 SINGLE-VALUE )
attributetype ( 2.16.840.1.113730.3.1.4 NAME 'employeeType'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 )
attributetype ( COSINEat:60 NAME 'jpegPhoto' SYNTAX LDAPsyn:28 )
attributetype ( 2.16.840.1.113730.3.1.39 NAME 'preferredLanguage'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 SINGLE-VALUE )
attributetype ( 2.16.840.1.113730.3.1.40 NAME 'userSMIMECertificate' SYNTAX LDAPsyn:5 )
attributetype ( 2.16.840.1.113730.3.1.216 NAME 'userPKCS12' SYNTAX LDAPsyn:5 )

objectclass ( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' SUP organizationalPerson STRUCTURAL
	MAY ( audio $ businessCategory $ carLicense $ departmentNumber $ displayName $
	employeeNumber $ employeeType $ givenName $ homePhone $ homePostalAddress $
	initials $ jpegPhoto $ labeledURI $ mail $ manager $ mobile $ o $ pager $ photo $
	roomNumber $ secretary $ uid $ userCertificate $ x500UniqueIdentifier $
	preferredLanguage $ userSMIMECertificate $ userPKCS12 ) )

# ---- draft-howard-rfc2307bis-02 ----------------------------------------------

attributetype ( NISat:0 NAME 'uidNumber' DESC 'numeric user identifier'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:1 NAME 'gidNumber' DESC 'numeric group identifier'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:2 NAME 'gecos'
	EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX LDAPsyn:26 SINGLE-VALUE )
attributetype ( NISat:3 NAME 'homeDirectory'
	EQUALITY caseExactIA5Match SYNTAX LDAPsyn:26 SINGLE-VALUE )
attributetype ( NISat:4 NAME 'loginShell'
	EQUALITY caseExactIA5Match SYNTAX LDAPsyn:26 SINGLE-VALUE )
attributetype ( NISat:5 NAME 'shadowLastChange'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:6 NAME 'shadowMin'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:7 NAME 'shadowMax'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:8 NAME 'shadowWarning'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:9 NAME 'shadowInactive'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:10 NAME 'shadowExpire'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:11 NAME 'shadowFlag'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:12 NAME 'memberUid'
	EQUALITY caseExactIA5Match SUBSTR caseExactIA5SubstringsMatch SYNTAX LDAPsyn:26 )
attributetype ( NISat:13 NAME 'memberNisNetgroup'
	EQUALITY caseExactIA5Match SUBSTR caseExactIA5SubstringsMatch SYNTAX LDAPsyn:26 )
attributetype ( NISat:14 NAME 'nisNetgroupTriple' DESC 'netgroup triple'
	EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX NISsyn:0 )
attributetype ( NISat:15 NAME 'ipServicePort'
	EQUALITY integerMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:16 NAME 'ipServiceProtocol' SUP name )
attributetype ( NISat:17 NAME 'ipProtocolNumber'
	EQUALITY integerMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:18 NAME 'oncRpcNumber'
	EQUALITY integerMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( NISat:19 NAME 'ipHostNumber' DESC 'IPv4 or IPv6 address' SUP name )
attributetype ( NISat:20 NAME 'ipNetworkNumber' SUP name SINGLE-VALUE )
attributetype ( NISat:21 NAME 'ipNetmaskNumber'
	EQUALITY caseIgnoreIA5Match SYNTAX LDAPsyn:26 SINGLE-VALUE )
attributetype ( NISat:22 NAME 'macAddress'
	EQUALITY caseIgnoreIA5Match SYNTAX LDAPsyn:26 )
attributetype ( NISat:23 NAME 'bootParameter'
	EQUALITY caseExactIA5Match SYNTAX NISsyn:1 )
attributetype ( NISat:24 NAME 'bootFile'
	EQUALITY caseExactIA5Match SYNTAX LDAPsyn:26 )
attributetype ( NISat:26 NAME 'nisMapName' SUP name )
attributetype ( NISat:27 NAME 'nisMapEntry'
	EQUALITY caseExactIA5Match SUBSTR caseExactIA5SubstringsMatch SYNTAX LDAPsyn:26 SINGLE-VALUE )
attributetype ( NISat:28 NAME 'nisPublicKey'
	EQUALITY octetStringMatch SYNTAX LDAPsyn:40 SINGLE-VALUE )
attributetype ( NISat:29 NAME 'nisSecretKey'
	EQUALITY octetStringMatch SYNTAX LDAPsyn:40 SINGLE-VALUE )
attributetype ( NISat:30 NAME 'nisDomain'
	EQUALITY caseIgnoreIA5Match SYNTAX LDAPsyn:26 )
attributetype ( NISat:31 NAME 'automountMapName'
	EQUALITY caseExactIA5Match SYNTAX LDAPsyn:26 SINGLE-VALUE )
attributetype ( NISat:32 NAME 'automountKey'
	EQUALITY caseExactIA5Match SYNTAX LDAPsyn:26 SINGLE-VALUE )
attributetype ( NISat:33 NAME 'automountInformation'
	EQUALITY caseExactIA5Match SYNTAX LDAPsyn:26 SINGLE-VALUE )

objectclass ( NISoc:0 NAME 'posixAccount' SUP top AUXILIARY
	MUST ( cn $ uid $ uidNumber $ gidNumber $ homeDirectory )
	MAY ( userPassword $ loginShell $ gecos $ description ) )
objectclass ( NISoc:1 NAME 'shadowAccount' SUP top AUXILIARY
	MUST uid MAY ( userPassword $ description $ shadowLastChange $ shadowMin $
	shadowMax $ shadowWarning $ shadowInactive $ shadowExpire $ shadowFlag ) )
objectclass ( NISoc:2 NAME 'posixGroup' SUP top AUXILIARY
	MUST gidNumber MAY ( userPassword $ memberUid $ description ) )
objectclass ( NISoc:3 NAME 'ipService' SUP top STRUCTURAL
	MUST ( cn $ ipServicePort $ ipServiceProtocol ) MAY description )
objectclass ( NISoc:4 NAME 'ipProtocol' SUP top STRUCTURAL
	MUST ( cn $ ipProtocolNumber ) MAY description )
objectclass ( NISoc:5 NAME 'oncRpc' SUP top STRUCTURAL
	MUST ( cn $ oncRpcNumber ) MAY description )
objectclass ( NISoc:6 NAME 'ipHost' SUP top AUXILIARY
	MUST ( cn $ ipHostNumber ) MAY ( userPassword $ l $ description $ manager ) )
objectclass ( NISoc:7 NAME 'ipNetwork' SUP top STRUCTURAL
	MUST ipNetworkNumber MAY ( cn $ ipNetmaskNumber $ l $ description $ manager ) )
objectclass ( NISoc:8 NAME 'nisNetgroup' SUP top STRUCTURAL
	MUST cn MAY ( nisNetgroupTriple $ memberNisNetgroup $ description ) )
objectclass ( NISoc:9 NAME 'nisMap' SUP top STRUCTURAL
	MUST nisMapName MAY description )
objectclass ( NISoc:10 NAME 'nisObject' SUP top STRUCTURAL
	MUST ( cn $ nisMapEntry $ nisMapName ) MAY description )
objectclass ( NISoc:11 NAME 'ieee802Device' SUP top AUXILIARY MAY macAddress )
objectclass ( NISoc:12 NAME 'bootableDevice' SUP top AUXILIARY
	MAY ( bootFile $ bootParameter ) )
objectclass ( NISoc:14 NAME 'nisKeyObject' SUP top AUXILIARY
	MUST ( nisPublicKey $ nisSecretKey ) MAY ( uidNumber $ description ) )
objectclass ( NISoc:15 NAME 'nisDomainObject' SUP top AUXILIARY MUST nisDomain )
objectclass ( NISoc:16 NAME 'automountMap' SUP top STRUCTURAL
	MUST automountMapName MAY description )
objectclass ( NISoc:17 NAME 'automount' SUP top STRUCTURAL
	MUST ( automountKey $ automountInformation ) MAY description )

# ---- draft-behera-ldap-password-policy-10: password policy ------------------
# Policy attributes (held by pwdPolicy entries) and the state kept in user
# entries as operational attributes. pwdChangedTime, pwdFailureTime,
# pwdHistory and pwdGraceUseTime are the server's alone; the draft lets an
# administrator set pwdAccountLockedTime (to lock), pwdReset and
# pwdPolicySubentry, so those are user-modifiable here.

attributetype ( PPat:1 NAME 'pwdAttribute'
	DESC 'the attribute the policy applies to'
	EQUALITY objectIdentifierMatch SYNTAX LDAPsyn:38 )
attributetype ( PPat:2 NAME 'pwdMinAge'
	DESC 'seconds that must pass between password changes'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:3 NAME 'pwdMaxAge'
	DESC 'seconds after which a password expires'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:4 NAME 'pwdInHistory'
	DESC 'number of former passwords that may not be reused'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:5 NAME 'pwdCheckQuality'
	DESC '0: no quality check, 1: check when possible, 2: always check'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:6 NAME 'pwdMinLength'
	DESC 'minimum number of characters of a new password'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:7 NAME 'pwdExpireWarning'
	DESC 'seconds before expiry from which binds are warned'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:8 NAME 'pwdGraceAuthNLimit'
	DESC 'binds allowed with an expired password'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:9 NAME 'pwdLockout'
	DESC 'whether too many failed binds lock the account'
	EQUALITY booleanMatch SYNTAX LDAPsyn:7 SINGLE-VALUE )
attributetype ( PPat:10 NAME 'pwdLockoutDuration'
	DESC 'seconds an account stays locked; 0: until an administrator unlocks it'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:11 NAME 'pwdMaxFailure'
	DESC 'failed binds that lock the account'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:12 NAME 'pwdFailureCountInterval'
	DESC 'seconds after which a failed bind is forgotten; 0: at the next success'
	EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX LDAPsyn:27 SINGLE-VALUE )
attributetype ( PPat:13 NAME 'pwdMustChange'
	DESC 'whether a password set by an administrator must be changed at the next bind'
	EQUALITY booleanMatch SYNTAX LDAPsyn:7 SINGLE-VALUE )
attributetype ( PPat:14 NAME 'pwdAllowUserChange'
	DESC 'whether users may change their own password'
	EQUALITY booleanMatch SYNTAX LDAPsyn:7 SINGLE-VALUE )
attributetype ( PPat:15 NAME 'pwdSafeModify'
	DESC 'whether a change must give the old password'
	EQUALITY booleanMatch SYNTAX LDAPsyn:7 SINGLE-VALUE )
attributetype ( PPat:16 NAME 'pwdChangedTime'
	DESC 'time the password was last changed'
	EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch
	SYNTAX LDAPsyn:24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( PPat:17 NAME 'pwdAccountLockedTime'
	DESC 'time the account was locked'
	EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch
	SYNTAX LDAPsyn:24 SINGLE-VALUE USAGE directoryOperation )
attributetype ( PPat:19 NAME 'pwdFailureTime'
	DESC 'times of recent failed binds'
	EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch
	SYNTAX LDAPsyn:24 NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( PPat:20 NAME 'pwdHistory'
	DESC 'former passwords: time#syntax OID#length#stored value'
	EQUALITY octetStringMatch SYNTAX LDAPsyn:40
	NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( PPat:21 NAME 'pwdGraceUseTime'
	DESC 'times of binds with an expired password'
	EQUALITY generalizedTimeMatch SYNTAX LDAPsyn:24
	NO-USER-MODIFICATION USAGE directoryOperation )
attributetype ( PPat:22 NAME 'pwdReset'
	DESC 'the password was set by an administrator and must be changed'
	EQUALITY booleanMatch SYNTAX LDAPsyn:7 SINGLE-VALUE USAGE directoryOperation )
attributetype ( PPat:23 NAME 'pwdPolicySubentry'
	DESC 'the policy that applies to this entry'
	EQUALITY distinguishedNameMatch SYNTAX LDAPsyn:12 SINGLE-VALUE USAGE directoryOperation )

objectclass ( PPoc:1 NAME 'pwdPolicy' SUP top AUXILIARY
	MUST pwdAttribute
	MAY ( pwdMinAge $ pwdMaxAge $ pwdInHistory $ pwdCheckQuality $ pwdMinLength $
	pwdExpireWarning $ pwdGraceAuthNLimit $ pwdLockout $ pwdLockoutDuration $
	pwdMaxFailure $ pwdFailureCountInterval $ pwdMustChange $ pwdAllowUserChange $
	pwdSafeModify ) )

# ---- Mozilla address book (mozillaAbPersonAlpha) ------------------------------

attributetype ( MOZat:2.1 NAME 'mozillaNickname' SUP name )
attributetype ( MOZat:2.2 NAME 'mozillaUseHtmlMail'
	EQUALITY booleanMatch SYNTAX LDAPsyn:7 SINGLE-VALUE )
attributetype ( MOZat:2.3 NAME 'mozillaSecondEmail'
	EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX LDAPsyn:26{256} )
attributetype ( MOZat:2.4 NAME 'nsAIMid' DESC 'AIM identity'
	EQUALITY telephoneNumberMatch SUBSTR telephoneNumberSubstringsMatch SYNTAX LDAPsyn:50 )
attributetype ( MOZat:3.1 NAME 'mozillaHomeStreet'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{128} )
attributetype ( MOZat:3.2 NAME 'mozillaHomeStreet2'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{128} )
attributetype ( MOZat:3.3 NAME 'mozillaHomeLocalityName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{128} )
attributetype ( MOZat:3.4 NAME 'mozillaHomeState' SUP name )
attributetype ( MOZat:3.5 NAME 'mozillaHomePostalCode'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{40} )
attributetype ( MOZat:3.6 NAME 'mozillaHomeCountryName' SUP name SINGLE-VALUE )
attributetype ( MOZat:3.7 NAME 'mozillaHomeUrl'
	EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX LDAPsyn:26{256} )
attributetype ( MOZat:3.8 NAME 'mozillaWorkStreet2'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15{128} )
attributetype ( MOZat:3.9 NAME 'mozillaWorkUrl'
	EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX LDAPsyn:26{256} )
attributetype ( MOZat:4.1 NAME 'mozillaCustom1'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 SINGLE-VALUE )
attributetype ( MOZat:4.2 NAME 'mozillaCustom2'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 SINGLE-VALUE )
attributetype ( MOZat:4.3 NAME 'mozillaCustom3'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 SINGLE-VALUE )
attributetype ( MOZat:4.4 NAME 'mozillaCustom4'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX LDAPsyn:15 SINGLE-VALUE )

objectclass ( MOZat:9.1 NAME 'mozillaAbPersonAlpha' SUP top AUXILIARY
	MUST cn MAY ( c $ description $ displayName $ facsimileTelephoneNumber $
	givenName $ homePhone $ l $ mail $ mobile $ mozillaCustom1 $ mozillaCustom2 $
	mozillaCustom3 $ mozillaCustom4 $ mozillaHomeCountryName $ mozillaHomeLocalityName $
	mozillaHomePostalCode $ mozillaHomeState $ mozillaHomeStreet $ mozillaHomeStreet2 $
	mozillaHomeUrl $ mozillaNickname $ mozillaSecondEmail $ mozillaUseHtmlMail $
	mozillaWorkStreet2 $ mozillaWorkUrl $ nsAIMid $ o $ ou $ pager $ postalCode $
	postOfficeBox $ sn $ st $ street $ telephoneNumber $ title ) )

# ---- Switchboard: CardDAV personal address books (package web/carddav) -----
# A book is an entry right below its owner's entry; its cards are the
# entries below it, each holding the vCard as PUT (verbatim).

attributetype ( 2.25.167031871370493812436425452219513702722.17.1.1 NAME 'switchboardName'
	DESC 'the last segment of an address book or card URL'
	EQUALITY caseExactMatch SYNTAX LDAPsyn:15{255} SINGLE-VALUE )
attributetype ( 2.25.167031871370493812436425452219513702722.17.1.2 NAME 'switchboardVCard'
	DESC 'a vCard 3.0 or 4.0 as the client stored it'
	EQUALITY octetStringMatch SYNTAX LDAPsyn:40 SINGLE-VALUE )
attributetype ( 2.25.167031871370493812436425452219513702722.17.1.3 NAME 'switchboardCardRemoved'
	DESC 'entryUUID and name of a card removed from the book, for sync-collection'
	EQUALITY caseExactMatch SYNTAX LDAPsyn:15 )

objectclass ( 2.25.167031871370493812436425452219513702722.17.2.1 NAME 'switchboardAddressBook'
	DESC 'a personal address book' SUP top STRUCTURAL
	MUST switchboardName MAY switchboardCardRemoved )
objectclass ( 2.25.167031871370493812436425452219513702722.17.2.2 NAME 'switchboardCard'
	DESC 'a card of a personal address book' SUP top STRUCTURAL
	MUST ( switchboardName $ switchboardVCard ) )
# ---- SCIM provisioning (package web/scim) -----------------------------------
# The provisioning client's own id of a User or Group (SCIM externalId,
# RFC 7643 section 3.1), which inetOrgPerson and groupOfNames have no
# attribute for.

attributetype ( 2.25.167031871370493812436425452219513702722.3.1 NAME 'scimExternalId'
	DESC 'the SCIM provisioning client identifier of the resource'
	EQUALITY caseExactMatch SUBSTR caseExactSubstringsMatch SYNTAX LDAPsyn:15 SINGLE-VALUE )
objectclass ( 2.25.167031871370493812436425452219513702722.3.2 NAME 'scimResource' SUP top AUXILIARY
	MAY scimExternalId )
`
