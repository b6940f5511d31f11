package scim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// A patchOp is one operation of a PATCH request (RFC 7644 section 3.5.2).
type patchOp struct {
	Op    string
	Path  string
	Value any
}

// parsePatch reads a PatchOp body. Member names and op values are
// case-insensitive ("Operations", "Replace", as Entra ID sends them).
func parsePatch(raw map[string]any) ([]patchOp, error) {
	var ops []patchOp
	seenSchema := false
	for k, v := range raw {
		switch strings.ToLower(k) {
		case "schemas":
			list, _ := v.([]any)
			for _, s := range list {
				if u, _ := s.(string); strings.EqualFold(u, URNPatchOp) {
					seenSchema = true
				}
			}
		case "operations":
			list, ok := v.([]any)
			if !ok {
				return nil, invalid("invalidSyntax", "Operations: want an array")
			}
			if len(list) > maxPatchOps {
				return nil, invalid("invalidValue", "Operations: more than %d", maxPatchOps)
			}
			for i, el := range list {
				m, ok := el.(map[string]any)
				if !ok {
					return nil, invalid("invalidSyntax", "Operations[%d]: want an object", i)
				}
				var op patchOp
				for ok, ov := range m {
					switch strings.ToLower(ok) {
					case "op":
						op.Op, _ = ov.(string)
						op.Op = strings.ToLower(op.Op)
					case "path":
						s, isStr := ov.(string)
						if !isStr {
							return nil, invalid("invalidPath", "Operations[%d].path: want a string", i)
						}
						op.Path = strings.TrimSpace(s)
					case "value":
						op.Value = ov
					default:
						return nil, invalid("invalidSyntax", "Operations[%d]: unknown member %q", i, ok)
					}
				}
				if op.Op != "add" && op.Op != "replace" && op.Op != "remove" {
					return nil, invalid("invalidSyntax", "Operations[%d].op: want add, replace or remove", i)
				}
				ops = append(ops, op)
			}
		default:
			return nil, invalid("invalidSyntax", "unknown member %q of a PatchOp", k)
		}
	}
	if !seenSchema {
		return nil, invalid("invalidSyntax", "schemas: want [%q]", URNPatchOp)
	}
	if len(ops) == 0 {
		return nil, invalid("invalidSyntax", "Operations: none")
	}
	return ops, nil
}

// A patchPath is a parsed PATCH path: attrPath [valFilter] [.subAttr].
type patchPath struct {
	AttrPath
	Filter *Filter
}

// ParsePatchPath parses a PATCH operation's path (RFC 7644 section
// 3.5.2): an attribute path, optionally a value filter in brackets, and
// after it optionally a sub-attribute.
func ParsePatchPath(s string) (patchPath, error) {
	var pp patchPath
	if len(s) > maxPatchPath {
		return pp, fmt.Errorf("%w: path longer than %d bytes", ErrFilter, maxPatchPath)
	}
	p := &filterParser{s: s}
	w := p.word()
	path, err := parseAttrPath(w)
	if err != nil {
		return pp, fmt.Errorf("%w: %v", ErrFilter, err)
	}
	pp.AttrPath = path
	if p.i < len(p.s) && p.s[p.i] == '[' {
		if path.Sub != "" {
			return pp, p.errf("a value filter follows an attribute, not a sub-attribute")
		}
		p.i++
		if pp.Filter, err = p.or(1, true); err != nil {
			return pp, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ']' {
			return pp, p.errf("missing ]")
		}
		p.i++
		if p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
			sub := p.word()
			if !validAttrName(sub) {
				return pp, p.errf("sub-attribute expected after ]., not %q", sub)
			}
			pp.Sub = sub
		}
	}
	if p.i < len(p.s) {
		return pp, p.errf("unexpected %q", p.rest())
	}
	return pp, nil
}

// applyPatch applies ops to doc, a resource's canonical JSON.
func applyPatch(rt *resourceType, doc map[string]any, ops []patchOp) error {
	for i, op := range ops {
		var err error
		if op.Path == "" {
			err = patchNoPath(rt, doc, op)
		} else {
			err = patchPathOp(rt, doc, op)
		}
		if err != nil {
			if br, ok := err.(*badRequest); ok {
				br.detail = fmt.Sprintf("Operations[%d]: %s", i, br.detail)
			}
			return err
		}
	}
	return nil
}

