package schema

// Normalize returns the normal form of v under an equality or substring
// rule, for extensible match (RFC 4511 4.5.1.7.7), where the rule is named
// directly rather than reached through an attribute type.
func (m *MatchingRule) Normalize(v []byte) ([]byte, error) {
	if m.norm == nil {
		return nil, errNoNormalizer
	}
	return m.norm(v)
}

type ruleError string

func (e ruleError) Error() string { return string(e) }

const errNoNormalizer = ruleError("schema: matching rule has no normal form")
