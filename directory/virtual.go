package directory

import (
	"github.com/RoaringBitmap/roaring/v2"

	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/schema"
)

// VirtualAttribute is an attribute whose values are computed when an entry
// is read instead of being stored, like memberOf, which the memberof
// overlay derives from the groups' member values. Filters can test it and
// the planner asks it for candidates, so (memberOf=G) stays an index-speed
// lookup.
type VirtualAttribute interface {
	// Name is the attribute type's name in the schema.
	Name() string
	// Values computes the attribute's values for en.
	Values(r Reader, en *Entry) ([][]byte, error)
	// Holders returns, in ascending order, the IDs of the entries whose
	// values include value.
	Holders(r Reader, value []byte) ([]ID, error)
}

// virtual returns the virtual attribute of type at, or nil.
func (e *Engine) virtual(at *schema.AttributeType) VirtualAttribute {
	if at == nil {
		return nil
	}
	return e.virtuals[at]
}

// addVirtual appends the virtual attributes' values to en.
func (e *Engine) addVirtual(v *View, en *Entry) {
	for _, va := range e.virtualList {
		vals, err := va.Values(v, en)
		if err != nil {
			e.log.Warn("computing a virtual attribute", "attr", va.Name(), "dn", en.DN, "err", err)
			continue
		}
		if len(vals) > 0 {
			en.Attrs = append(en.Attrs, Attr{Name: va.Name(), Values: vals})
		}
	}
}

// planVirtual plans an equality item on a virtual attribute.
func (e *Engine) planVirtual(v *View, va VirtualAttribute, value []byte) *plan {
	ids, err := va.Holders(v, value)
	if err != nil {
		return nil
	}
	bm := roaring.New()
	for _, id := range ids {
		if id <= 0xFFFFFFFF {
			bm.Add(uint32(id))
		}
	}
	return &plan{bm: bm, est: int(bm.GetCardinality())}
}

// holders returns the IDs of entries whose attribute at holds the
// normalised value, from a virtual attribute or the equality index.
func (e *Engine) holders(v *View, r index.Reader, at *schema.AttributeType, value []byte, fn func(uint64) bool) bool {
	if va := e.virtual(at); va != nil {
		ids, err := va.Holders(v, value)
		if err != nil {
			return false
		}
		for _, id := range ids {
			if !fn(uint64(id)) {
				break
			}
		}
		return true
	}
	a := e.ready(at)
	if !a.Has(index.Equality) {
		return false
	}
	r.Scan(a.EqualityPrefix(value), fn)
	return true
}
