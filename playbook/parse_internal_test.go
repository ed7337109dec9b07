package playbook

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests call decode, Parse without validation, so that they do not
// depend on which message templates exist.

// A list or map the file sets is exactly what the file says: never mixed
// with the default's elements at the same index, nor with its keys.
func TestFileListsAndMapsReplaceTheDefaults(t *testing.T) {
	cases := map[string]struct {
		yaml string
		got  func(Playbook) any
		want any
	}{
		"onboarding.milestones": {"onboarding:\n  milestones: [only]\n",
			func(p Playbook) any { return p.Onboarding.Milestones }, []string{"only"}},
		"onboarding.steps": {"onboarding:\n  steps:\n    - {name: only, day: 2, sms: onboarding_nudge}\n",
			func(p Playbook) any { return p.Onboarding.Steps }, []Step{{Name: "only", Day: 2, SMS: "onboarding_nudge"}}},
		"renewal.steps": {"renewal:\n  steps:\n    - {name: only, day: -1, sms: renewal_sms}\n",
			func(p Playbook) any { return p.Renewal.Steps }, []Step{{Name: "only", Day: -1, SMS: "renewal_sms"}}},
		"dunning.steps": {"dunning:\n  steps:\n    - {name: only, day: 1, csm_alert: payment_failing}\n",
			func(p Playbook) any { return p.Dunning.Steps }, []Step{{Name: "only", Day: 1, CSMAlert: "payment_failing"}}},
		"win_back.steps": {"win_back:\n  steps:\n    - {name: only, day: 5, sms: winback}\n",
			func(p Playbook) any { return p.WinBack.Steps }, []Step{{Name: "only", Day: 5, SMS: "winback"}}},
		"adoption.tips": {"adoption:\n  tips: [One tip.]\n",
			func(p Playbook) any { return p.Adoption.Tips }, []string{"One tip."}},
		"cancellation.save_offers": {"cancellation:\n  save_offers: {other: save_offer_other}\n",
			func(p Playbook) any { return p.Cancellation.SaveOffers }, map[string]string{"other": "save_offer_other"}},
		"empty save_offers": {"cancellation:\n  save_offers: {}\n",
			func(p Playbook) any { return p.Cancellation.SaveOffers }, map[string]string{}},
		"empty renewal.steps": {"renewal:\n  steps: []\n",
			func(p Playbook) any { return p.Renewal.Steps }, []Step{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := decode([]byte(tc.yaml), ".yaml")
			require.NoError(t, err)
			assert.Equal(t, tc.want, tc.got(p))
		})
	}
}

// The reset is generic: for every list and map field of the playbook,
// found by walking its type, a file setting one zero-valued element gets
// exactly that element. A list or map field added later is covered too.
func TestEveryListAndMapFieldIsReplaced(t *testing.T) {
	fields := collectionFields(reflect.TypeFor[Playbook](), nil)
	require.GreaterOrEqual(t, len(fields), 7, "the walk found the playbook's lists and maps")
	for _, f := range fields {
		t.Run(strings.Join(f.path, "."), func(t *testing.T) {
			var want reflect.Value
			var value any
			if f.typ.Kind() == reflect.Slice {
				want = reflect.Append(reflect.MakeSlice(f.typ, 0, 1), reflect.Zero(f.typ.Elem()))
				value = []any{jsonValue(t, reflect.Zero(f.typ.Elem()).Interface())}
			} else {
				want = reflect.MakeMap(f.typ)
				want.SetMapIndex(reflect.ValueOf("k"), reflect.Zero(f.typ.Elem()))
				value = map[string]any{"k": jsonValue(t, reflect.Zero(f.typ.Elem()).Interface())}
			}
			for i := len(f.path) - 1; i >= 0; i-- {
				value = map[string]any{f.path[i]: value}
			}
			raw, err := json.Marshal(value)
			require.NoError(t, err)
			p, err := decode(raw, ".json")
			require.NoError(t, err)
			assert.Equal(t, want.Interface(), fieldAt(reflect.ValueOf(p), f.path).Interface(), "decoded from %s", raw)
		})
	}
}

// Fields the file leaves out keep their defaults, lists included, and so
// do the other fields of a section whose list the file sets.
func TestListsTheFileLeavesOutKeepTheDefaults(t *testing.T) {
	p, err := decode([]byte("renewal:\n  close_after_days: 5\ndunning:\n  steps:\n    - {name: only, day: 1, email: payment_failed}\n"), ".yaml")
	require.NoError(t, err)
	d := Default()
	assert.Equal(t, 5, p.Renewal.CloseAfterDays)
	assert.Equal(t, d.Renewal.Steps, p.Renewal.Steps)
	assert.Equal(t, d.Dunning.SuspendAfterDays, p.Dunning.SuspendAfterDays)
	assert.Equal(t, d.Dunning.RecoveredEmail, p.Dunning.RecoveredEmail)
	assert.Equal(t, d.Cancellation.SaveOffers, p.Cancellation.SaveOffers)
	assert.Equal(t, d.Adoption.Tips, p.Adoption.Tips)
	assert.Equal(t, d.Onboarding, p.Onboarding)
}

// Decoding never changes Default's own lists and maps.
func TestDecodeLeavesTheDefaultsAlone(t *testing.T) {
	_, err := decode([]byte(`{"cancellation":{"save_offers":{"other":"x"}},"adoption":{"tips":["t"]}}`), ".json")
	require.NoError(t, err)
	assert.Len(t, Default().Cancellation.SaveOffers, 3)
	assert.Len(t, Default().Adoption.Tips, 3)
}

type collectionField struct {
	path []string
	typ  reflect.Type
}

func collectionFields(t reflect.Type, path []string) []collectionField {
	var out []collectionField
	for i := range t.NumField() {
		name := jsonName(t.Field(i))
		if name == "" {
			continue
		}
		at := append(append([]string(nil), path...), name)
		switch ft := t.Field(i).Type; ft.Kind() {
		case reflect.Slice, reflect.Map:
			out = append(out, collectionField{at, ft})
		case reflect.Struct:
			out = append(out, collectionFields(ft, at)...)
		}
	}
	return out
}

func fieldAt(v reflect.Value, path []string) reflect.Value {
	for _, name := range path {
		i, exact := fieldByJSONName(v.Type(), name)
		if i < 0 || !exact {
			panic("no field " + name)
		}
		v = v.Field(i)
	}
	return v
}

func jsonValue(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}
