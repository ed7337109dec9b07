package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/journeyshq/journeys/playbook"
	"github.com/journeyshq/journeys/signals"
	"github.com/journeyshq/journeys/workflows"
)

// The search attributes follow the state, and an upsert carries only what
// changed: operators filter on them, and every upsert is a history event.
func TestSearchAttributesFollowTheStateWithoutRepeats(t *testing.T) {
	h := newHarness(t, quiet())
	var (
		model   = map[string]any{} // the attributes as the upserts left them
		dunning []any              // every InDunning value upserted
	)
	keywords := []temporal.SearchAttributeKeyKeyword{workflows.SearchStage, workflows.SearchTier, workflows.SearchPlan, workflows.SearchCSM}
	h.onEnv = func(env *testsuite.TestWorkflowEnvironment) {
		clear(model) // a new run starts without attributes in the test environment
		env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
			sa := args.Get(0).(temporal.SearchAttributes)
			upsert := map[string]any{}
			for _, k := range keywords {
				if v, ok := sa.GetKeyword(k); ok {
					upsert[k.GetName()] = v
				} else if sa.ContainsKey(k) {
					upsert[k.GetName()] = nil
				}
			}
			if v, ok := sa.GetInt64(workflows.SearchScore); ok {
				upsert[workflows.SearchScore.GetName()] = v
			}
			if v, ok := sa.GetBool(workflows.SearchDunning); ok {
				upsert[workflows.SearchDunning.GetName()] = v
				dunning = append(dunning, v)
			}
			assert.NotEmpty(t, upsert, "an upsert with nothing in it")
			for name, v := range upsert {
				old, had := model[name]
				assert.False(t, had && old == v, "%s upserted again with the same value %v", name, v)
				if v == nil {
					delete(model, name)
				} else {
					model[name] = v
				}
			}
		})
	}
	activeCustomer(h, "+15551234567", 20*day)
	h.event(2*day, "e-pf", signals.PaymentFailed, paymentFailed("in_1"))
	h.event(4*day, "e-paid", signals.PaymentSucceeded, paid("in_1"))
	h.event(6*day, "e-plan", signals.PlanChanged, signals.PlanChangedData{Plan: "enterprise"})
	st := h.run(8 * day)

	assert.Equal(t, []any{false, true, false}, dunning, "InDunning: off, on at the failed payment, off at the payment")
	assert.Equal(t, map[string]any{
		"JourneyStage": string(workflows.StageAdoption), "HealthTier": st.HealthTier, "Plan": "enterprise",
		"CsmId": "U0CSM01", "HealthScore": int64(st.HealthScore), "InDunning": false,
	}, model)
	assert.Equal(t, playbook.TierHealthy, st.HealthTier)
}

// With a lookup key, a journey sets PhoneHash from the customer's phone,
// follows a new number and unsets it when the phone is removed; the
// number itself never reaches visibility.
func TestPhoneHashFollowsThePhone(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	h := newHarness(t, quiet())
	h.journey.SetLookupKey(key)
	var phones []any
	h.onEnv = func(env *testsuite.TestWorkflowEnvironment) {
		env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
			sa := args.Get(0).(temporal.SearchAttributes)
			if v, ok := sa.GetKeyword(workflows.SearchPhone); ok {
				phones = append(phones, v)
			} else if sa.Size() == 0 {
				// The typed attributes hide unset keys; an upsert that
				// shows nothing unsets, and only PhoneHash unsets here.
				phones = append(phones, nil)
			}
		})
	}
	activeCustomer(h, "+15551234567", 6*day)
	newPhone, noPhone := "+15557654321", ""
	h.event(2*day, "e-p1", signals.ProfileUpdated, signals.ProfileUpdatedData{Phone: &newPhone})
	h.event(4*day, "e-p2", signals.ProfileUpdated, signals.ProfileUpdatedData{Phone: &noPhone})
	h.run(5 * day)

	assert.Equal(t, []any{workflows.PhoneHash(key, "+15551234567"), workflows.PhoneHash(key, newPhone), nil}, phones)
	assert.Len(t, workflows.PhoneHash(key, newPhone), 32)
	assert.NotEqual(t, workflows.PhoneHash(key, newPhone), workflows.PhoneHash([]byte("another key, as long as the first"), newPhone))
}
