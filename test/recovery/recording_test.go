package recovery

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
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
		frames := readRecording(t, filepath.Join(p.data, c.Recording))
		at := func(tm time.Time) int { return int(tm.Sub(c.Answer) * 8000 / time.Second) }
		if got, want := time.Duration(len(frames))*time.Second/8000, c.End.Sub(c.Answer); got < want-time.Second || got > want+time.Second {
			t.Fatalf("%s: %v of audio for a call of %v", c.Recording, got, want)
		}
		for ch := range 2 {
			b := audible(frames, ch, at(c.Answer.Add(200*time.Millisecond)), at(killed.Add(-lostAtKill)))
			a := audible(frames, ch, at(ready.Add(settle)), at(c.End.Add(-500*time.Millisecond)))
			if b < 0.9 || a < 0.9 {
				t.Fatalf("%s channel %d: %.0f%% audible before the kill, %.0f%% after the restart; want both >= 90%%",
					c.Recording, ch, 100*b, 100*a)
			}
			before, after = append(before, b), append(after, a)
		}
	}
	t.Logf("recordings: %d calls, both channels audible before the kill (min %.0f%%) and after the restart (min %.0f%%)",
		n, 100*minOf(before), 100*minOf(after))
}

// readRecording returns the stereo 16-bit frames of a WAV file written by
// the PBX, checking that its header counts exactly the data it holds.
func readRecording(t *testing.T, path string) [][2]int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 44 || string(b[:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("%s: not a WAV file", path)
	}
	if size := binary.LittleEndian.Uint32(b[40:]); int(size) != len(b)-44 || (len(b)-44)%4 != 0 {
		t.Fatalf("%s: header counts %d data bytes, file holds %d", path, size, len(b)-44)
	}
	frames := make([][2]int16, (len(b)-44)/4)
	for i := range frames {
		frames[i][0] = int16(binary.LittleEndian.Uint16(b[44+4*i:]))
		frames[i][1] = int16(binary.LittleEndian.Uint16(b[46+4*i:]))
	}
	return frames
}

// audible is the fraction of 20 ms blocks of channel ch in frames [from,
// to) that carry sound (the recorder writes exact zeros for silence).
func audible(frames [][2]int16, ch, from, to int) float64 {
	from, to = max(from, 0), min(to, len(frames))
	var blocks, loud int
	for i := from; i+160 <= to; i += 160 {
		blocks++
		for _, f := range frames[i : i+160] {
			if f[ch] != 0 {
				loud++
				break
			}
		}
	}
	if blocks == 0 {
		return 0
	}
	return float64(loud) / float64(blocks)
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = min(m, x)
	}
	return m
}