// patchNoPath: add or replace with an object of attributes as value.
func patchNoPath(rt *resourceType, doc map[string]any, op patchOp) error {
	if op.Op == "remove" {
		return invalid("noTarget", "remove needs a path")
	}
	m, ok := op.Value.(map[string]any)
	if !ok {
		return invalid("invalidSyntax", "%s without a path: want an object as value", op.Op)
	}
	vals, err := canon(rt, m)
	if err != nil {
		return err
	}
	for k, v := range vals {
		if ev, isExt := v.(map[string]any); isExt && strings.HasPrefix(k, "urn:") {
			target, _ := doc[k].(map[string]any)
			if target == nil {
				target = map[string]any{}
				doc[k] = target
			}
			ext := extSchema(rt, k)
			for sk, sv := range ev {
				setAttr(target, ext.attr(sk), sv, op.Op)
			}
			continue
		}
		setAttr(doc, findAttr(rt.Schema, k), v, op.Op)
	}
	// Attributes given as null in the value are cleared.
	for k, v := range m {
		if v == nil {
			if def := findAttr(rt.Schema, k); def != nil && def.Mutability != "readOnly" {
				delete(doc, def.Name)
			}
		}
	}
	return nil
}

func extSchema(rt *resourceType, urn string) *schemaDef {
	for _, e := range rt.Ext {
		if e.ID == urn {
			return e
		}
	}
	return nil
}

// setAttr adds or replaces attribute def in target with the canonical
// value v: add appends to a multi-valued attribute, and both merge a
// complex single-valued one (RFC 7644 section 3.5.2.1, 3.5.2.3).
func setAttr(target map[string]any, def *attrDef, v any, op string) {
	if def == nil {
		return
	}
	switch {
	case def.Multi:
		list, _ := v.([]any)
		if op == "add" {
			cur, _ := target[def.Name].([]any)
			for _, el := range list {
				if !containsValue(cur, el) {
					cur = append(cur, el)
				}
			}
			list = cur
		}
		target[def.Name] = list
	case def.Type == "complex":
		cur, _ := target[def.Name].(map[string]any)
		if cur == nil {
			cur = map[string]any{}
		}
		for k, sv := range v.(map[string]any) {
			cur[k] = sv
		}
		target[def.Name] = cur
	default:
		target[def.Name] = v
	}
}

// containsValue: an element with the same value (or equal, without one).
func containsValue(list []any, el any) bool {
	em, _ := el.(map[string]any)
	for _, c := range list {
		cm, _ := c.(map[string]any)
		if em != nil && cm != nil && em["value"] != nil {
			if strings.EqualFold(fmt.Sprint(cm["value"]), fmt.Sprint(em["value"])) {
				return true
			}
			continue
		}
		if reflect.DeepEqual(c, el) {
			return true
		}
	}
	return false
}

