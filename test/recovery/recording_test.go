package recovery

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"pbxha/internal/recordingtest"
)

// checkRecordings asserts that each of the n calls has one recording (named
// in its CDR) whose both channels, the caller's tone and the callee's echo,
// are audible from the answer until just before the kill and again after
// the restart until the hang-up, on a timeline that matches the call's: the
// restart is silence in the file, not a cut.
func checkRecordings(t *testing.T, p *pbx, n int, killed, ready time.Time) {
	t.Helper()
	const (
		// A kill -9 loses what the recorder had not written yet: up to
		// 400 ms (its latency window) before the kill.
		lostAtKill = 600 * time.Millisecond
		settle     = 300 * time.Millisecond // RTP flowing again after the restart
	)
	var before, after []float64
	for _, c := range p.cdrs(t, n) {
		if c.Recording == "" {
			t.Fatalf("CDR %+v names no recording", c)
		}
		frames := recordingtest.Read(t, filepath.Join(p.data, c.Recording))
		at := func(tm time.Time) int { return recordingtest.At(tm.Sub(c.Answer)) }
		if got, want := recordingtest.Length(frames), c.End.Sub(c.Answer); got < want-time.Second || got > want+time.Second {
			t.Fatalf("%s: %v of audio for a call of %v", c.Recording, got, want)
		}
		for ch := range 2 {
			b := recordingtest.Audible(frames, ch, at(c.Answer.Add(200*time.Millisecond)), at(killed.Add(-lostAtKill)))
			a := recordingtest.Audible(frames, ch, at(ready.Add(settle)), at(c.End.Add(-500*time.Millisecond)))
			if b < 0.9 || a < 0.9 {
				t.Fatalf("%s channel %d: %.0f%% audible before the kill, %.0f%% after the restart; want both >= 90%%",
					c.Recording, ch, 100*b, 100*a)
			}
			before, after = append(before, b), append(after, a)
		}
	}
	t.Logf("recordings: %d calls, both channels audible before the kill (min %.0f%%) and after the restart (min %.0f%%)",
		n, 100*slices.Min(before), 100*slices.Min(after))
}
