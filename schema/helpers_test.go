package schema

import (
	"sync"
	"testing"
)

var (
	defaultOnce   sync.Once
	defaultSchema *Schema
	defaultErr    error
)

func mustDefault(t testing.TB) *Schema {
	t.Helper()
	defaultOnce.Do(func() { defaultSchema, defaultErr = Default() })
	if defaultErr != nil {
		t.Fatalf("Default: %v", defaultErr)
	}
	return defaultSchema
}

func mustAttr(t testing.TB, s *Schema, name string) *AttributeType {
	t.Helper()
	a, ok := s.Attribute(name)
	if !ok {
		t.Fatalf("attribute %s not found", name)
	}
	return a
}
