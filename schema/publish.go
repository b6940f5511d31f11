package schema

import "strings"

// SubschemaAttributes returns the values of the subschema subentry's
// attributes (RFC 4512 section 4.2): attributeTypes, objectClasses,
// ldapSyntaxes, matchingRules and matchingRuleUse, keyed by those names.
// Every value is an RFC 4512 section 4.1 definition. matchingRuleUse has
// one value per matching rule that some attribute type uses as its
// EQUALITY, ORDERING or SUBSTR rule, listing those types in APPLIES.
func (s *Schema) SubschemaAttributes() map[string][]string {
	out := map[string][]string{}
	for _, a := range s.attrList {
		out["attributeTypes"] = append(out["attributeTypes"], a.String())
	}
	for _, o := range s.classList {
		out["objectClasses"] = append(out["objectClasses"], o.String())
	}
	for _, syn := range s.synList {
		out["ldapSyntaxes"] = append(out["ldapSyntaxes"], syn.String())
	}
	users := map[*MatchingRule][]string{}
	for _, a := range s.attrList {
		for _, r := range []*MatchingRule{a.Equality, a.Ordering, a.Substr} {
			if r != nil {
				users[r] = append(users[r], a.Name())
			}
		}
	}
	for _, r := range s.ruleList {
		out["matchingRules"] = append(out["matchingRules"], r.String())
		if len(users[r]) == 0 {
			continue
		}
		var b strings.Builder
		b.WriteString("( ")
		b.WriteString(r.OID)
		writeNames(&b, r.Names)
		writeOIDList(&b, "APPLIES", users[r])
		b.WriteString(" )")
		out["matchingRuleUse"] = append(out["matchingRuleUse"], b.String())
	}
	return out
}
