package media

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"pbxha/internal/recordingtest"
	"strconv"
	"strings"
	"testing"
	"time"

	"pbxha/internal/testenv"
)

// TestG711MatchesSox compares every code's decoding with sox's.
func TestG711MatchesSox(t *testing.T) {
	codes, err := os.ReadFile("testdata/g711-codes.bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		golden string
		table  *[256]int16
	}{{"testdata/ulaw-sox.s16", &ulawTable}, {"testdata/alaw-sox.s16", &alawTable}} {
		want, err := os.ReadFile(tt.golden)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != 256 || len(want) != 512 {
			t.Fatalf("golden sizes %d/%d", len(codes), len(want))
		}
		for i, c := range codes {
			if got, w := tt.table[c], int16(binary.LittleEndian.Uint16(want[2*i:])); got != w {
				t.Errorf("%s: code %#02x decodes to %d; sox says %d", tt.golden, c, got, w)
			}
		}
	}
}

func TestRTPPayload(t *testing.T) {
	base := []byte{0x80, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	tests := []struct {
		name    string
		pkt     []byte
		payload string
		pt      byte
		ok      bool
	}{
		{"plain", append(base[:12:12], "ab"...), "ab", 8, true},
		{"marker bit", append([]byte{0x80, 0x80 | 8}, append(base[2:12:12], "ab"...)...), "ab", 8, true},
		{"csrc", append([]byte{0x81, 0}, append(base[2:12:12], 9, 9, 9, 9, 'x')...), "x", 0, true},
		{"extension", append([]byte{0x90, 0}, append(base[2:12:12], 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 'y')...), "y", 0, true},
		{"padding", append([]byte{0xa0, 0}, append(base[2:12:12], 'z', 0, 2)...), "z", 0, true},
		{"short", base[:11], "", 0, false},
		{"version 1", append([]byte{0x40}, base[1:]...), "", 0, false},
		{"csrc past end", append([]byte{0x8f}, base[1:]...), "", 0, false},
		{"extension past end", append([]byte{0x90}, base[1:]...), "", 0, false},
		{"padding past start", append([]byte{0xa0}, append(base[1:12:12], 200)...), "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, pt, ok := rtpPayload(tt.pkt)
			if ok != tt.ok || string(p) != tt.payload || pt != tt.pt {
				t.Errorf("rtpPayload = %q, %d, %v; want %q, %d, %v", p, pt, ok, tt.payload, tt.pt, tt.ok)
			}
		})
	}
}

// clock is a settable time source for the recorder.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// g711 builds an RTP packet of 160 copies of code with payload type pt.
func g711(pt, code byte) []byte {
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, pt
	for i := 12; i < len(pkt); i++ {
		pkt[i] = code
	}
	return pkt
}

// checkSpan asserts frames[from:to] of channel ch all equal want.
func checkSpan(t *testing.T, frames [][2]int16, ch, from, to int, want int16) {
	t.Helper()
	if to > len(frames) {
		t.Fatalf("recording has %d frames; want at least %d", len(frames), to)
	}
	for i := from; i < to; i++ {
		if frames[i][ch] != want {
			t.Fatalf("channel %d frame %d = %d; want %d over [%d,%d)", ch, i, frames[i][ch], want, from, to)
		}
	}
}

// clocked opens a recording at path whose clock is the fake one returned,
// standing at t0, the recording's origin.
func clocked(tb testing.TB, path string, t0 time.Time) (*Recorder, *clock) {
	tb.Helper()
	rec, err := OpenRecorder(path, t0)
	if err != nil {
		tb.Fatal(err)
	}
	clk := &clock{t: t0}
	rec.now = clk.now
	return rec, clk
}

const pcmuLoud, pcmaQuiet = 0x80, 0xd5 // decode to 32124 and 8

// TestRecorderAlignsAndAppends: both legs land on their channels at their
// wall-clock positions; a gap becomes silence; a killed recorder's file
// reopens (torn frame cut) and continues on the same timeline.
func TestRecorderAlignsAndAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.wav")
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	rec, clk := clocked(t, path, t0)
	tick := func(from, to int, a bool) { // 20 ms packets for packet slots [from, to)
		for i := from; i < to; i++ {
			clk.t = t0.Add(time.Duration(i) * 20 * time.Millisecond)
			if a {
				rec.WriteRTP(A, g711(0, pcmuLoud))
			}
			rec.WriteRTP(B, g711(8, pcmaQuiet))
		}
	}
	tick(0, 50, true)    // 0-1 s: both talk
	tick(50, 100, false) // 1-2 s: A silent (on hold)
	tick(100, 150, true) // 2-3 s: both again
	if rec.Start() != t0 {
		t.Errorf("Start = %v", rec.Start())
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	f := recordingtest.Read(t, path)
	if len(f) != 150*160 {
		t.Fatalf("%d frames; want %d", len(f), 150*160)
	}
	checkSpan(t, f, 0, 0, 8000, 32124)
	checkSpan(t, f, 0, 8000, 16000, 0)
	checkSpan(t, f, 0, 16000, 24000, 32124)
	checkSpan(t, f, 1, 0, 24000, 8)

	// Restart: the process died with the header stale and half a frame
	// written; reopening cuts the half frame and appends on the timeline.
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write([]byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	rec, err = OpenRecorder(path, t0)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Frames() != 24000 {
		t.Errorf("reopened with %d frames; want 24000", rec.Frames())
	}
	rec.now = clk.now
	tick(200, 250, true) // 4-5 s, after a 1 s outage
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	f = recordingtest.Read(t, path)
	if len(f) != 250*160 {
		t.Fatalf("%d frames after append; want %d", len(f), 250*160)
	}
	checkSpan(t, f, 0, 0, 8000, 32124)      // before the restart, kept
	checkSpan(t, f, 0, 24000, 32000, 0)     // the outage, silence
	checkSpan(t, f, 1, 24000, 32000, 0)     // on both channels
	checkSpan(t, f, 0, 32000, 40000, 32124) // after the restart
	checkSpan(t, f, 1, 32000, 40000, 8)
}

func TestRecorderIgnoresOtherPayloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.wav")
	t0 := time.Now()
	rec, _ := clocked(t, path, t0)
	rec.WriteRTP(A, g711(101, 1)) // telephone-event
	rec.WriteRTP(A, []byte{1, 2, 3})
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if f := recordingtest.Read(t, path); len(f) != 0 {
		t.Errorf("%d frames from non-G.711 packets", len(f))
	}
}

func TestOpenRecorderRejectsOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	if err := os.WriteFile(path, []byte("RIFF....WAVEfmt something else entirely, 44 bytes or more"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRecorder(path, time.Now()); err == nil {
		t.Error("OpenRecorder appended to a file in another format")
	}
	if _, err := OpenRecorder(filepath.Join(t.TempDir(), "missing", "x.wav"), time.Now()); err == nil {
		t.Error("OpenRecorder in a missing directory succeeded")
	}
}

// TestRelayRecords: a relay writes what it relays to its recorder, given
// at the start (a restored call) or from some moment on (Record, at the
// answer), and stops writing when Record(nil) takes it away.
func TestRelayRecords(t *testing.T) {
	for _, late := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "call.wav")
		rec, err := OpenRecorder(path, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Recorder: rec}
		if late {
			o = Options{}
		}
		c := newCall(t, o)
		send := func(n int) {
			for range n {
				p := g711(0, pcmuLoud)
				c.a.send(c.portA, p)
				c.b.expect(c.portB, p)
			}
		}
		if late {
			send(3) // before the recording starts: not recorded
			c.relay.Record(rec)
		}
		send(5)
		c.relay.Record(nil)
		send(2) // after it stopped: not recorded
		if err := c.relay.Close(); err != nil {
			t.Fatal(err)
		}
		if err := rec.Close(); err != nil {
			t.Fatal(err)
		}
		loud := 0
		for _, fr := range recordingtest.Read(t, path) {
			if fr[0] == 32124 {
				loud++
			}
		}
		if loud != 5*160 {
			t.Errorf("late=%v: %d loud frames on channel A; want %d", late, loud, 5*160)
		}
	}
}

// TestRecorderFlood: packets faster than real time are dropped once they
// run half a second ahead of the clock, so a flood cannot fill the disk.
func TestRecorderFlood(t *testing.T) {
	path := filepath.Join(t.TempDir(), "call.wav")
	t0 := time.Now()
	rec, _ := clocked(t, path, t0)
	for range 1000 { // 20 s of audio in no time
		rec.WriteRTP(A, g711(0, pcmuLoud))
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(recordingtest.Read(t, path)); n > recAhead+160 {
		t.Errorf("a flood wrote %d frames; want at most %d", n, recAhead+160)
	}
}

// TestRecordingReadBySox: sox, the reference reader, sees what the
// recorder meant to write: 8 kHz 16-bit stereo, 1 s, each leg's level on
// its own channel.
func TestRecordingReadBySox(t *testing.T) {
	testenv.RequireTool(t, "sox", "soxi")
	path := filepath.Join(t.TempDir(), "call.wav")
	t0 := time.Now()
	rec, clk := clocked(t, path, t0)
	for i := range 50 {
		clk.t = t0.Add(time.Duration(i) * 20 * time.Millisecond)
		rec.WriteRTP(A, g711(0, pcmuLoud))
		rec.WriteRTP(B, g711(8, pcmaQuiet))
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := exec.Command("soxi", path).CombinedOutput()
	if err != nil {
		t.Fatalf("soxi: %v\n%s", err, info)
	}
	for _, want := range []string{"Channels       : 2", "Sample Rate    : 8000", "Precision      : 16-bit",
		"Duration       : 00:00:01.00 = 8000 samples", "Sample Encoding: 16-bit Signed Integer PCM"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("soxi: no %q in\n%s", want, info)
		}
	}
	for ch, want := range map[string]float64{"1": 32124.0 / 32768, "2": 8.0 / 32768} {
		stat, err := exec.Command("sox", path, "-n", "remix", ch, "stat").CombinedOutput()
		if err != nil {
			t.Fatalf("sox stat: %v\n%s", err, stat)
		}
		if got := soxField(string(stat), "Maximum amplitude:"); math.Abs(got-want) > 1e-5 {
			t.Errorf("channel %s: sox reads maximum amplitude %f; want %f\n%s", ch, got, want, stat)
		}
	}
}

// soxField reads a number from `sox ... stat` output.
func soxField(stat, name string) float64 {
	for _, l := range strings.Split(stat, "\n") {
		if v, ok := strings.CutPrefix(l, name); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return math.NaN()
}
