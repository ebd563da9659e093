package media

import (
	"context"
	"math"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"pbxha/internal/recordingtest"
	"strconv"
	"strings"
	"testing"
	"time"

	"pbxha/internal/testenv"
)

// freePort returns a UDP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sippCall runs one sipp call whose audio goes through leg A's port: a
// sipp caller plays sipp's G.711 A-law sample (2 s) to relayPort; a sipp
// callee (-rtp_echo on uasMedia) echoes what it gets back. sipp signals
// directly to sipp; the callee's answer names the relay's port, as the
// PBX's rewritten SDP would. during runs while the call is up.
func sippCall(t *testing.T, relayPort, uacMedia, uasMedia int, during func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir() // sipp writes its logs into the working directory
	sipp := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "sipp", append(args, "-i", "127.0.0.1", "-mi", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", "25s")...)
		cmd.Dir = dir
		return cmd
	}
	scenario := func(name string) string {
		p, err := filepath.Abs(filepath.Join("testdata", "sipp", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	uasSIP, uacSIP := freePort(t), freePort(t)
	uas := sipp("-sf", scenario("uas-relay.xml"), "-set", "relay", strconv.Itoa(relayPort),
		"-p", strconv.Itoa(uasSIP), "-mp", strconv.Itoa(uasMedia), "-rtp_echo")
	var uasOut, uacOut strings.Builder
	uas.Stdout, uas.Stderr = &uasOut, &uasOut
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { uas.Process.Kill(); uas.Wait() }()
	time.Sleep(300 * time.Millisecond) // let the callee bind
	uac := sipp("-sf", scenario("uac-pcap.xml"), "-p", strconv.Itoa(uacSIP),
		"-mp", strconv.Itoa(uacMedia), "127.0.0.1:"+strconv.Itoa(uasSIP))
	uac.Stdout, uac.Stderr = &uacOut, &uacOut
	if err := uac.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { uac.Process.Kill(); uac.Wait() }()
	during()
	if err := uac.Wait(); err != nil || !strings.Contains(uacOut.String(), "Successful call        |        0                  |        1") {
		t.Fatalf("sipp caller: %v\n%s", err, uacOut.String())
	}
	if err := uas.Wait(); err != nil {
		t.Fatalf("sipp callee: %v\n%s", err, uasOut.String())
	}
}

// sippPorts picks the sipp callers' and callees' media ports below the
// pool's range; sipp binds its media port and the one two above it.
func sippPorts(p *Pool) (uacMedia, uasMedia int) { return p.low - 40, p.low - 20 }

// TestRelaySipp relays real sipp media both ways and records both
// directions.
func TestRelaySipp(t *testing.T) {
	testenv.Slow(t)
	testenv.RequireTool(t, "sipp")
	pool := testPool(t, 4)
	pa, pb := allocatePairs(t, pool)
	wav := filepath.Join(t.TempDir(), "call.wav")
	rec, err := OpenRecorder(wav, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := NewRelay(pa, pb, Options{Recorder: rec})
	t.Cleanup(func() { r.Close() })
	uacMedia, uasMedia := sippPorts(pool)
	r.SetPeer(A, netip.AddrPortFrom(loopback, uint16(uacMedia)), netip.AddrPort{})
	r.SetPeer(B, netip.AddrPortFrom(loopback, uint16(uasMedia)), netip.AddrPort{})
	sippCall(t, pa.Port, uacMedia, uasMedia, func() {})

	st := r.Stats()
	t.Logf("from caller: %+v; from callee: %+v", st.From[A], st.From[B])
	// 2 s of 30 ms packets is ~66; allow for the start and for scheduling.
	for _, s := range []Side{A, B} {
		if st.From[s].RTPPackets < 40 {
			t.Errorf("%d RTP packets relayed from %s; want the ~66 of 2 s of audio", st.From[s].RTPPackets, s)
		}
	}
	if ls := r.State().Legs[A]; !ls.RTPLatched {
		t.Errorf("leg A never latched: %+v", ls)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	checkRecording(t, wav, 1.2, 4)
}

// checkRecording reads a recording: it must last between minSecs and
// maxSecs and carry sound on both channels. (TestRecordingReadBySox checks
// the format with sox.)
func checkRecording(t *testing.T, wav string, minSecs, maxSecs float64) {
	t.Helper()
	frames := recordingtest.Read(t, wav)
	if secs := float64(len(frames)) / sampleRate; secs < minSecs || secs > maxSecs {
		t.Errorf("recording lasts %.2f s; want %.1f-%.1f", secs, minSecs, maxSecs)
	}
	for ch := range 2 {
		var sum float64
		for _, f := range frames {
			sum += float64(f[ch]) * float64(f[ch])
		}
		if rms := math.Sqrt(sum / float64(max(len(frames), 1))); rms < 100 {
			t.Errorf("channel %d is silent (RMS %.1f of 32768)", ch, rms)
		}
	}
}

// TestRelaySippRestart: mid-call the relay and its recorder die without
// closing properly (as in kill -9) and come back from the journaled State
// 200 ms later; sipp's media flows again through the same ports and the
// recording continues in the same file.
func TestRelaySippRestart(t *testing.T) {
	testenv.Slow(t)
	testenv.RequireTool(t, "sipp")
	pool := testPool(t, 4)
	pa, pb := allocatePairs(t, pool)
	wav := filepath.Join(t.TempDir(), "call.wav")
	start := time.Now()
	rec, err := OpenRecorder(wav, start)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRelay(pa, pb, Options{Recorder: rec})
	uacMedia, uasMedia := sippPorts(pool)
	r.SetPeer(A, netip.AddrPortFrom(loopback, uint16(uacMedia)), netip.AddrPort{})
	r.SetPeer(B, netip.AddrPortFrom(loopback, uint16(uasMedia)), netip.AddrPort{})
	var before, after Stats
	var down time.Duration
	sippCall(t, pa.Port, uacMedia, uasMedia, func() {
		time.Sleep(800 * time.Millisecond)
		st := r.State()
		before = r.Stats()
		r.Close()
		rec.f.Close() // die: the recorder's unwritten window is lost
		died := time.Now()
		time.Sleep(200 * time.Millisecond)
		if rec, err = OpenRecorder(wav, start); err != nil {
			t.Error(err)
			return
		}
		if r, err = RestoreRelay(pool, st, Options{Recorder: rec}); err != nil {
			t.Error(err)
			return
		}
		down = time.Since(died)
	})
	if t.Failed() {
		return
	}
	after = r.Stats()
	r.Close()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("down %v; before: %+v; after: %+v", down, before.From, after.From)
	for _, s := range []Side{A, B} {
		if before.From[s].RTPPackets < 10 || after.From[s].RTPPackets < 10 {
			t.Errorf("from %s: %d packets before the restart, %d after; want media on both sides of it",
				s, before.From[s].RTPPackets, after.From[s].RTPPackets)
		}
	}
	checkRecording(t, wav, 1.5, 4)
}
