package workflows

import (
	"hash/fnv"
	"slices"
	"time"
)

// seenEvents are the applied events a journey remembers, to recognise
// redeliveries: the last SeenEventsSize, and every one within
// SeenEventsWindow up to SeenEventsMax, oldest first. It keeps a 64-bit
// hash of each ID rather than the ID, because a mature journey remembers a
// thousand and more: as strings in a map and two lists they held about 127
// KiB of every cached journey's memory, as hashes about 20 KiB. A new
// event is taken for a remembered one with odds below 1 in 10^15, even at
// the most it keeps.
type seenEvents struct {
	hashes []uint64
	at     []int64 // Unix seconds
}

// eventHash is the FNV-1a hash of an event ID: stable across builds, so a
// replay and the next run agree.
func eventHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

// has reports whether id was applied and is still remembered. A scan from
// the newest is cheap at these sizes and keeps no map beside the lists.
func (s *seenEvents) has(id string) bool {
	h := eventHash(id)
	for i := len(s.hashes) - 1; i >= 0; i-- {
		if s.hashes[i] == h {
			return true
		}
	}
	return false
}

// add remembers id as applied at at and forgets what is past the limits.
func (s *seenEvents) add(id string, at time.Time) { s.addHash(eventHash(id), at.Unix()) }

func (s *seenEvents) addHash(h uint64, at int64) {
	s.hashes, s.at = append(s.hashes, h), append(s.at, at)
	window := int64(SeenEventsWindow / time.Second)
	drop := 0
	for keep := len(s.hashes); keep > SeenEventsSize && (keep > SeenEventsMax || at-s.at[drop] > window); keep-- {
		drop++
	}
	if drop > 0 {
		// Copied down rather than resliced, so the arrays do not creep.
		s.hashes = slices.Delete(s.hashes, 0, drop)
		s.at = slices.Delete(s.at, 0, drop)
	}
}

// carry is what the next run gets; restore takes it back.
func (s *seenEvents) carry() SeenEvents { return SeenEvents{Hashes: s.hashes, At: s.at} }

func (s *seenEvents) restore(c SeenEvents) {
	for i, h := range c.Hashes {
		if i < len(c.At) {
			s.addHash(h, c.At[i])
		}
	}
}
