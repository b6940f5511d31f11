package main

// Unknown keys in the configuration file: viper ignores them, so a typo
// (replication.multi_suplier) silently runs with the default. checkKeys
// compares the file's keys with the Config struct's mapstructure tags and
// names the first unknown one with its line and the nearest valid key.

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxKeyDepth bounds the walk (aliases can nest a document deeply).
const maxKeyDepth = 32

// checkKeys reports the first key of the YAML (or JSON) document data,
// read from file, that Config does not have.
func checkKeys(file string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil // viper has read it; its own error, if any, stands
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return walkKeys(file, doc.Content[0], reflect.TypeOf(Config{}), "", 0)
}

func walkKeys(file string, n *yaml.Node, t reflect.Type, path string, depth int) error {
	if depth > maxKeyDepth {
		return nil
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		switch n.Kind {
		case yaml.MappingNode:
		case yaml.SequenceNode:
			// A merge key's value may be a list of mappings.
			for _, c := range n.Content {
				if err := walkKeys(file, c, t, path, depth+1); err != nil {
					return err
				}
			}
			return nil
		default:
			return nil // a type error, which viper reports
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				if err := walkKeys(file, v, t, path, depth+1); err != nil {
					return err
				}
				continue
			}
			name := strings.ToLower(k.Value)
			f, ok := fieldByTag(t, name)
			if !ok {
				full := joinKey(path, name)
				msg := fmt.Sprintf("config %s:%d: unknown key %s", file, k.Line, full)
				if near := nearestKey(full); near != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", near)
				}
				return fmt.Errorf("%s", msg)
			}
			if err := walkKeys(file, v, f.Type, joinKey(path, name), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := walkKeys(file, n.Content[i+1], t.Elem(), joinKey(path, strings.ToLower(n.Content[i].Value)), depth+1); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for _, c := range n.Content {
			if err := walkKeys(file, c, t.Elem(), path+"[]", depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldByTag finds the field of struct t whose mapstructure name is name,
// looking into embedded structs tagged ",squash" as mapstructure does.
func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if squashed(f) {
			if g, ok := fieldByTag(f.Type, name); ok {
				return g, true
			}
			continue
		}
		if tagName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// squashed reports whether f is an embedded struct whose fields
// mapstructure reads as the outer struct's own.
func squashed(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	return f.Anonymous && f.Type.Kind() == reflect.Struct && strings.Contains(opts, "squash")
}

func tagName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if tag == "" {
		return strings.ToLower(f.Name)
	}
	return tag
}

func joinKey(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// configKeys lists every key Config has, dotted, with "[]" for the
// elements of a list (replication.peers[].url).
func configKeys() []string {
	var keys []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t.Kind() == reflect.Struct:
			if path != "" {
				keys = append(keys, path)
			}
			for i := range t.NumField() {
				f := t.Field(i)
				if squashed(f) {
					for j := range f.Type.NumField() {
						g := f.Type.Field(j)
						walk(g.Type, joinKey(path, tagName(g)))
					}
					continue
				}
				walk(f.Type, joinKey(path, tagName(f)))
			}
			return
		case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
			keys = append(keys, path)
			walk(t.Elem(), path+"[]")
			return
		}
		keys = append(keys, path)
	}
	walk(reflect.TypeOf(Config{}), "")
	sort.Strings(keys)
	return keys
}

// nearestKey returns the valid key closest to key by edit distance, or ""
// when none is close enough to be the one meant.
func nearestKey(key string) string {
	best, bestD := "", len(key)/3+2
	for _, k := range configKeys() {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the edit distance between a and b in bytes, counting
// an insertion, a deletion, a substitution and a swap of two neighbours
// (the commonest typo) as one each.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			c := d[i-1][j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			d[i][j] = min(c, d[i-1][j]+1, d[i][j-1]+1)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
