package messages

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNumberAndPlural(t *testing.T) {
	for n, want := range map[int]string{
		0: "0", 7: "7", 999: "999", 1000: "1,000", 1240: "1,240", 1234567: "1,234,567", -1240: "-1,240",
		math.MinInt64: "-9,223,372,036,854,775,808",
	} {
		assert.Equal(t, want, number(n), n)
	}
	assert.Equal(t, "1 day", plural(1, "day", "days"))
	assert.Equal(t, "0 days", plural(0, "day", "days"))
	assert.Equal(t, "3 days", plural(3, "day", "days"))
	assert.Equal(t, "1,240 key actions", plural(1240, "key action", "key actions"))
	assert.Equal(t, "-1 day", plural(-1, "day", "days"))
}

func TestWords(t *testing.T) {
	assert.Equal(t, "card declined", words("card_declined"))
	assert.Equal(t, "at risk", words("at_risk"))
	assert.Equal(t, "Expired card", words("Expired card"))
	assert.Equal(t, "", words(""))
}
