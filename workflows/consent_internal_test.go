package workflows

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A state carried from before the per-source words keeps its opt-outs and
// consent when the next consent change derives them again.
func TestCarriedConsentKeepsItsOptOuts(t *testing.T) {
	r := &journey{}
	r.st.Profile = Profile{Phone: "+15551234567", SMSConsent: true}
	r.st.Consent = ConsentState{SMSOptedOut: true, EmailMarketingOptedOut: true}
	r.st.Consent.adoptLegacyConsent(&r.st.Profile)
	r.deriveConsent()
	assert.True(t, r.st.Profile.SMSConsent)
	assert.True(t, r.st.Consent.SMSOptedOut)
	assert.True(t, r.st.Consent.EmailMarketingOptedOut)
	assert.False(t, r.st.Consent.EmailLifecycleOptedOut, "a word from before classes is marketing's")

	r.st.Profile.Phone = "+15557654321" // the STOP was the old number's
	r.deriveConsent()
	assert.False(t, r.st.Consent.SMSOptedOut)
	assert.True(t, r.st.Profile.SMSConsent)
}
