package change

import "testing"

func TestKindAndModOpNames(t *testing.T) {
	for k, want := range map[Kind]string{Add: "add", Modify: "modify", Delete: "delete", ModRDN: "modrdn", 0: "Kind(0)", 5: "Kind(5)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
		if k.Valid() != (want[0] != 'K') {
			t.Errorf("Kind(%d).Valid() = %v", uint8(k), k.Valid())
		}
	}
	for o, want := range map[ModOp]string{ModAdd: "add", ModDelete: "delete", ModReplace: "replace", ModIncrement: "increment", 4: "ModOp(4)"} {
		if got := o.String(); got != want {
			t.Errorf("ModOp(%d).String() = %q, want %q", uint8(o), got, want)
		}
		if o.Valid() != (want[0] != 'M') {
			t.Errorf("ModOp(%d).Valid() = %v", uint8(o), o.Valid())
		}
	}
	// RFC 4511's codes, which the protocol and the changelog carry.
	if ModAdd != 0 || ModDelete != 1 || ModReplace != 2 || ModIncrement != 3 {
		t.Error("ModOp values differ from RFC 4511's")
	}
}
