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

// Compare orders x before (-1), with (0) or after (1) y under an
// ordering rule; other rules cannot compare.
func (m *MatchingRule) Compare(x, y []byte) (int, error) {
	if m.compare == nil {
		return 0, errNoComparer
	}
	return m.compare(x, y)
}

type ruleError string

func (e ruleError) Error() string { return string(e) }

const (
	errNoNormalizer = ruleError("schema: matching rule has no normal form")
	errNoComparer   = ruleError("schema: matching rule has no order")
)