// patchPathOp applies an operation with a path.
func patchPathOp(rt *resourceType, doc map[string]any, op patchOp) error {
	pp, err := ParsePatchPath(op.Path)
	if err != nil {
		return invalid("invalidPath", "path %q: %v", op.Path, err)
	}
	target := doc
	s := rt.Schema
	var def *attrDef
	if pp.URN != "" && !strings.EqualFold(pp.URN, rt.Schema.ID) {
		s = nil
		for _, e := range rt.Ext {
			if strings.EqualFold(pp.URN, e.ID) {
				s = e
			}
		}
		if s == nil {
			return invalid("invalidPath", "%s: no such schema for %s resources", pp.URN, rt.Name)
		}
		def = s.attr(pp.Attr)
		if def != nil {
			ext, _ := doc[s.ID].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
				doc[s.ID] = ext
			}
			target = ext
		}
	} else {
		def = findAttr(s, pp.Attr)
	}
	if def == nil {
		return invalid("invalidPath", "%s is not an attribute of %s", pp.AttrPath, rt.Name)
	}
	if def.Mutability == "readOnly" {
		return invalid("mutability", "%s is read-only", def.Name)
	}
	if def.Dropped {
		return nil // accepted, not stored
	}
	var sub *attrDef
	if pp.Sub != "" {
		if sub = def.sub(pp.Sub); sub == nil {
			return invalid("invalidPath", "%s.%s is not an attribute", def.Name, pp.Sub)
		}
		if sub.Dropped {
			return nil
		}
	}
	if pp.Filter != nil {
		if !def.Multi {
			return invalid("invalidPath", "%s is not multi-valued: no value filter", def.Name)
		}
		return patchFiltered(target, def, sub, pp.Filter, op)
	}
	if op.Op == "remove" {
		switch {
		case sub != nil && def.Multi:
			for _, el := range objectsOf(target[def.Name]) {
				delete(el, sub.Name)
			}
		case sub != nil:
			if m, ok := target[def.Name].(map[string]any); ok {
				delete(m, sub.Name)
			}
		case def.Multi && op.Value != nil:
			// Entra ID: remove members listed in value.
			gone, err := canonValue(def, wrapList(op.Value), def.Name)
			if err != nil {
				return err
			}
			var keep []any
			for _, el := range asList(target[def.Name]) {
				if !containsValue(asList(gone), el) {
					keep = append(keep, el)
				}
			}
			target[def.Name] = keep
		default:
			delete(target, def.Name)
		}
		return nil
	}
	if sub != nil {
		v, err := canonValue(sub, op.Value, def.Name+"."+sub.Name)
		if err != nil {
			return err
		}
		if def.Multi {
			for _, el := range objectsOf(target[def.Name]) {
				setOrDelete(el, sub.Name, v)
			}
			return nil
		}
		m, _ := target[def.Name].(map[string]any)
		if m == nil {
			m = map[string]any{}
			target[def.Name] = m
		}
		setOrDelete(m, sub.Name, v)
		return nil
	}
	val := op.Value
	if def.Multi {
		val = wrapList(val)
	} else if s, isStr := val.(string); isStr && def.Type == "complex" && def.sub("value") != nil {
		val = map[string]any{"value": s} // Entra ID: manager as an id
	}
	v, err := canonValue(def, val, def.Name)
	if err != nil {
		return err
	}
	if v == nil {
		delete(target, def.Name)
		return nil
	}
	setAttr(target, def, v, op.Op)
	return nil
}

// patchFiltered applies an operation to the elements of a multi-valued
// attribute that a value filter selects. add and replace with a filter
// that selects none create the element when the filter is one equality
// (emails[type eq "work"].value), as Entra ID and Okta expect; remove of
// nothing does nothing.
func patchFiltered(target map[string]any, def, sub *attrDef, f *Filter, op patchOp) error {
	list := asList(target[def.Name])
	var matched []map[string]any
	var keep []any
	for _, el := range list {
		m, ok := el.(map[string]any)
		if ok && f.match(m) {
			matched = append(matched, m)
			if op.Op == "remove" && sub == nil {
				continue
			}
		}
		keep = append(keep, el)
	}
	if op.Op == "remove" {
		if sub != nil {
			for _, m := range matched {
				delete(m, sub.Name)
			}
		}
		target[def.Name] = keep
		return nil
	}
	if len(matched) == 0 {
		if f.Op != "eq" || f.Path.Sub != "" || f.Path.URN != "" {
			return invalid("noTarget", "no value of %s matches %s", def.Name, f)
		}
		fd := def.sub(f.Path.Attr)
		if fd == nil {
			return invalid("invalidPath", "%s.%s is not an attribute", def.Name, f.Path.Attr)
		}
		el := map[string]any{fd.Name: f.Value}
		list = append(list, el)
		target[def.Name] = list
		matched = []map[string]any{el}
	}
	for _, m := range matched {
		if sub != nil {
			v, err := canonValue(sub, op.Value, def.Name+"."+sub.Name)
			if err != nil {
				return err
			}
			setOrDelete(m, sub.Name, v)
			continue
		}
		one := *def
		one.Multi = false
		v, err := canonValue(&one, op.Value, def.Name)
		if err != nil {
			return err
		}
		vm, _ := v.(map[string]any)
		for k, sv := range vm {
			m[k] = sv
		}
	}
	return nil
}

func setOrDelete(m map[string]any, k string, v any) {
	if v == nil {
		delete(m, k)
		return
	}
	m[k] = v
}

func wrapList(v any) any {
	if v == nil {
		return nil
	}
	if _, ok := v.([]any); ok {
		return v
	}
	return []any{v}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func objectsOf(v any) []map[string]any { return objects(v) }

// decodeJSON decodes a body with numbers kept as json.Number.
func decodeJSON(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, invalid("invalidSyntax", "the body is not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, invalid("invalidSyntax", "the body holds more than one JSON value")
	}
	if m == nil {
		return nil, invalid("invalidSyntax", "the body is not a JSON object")
	}
	return m, nil
}
