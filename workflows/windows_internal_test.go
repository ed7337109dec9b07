package workflows

import (
	"testing"
	"time"
)

// The 09:00-20:00 window holds in every US zone from Eastern to Hawaii
// only where they overlap: 09:00 in Honolulu to 20:00 in New York.
func TestWindowOpenInEveryZoneFromEasternToHawaii(t *testing.T) {
	var zones []*time.Location
	for _, name := range []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"} {
		zones = append(zones, location(name))
	}
	w := sendWindow{from: 9 * time.Hour, to: 20 * time.Hour, zones: zones, fallback: time.UTC}
	open, shut := w.next(time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)) // 04:00 in New York
	if want := time.Date(2026, 1, 20, 19, 0, 0, 0, time.UTC); !open.Equal(want) {
		t.Errorf("opens %s, want %s (09:00 HST)", open, want)
	}
	if want := time.Date(2026, 1, 21, 1, 0, 0, 0, time.UTC); !shut.Equal(want) {
		t.Errorf("shuts %s, want %s (20:00 EST)", shut, want)
	}
	// Guam (UTC+10) and St. John's (UTC-3:30) share no hour in March:
	// the fallback zone decides.
	w = sendWindow{from: 9 * time.Hour, to: 20 * time.Hour, zones: []*time.Location{location("Pacific/Guam"), location("America/St_Johns"), location("Pacific/Pago_Pago")}, fallback: location("Asia/Tokyo")}
	open, _ = w.next(time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 3, 21, 0, 0, 0, 0, time.UTC); !open.Equal(want) {
		t.Errorf("fallback opens %s, want %s (09:00 in Tokyo)", open, want)
	}
}
