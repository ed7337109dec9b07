package playbook

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/journeyshq/journeys/messages"
)

// Every template field of every section, found by its JSON name (email,
// sms, csm_alert, *_email, *_alert, and the save_offers map), is checked
// for existence under its own field name and channel: a template field
// added later without a templateRefs entry fails here.
func TestTemplateRefsCoverEveryTemplateField(t *testing.T) {
	pb := Default()
	want := map[string]templateRef{}
	collectTemplateFields(reflect.ValueOf(pb), "", want)
	got := map[string]templateRef{}
	for _, r := range pb.templateRefs() {
		assert.NotContains(t, got, r.field, "listed twice")
		got[r.field] = r
	}
	assert.Equal(t, want, got)
	// Spot checks that the walk itself found the new sections.
	assert.Equal(t, templateRef{"dunning.steps[1].sms", messages.ChannelSMS, "payment_reminder"}, got["dunning.steps[1].sms"])
	assert.Equal(t, templateRef{"renewal.steps[2].csm_alert", messages.ChannelAlert, "renewal_at_risk"}, got["renewal.steps[2].csm_alert"])
	assert.Equal(t, templateRef{"cancellation.save_offers.price", messages.ChannelEmail, "save_offer_discount"}, got["cancellation.save_offers.price"])
	assert.Equal(t, templateRef{"health.critical_alert", messages.ChannelAlert, "health_critical"}, got["health.critical_alert"])
}

func collectTemplateFields(v reflect.Value, path string, out map[string]templateRef) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			name := jsonName(v.Type().Field(i))
			if name == "" {
				continue
			}
			at := name
			if path != "" {
				at = path + "." + name
			}
			f := v.Field(i)
			if ch, ok := templateChannel(name); ok && f.Kind() == reflect.String {
				out[at] = templateRef{at, ch, f.String()}
				continue
			}
			if f.Kind() == reflect.Map && name == "save_offers" {
				for _, k := range f.MapKeys() {
					out[at+"."+k.String()] = templateRef{at + "." + k.String(), messages.ChannelEmail, f.MapIndex(k).String()}
				}
				continue
			}
			collectTemplateFields(f, at, out)
		}
	case reflect.Slice:
		for i := range v.Len() {
			collectTemplateFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
		}
	}
}

func templateChannel(name string) (messages.Channel, bool) {
	switch {
	case name == "email" || strings.HasSuffix(name, "_email"):
		return messages.ChannelEmail, true
	case name == "sms":
		return messages.ChannelSMS, true
	case name == "csm_alert" || strings.HasSuffix(name, "_alert"):
		return messages.ChannelAlert, true
	}
	return "", false
}
