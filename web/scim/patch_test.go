package scim

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func doc(t *testing.T, s string) map[string]any {
	t.Helper()
	m, err := decodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestApplyPatch(t *testing.T) {
	user := `{"userName": "bjensen", "name": {"givenName": "Barbara", "familyName": "Jensen"},
		"emails": [{"value": "bj@example.com", "type": "work", "primary": true}], "active": true,
		"groups": [{"value": "g"}], "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour"}}`
	cases := []struct {
		name, rt, start, ops, want string
	}{
		{"replace a simple attribute", "User", user, `{"op": "replace", "path": "title", "value": "Boss"}`,
			`{"title": "Boss"}`},
		{"replace a sub-attribute", "User", user, `{"op": "Replace", "path": "name.familyName", "value": "Smith"}`,
			`{"name": {"givenName": "Barbara", "familyName": "Smith"}}`},
		{"replace through a value filter", "User", user, `{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}`,
			`{"emails": [{"value": "new@example.com", "type": "work", "primary": true}]}`},
		{"add through a value filter that matches nothing", "User", user, `{"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "1"}`,
			`{"phoneNumbers": [{"type": "mobile", "value": "1"}]}`},
		{"add to a multi-valued attribute", "User", user, `{"op": "add", "path": "emails", "value": [{"value": "b2@example.com"}]}`,
			`{"emails": [{"value": "bj@example.com", "type": "work", "primary": true}, {"value": "b2@example.com"}]}`},
		{"add what is there", "User", user, `{"op": "add", "path": "emails", "value": [{"value": "BJ@example.com"}]}`,
			`{"emails": [{"value": "bj@example.com", "type": "work", "primary": true}]}`},
		{"remove by a value filter", "User", user, `{"op": "remove", "path": "emails[value eq \"bj@example.com\"]"}`,
			`{"emails": null}`},
		{"remove a sub-attribute", "User", user, `{"op": "remove", "path": "name.givenName"}`,
			`{"name": {"familyName": "Jensen"}}`},
		{"no path: replace", "User", user, `{"op": "replace", "value": {"active": false, "displayName": "BJ"}}`,
			`{"active": false, "displayName": "BJ"}`},
		{"no path: extension attribute by URN", "User", user,
			`{"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Ops"}}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops"}}`},
		{"no path: merge a complex attribute", "User", user, `{"op": "add", "value": {"name": {"givenName": "Babs"}}}`,
			`{"name": {"givenName": "Babs", "familyName": "Jensen"}}`},
		{"extension path", "User", user, `{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "7"}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour", "employeeNumber": "7"}}`},
		{"manager as an id", "User", user, `{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m1"}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour", "manager": {"value": "m1"}}}`},
		{"active as a string", "User", user, `{"op": "Replace", "path": "active", "value": "False"}`, `{"active": false}`},
		{"a dropped attribute", "User", user, `{"op": "add", "path": "nickName", "value": "Babs"}`, `{}`},
		{"remove members listed in value", "Group", `{"displayName": "g", "members": [{"value": "a"}, {"value": "b"}]}`,
			`{"op": "Remove", "path": "members", "value": [{"value": "a", "$ref": null}]}`, `{"members": [{"value": "b"}]}`},
		{"remove every member", "Group", `{"displayName": "g", "members": [{"value": "a"}]}`,
			`{"op": "remove", "path": "members"}`, `{"members": null}`},
		{"replace members", "Group", `{"displayName": "g", "members": [{"value": "a"}]}`,
			`{"op": "replace", "path": "members", "value": [{"value": "c"}]}`, `{"members": [{"value": "c"}]}`},
		{"remove a member not there", "Group", `{"displayName": "g", "members": [{"value": "a"}]}`,
			`{"op": "remove", "path": "members[value eq \"zz\"]"}`, `{"members": [{"value": "a"}]}`},
	}
	for _, tc := range cases {
		rt := userType
		if tc.rt == "Group" {
			rt = groupType
		}
		d := doc(t, tc.start)
		ops, err := parsePatch(doc(t, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [`+tc.ops+`]}`))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if err := applyPatch(rt, d, ops); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		for k, want := range doc(t, tc.want) {
			got := d[k]
			if want == nil {
				if l, ok := got.([]any); got != nil && !(ok && len(l) == 0) {
					t.Errorf("%s: %s = %v, want none", tc.name, k, got)
				}
				continue
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			var g, w any
			json.Unmarshal(gb, &g)
			json.Unmarshal(wb, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s: %s = %s, want %s", tc.name, k, gb, wb)
			}
		}
		if tc.want == `{}` && d["nickName"] != nil {
			t.Errorf("%s: a dropped attribute was kept", tc.name)
		}
	}
}

func TestApplyPatchErrors(t *testing.T) {
	for _, tc := range []struct{ ops, scimType string }{
		{`{"op": "remove"}`, "noTarget"},
		{`{"op": "replace", "value": "x"}`, "invalidSyntax"},
		{`{"op": "replace", "path": "groups", "value": []}`, "mutability"},
		{`{"op": "replace", "path": "id", "value": "x"}`, "mutability"},
		{`{"op": "replace", "path": "nope", "value": "x"}`, "invalidPath"},
		{`{"op": "replace", "path": "name.nope", "value": "x"}`, "invalidPath"},
		{`{"op": "replace", "path": "title[value eq \"x\"]", "value": "x"}`, "invalidPath"},
		{`{"op": "replace", "path": "emails[value", "value": "x"}`, "invalidPath"},
		{`{"op": "replace", "path": "urn:nope:x", "value": "x"}`, "invalidPath"},
		{`{"op": "replace", "path": "emails[value sw \"q\"].type", "value": "work"}`, "noTarget"},
		{`{"op": "replace", "path": "title", "value": 3}`, "invalidSyntax"},
		{`{"op": "replace", "path": "emails", "value": [3]}`, "invalidSyntax"},
		{`{"op": "replace", "value": {"nope": 1}}`, "invalidValue"},
	} {
		d := doc(t, `{"userName": "u", "emails": [{"value": "a@b"}]}`)
		ops, err := parsePatch(doc(t, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [`+tc.ops+`]}`))
		if err == nil {
			err = applyPatch(userType, d, ops)
		}
		var br *badRequest
		if !errors.As(err, &br) || br.scimType != tc.scimType {
			t.Errorf("%s: %v, want %s", tc.ops, err, tc.scimType)
		}
	}
	for _, body := range []string{`{"Operations": []}`, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`,
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "move"}]}`,
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": {}}`,
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": 1}]}`,
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "extra": 1}]}`} {
		if _, err := parsePatch(doc(t, body)); err == nil {
			t.Errorf("%s: no error", body)
		}
	}
}

func TestToLDAP(t *testing.T) {
	d, err := canon(userType, doc(t, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bj", "externalId": "E",
		"name": {"givenName": "B", "familyName": "J"}, "emails": [{"value": "2@x"}, {"value": "1@x", "primary": true}],
		"phoneNumbers": [{"value": "5", "type": "Mobile"}, {"value": "6"}], "addresses": [{"locality": "Oslo", "country": "NO"}],
		"active": false, "password": "pw", "locale": "nb", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
		{"department": "D", "manager": {"value": "`+aliceID+`"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := toLDAP(userType, d, fakeResolver{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"uid": {"bj"}, "scimexternalid": {"E"}, "givenname": {"B"}, "sn": {"J"}, "cn": {"B J"},
		"mail": {"1@x", "2@x"}, "mobile": {"5"}, "telephonenumber": {"6"}, "l": {"Oslo"}, "departmentnumber": {"D"}, "manager": {aliceDN}}
	if !reflect.DeepEqual(st.attrs, want) || st.active == nil || *st.active || st.password != "pw" {
		t.Errorf("toLDAP: %v active %v password %q", st.attrs, st.active, st.password)
	}
	// sn and cn made up from userName.
	st, _ = toLDAP(userType, map[string]any{"userName": "x"}, fakeResolver{})
	if !reflect.DeepEqual(st.attrs, map[string][]string{"uid": {"x"}, "sn": {"x"}, "cn": {"x"}}) {
		t.Errorf("minimal user: %v", st.attrs)
	}
	g, _ := canon(groupType, doc(t, `{"displayName": "staff", "members": [{"value": "`+aliceID+`"}, {"value": "`+staffID+`", "type": "Group"}]}`))
	st, err = toLDAP(groupType, g, fakeResolver{})
	if err != nil || !reflect.DeepEqual(st.attrs["member"], []string{aliceDN, staffDN}) {
		t.Errorf("group: %v %v", st, err)
	}
}

// FuzzPatch applies arbitrary PatchOp bodies to a user: no panic, and
// what applies maps to LDAP or fails with a badRequest.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@y"}]}`,
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "value": {"active": "False", "name": {"givenName": "Z"}}}]}`,
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "remove", "path": "members[value eq \"a\"]"}]}`,
		`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "a"}]}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		raw, err := decodeJSON([]byte(body))
		if err != nil {
			return
		}
		ops, err := parsePatch(raw)
		if err != nil {
			return
		}
		for _, rt := range []*resourceType{userType, groupType} {
			d := map[string]any{"userName": "u", "displayName": "g", "emails": []any{map[string]any{"value": "a@b", "type": "work"}},
				"members": []any{map[string]any{"value": aliceID}}}
			if err := applyPatch(rt, d, ops); err != nil {
				var br *badRequest
				if !errors.As(err, &br) {
					t.Fatalf("%s: %v is not a badRequest", body, err)
				}
				continue
			}
			if _, err := toLDAP(rt, d, fakeResolver{}); err != nil {
				var br *badRequest
				if !errors.As(err, &br) {
					t.Fatalf("%s: toLDAP: %v", body, err)
				}
			}
		}
	})
}
