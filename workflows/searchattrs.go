package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// attrSources is what the search attributes are computed from.
type attrSources struct {
	stage                  Stage
	tier, plan, csm, phone string
	score                  int
	dunning                bool
}

// upsertSearchAttributes brings the search attributes in line with the state,
// sending only what changed.
func (r *journey) upsertSearchAttributes() {
	from := attrSources{r.st.Stage, r.st.HealthTier, r.st.Profile.Plan, r.st.Profile.CSM, r.st.Profile.Phone, r.st.HealthScore, r.st.Dunning != nil}
	if r.attrsInLine && from == r.attrsFrom {
		return // most tasks: a login, a timer that changed none of it
	}
	// The attributes change only by this function's upserts, so they are
	// read from the workflow once per run and tracked here after that,
	// rather than decoded at every workflow task.
	if r.searchAttrs == nil {
		r.searchAttrs = map[string]any{}
		current := workflow.GetTypedSearchAttributes(r.ctx)
		for _, k := range []temporal.SearchAttributeKeyKeyword{SearchStage, SearchTier, SearchPlan, SearchCSM, SearchPhone} {
			if v, ok := current.GetKeyword(k); ok {
				r.searchAttrs[k.GetName()] = v
			}
		}
		if v, ok := current.GetInt64(SearchScore); ok {
			r.searchAttrs[SearchScore.GetName()] = v
		}
		if v, ok := current.GetBool(SearchDunning); ok {
			r.searchAttrs[SearchDunning.GetName()] = v
		}
	}
	var updates []temporal.SearchAttributeUpdate
	type change struct {
		name  string
		value any // nil: unset
	}
	var changes []change
	set := func(k temporal.SearchAttributeKey, value any, u temporal.SearchAttributeUpdate) {
		if old, ok := r.searchAttrs[k.GetName()]; !ok || old != value {
			updates = append(updates, u)
			changes = append(changes, change{k.GetName(), value})
		}
	}
	want := func(key temporal.SearchAttributeKeyKeyword, value string) {
		if value == "" {
			if _, ok := r.searchAttrs[key.GetName()]; ok {
				updates = append(updates, key.ValueUnset())
				changes = append(changes, change{key.GetName(), nil})
			}
			return
		}
		set(key, value, key.ValueSet(value))
	}
	if r.st.Stage != StageNew {
		want(SearchStage, string(r.st.Stage))
	}
	want(SearchTier, r.st.HealthTier)
	want(SearchPlan, r.st.Profile.Plan)
	want(SearchCSM, r.st.Profile.CSM)
	if r.st.Stage != StageNew {
		score := int64(r.st.HealthScore)
		set(SearchScore, score, SearchScore.ValueSet(score))
		dunning := r.st.Dunning != nil
		set(SearchDunning, dunning, SearchDunning.ValueSet(dunning))
	}
	want(SearchPhone, r.hashPhone())
	if len(updates) == 0 {
		r.attrsFrom, r.attrsInLine = from, true
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(r.ctx, updates...); err != nil {
		r.log.Error("Cannot upsert search attributes", "Error", err)
		return // tried again at the next task
	}
	r.attrsFrom, r.attrsInLine = from, true
	for _, c := range changes {
		if c.value == nil {
			delete(r.searchAttrs, c.name)
		} else {
			r.searchAttrs[c.name] = c.value
		}
	}
}

// hashPhone is SearchPhone's value for the customer's phone: "" without a
// phone or without a lookup key on the worker. The key is the worker's,
// not the history's, so the hash is recorded (a side effect) once per
// phone per run, and a replay on a worker with another key agrees.
func (r *journey) hashPhone() string {
	phone := r.st.Profile.Phone
	if phone == "" {
		return ""
	}
	if phone == r.hashedPhone {
		return r.phoneHash
	}
	key := r.owner.lookupKey
	v := workflow.SideEffect(r.ctx, func(workflow.Context) any {
		if len(key) == 0 {
			return ""
		}
		return PhoneHash(key, phone)
	})
	var h string
	if err := v.Get(&h); err != nil {
		r.log.Error("Cannot decode the phone hash", "Error", err)
		return ""
	}
	r.hashedPhone, r.phoneHash = phone, h
	return h
}
