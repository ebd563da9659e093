package recordingtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pbxha/pbx/media"
)

// TestParseWhatTheRecorderWrites: a recording made by pbx/media's Recorder
// parses, its sound is found where it was, and damaged files are refused.
func TestParseWhatTheRecorderWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.wav")
	start := time.Now().Add(-time.Second)
	rec, err := media.OpenRecorder(path, start)
	if err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 12+160) // PCMU payload 0x00: full scale
	pkt[0] = 0x80
	for range 5 {
		rec.WriteRTP(media.A, pkt)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	// Written at the clock, a second after the origin: silence before.
	if l := Length(frames); l < time.Second || l > 2*time.Second {
		t.Fatalf("length %v", l)
	}
	if a := Audible(frames, 0, 0, At(900*time.Millisecond)); a != 0 {
		t.Errorf("%.2f audible before the packets", a)
	}
	if a := Audible(frames, 0, len(frames)-800, len(frames)); a != 1 {
		t.Errorf("caller channel %.2f audible over the packets, want 1", a)
	}
	if a := Audible(frames, 1, 0, len(frames)); a != 0 {
		t.Errorf("callee channel %.2f audible, want silence", a)
	}
	for name, bad := range map[string][]byte{
		"torn frame":             b[:len(b)-1],
		"not a wav":              []byte(strings.Repeat("x", 100)),
		"short":                  b[:20],
		"header behind the data": append(append([]byte(nil), b...), 0, 0, 0, 0),
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
