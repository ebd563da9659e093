package media

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
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

// TestRelaySipp relays real sipp media: a sipp caller plays sipp's G.711
// A-law sample to the relay's leg A; a sipp callee (-rtp_echo) gets it out
// of leg B and echoes it back; the relay records both directions, and sox
// reads the recording. sipp signals directly to sipp; the callee's answer
// names the relay's port, as the PBX's rewritten SDP would.
func TestRelaySipp(t *testing.T) {
	testenv.Slow(t)
	testenv.RequireTool(t, "sipp", "soxi", "sox")
	pool := testPool(t, 4)
	pa, pb := allocatePairs(t, pool)
	wav := filepath.Join(t.TempDir(), "call.wav")
	rec, err := OpenRecorder(wav, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := NewRelay(pa, pb, Options{Recorder: rec})
	t.Cleanup(func() { r.Close() })

	// sipp binds its media port and the one two above it (video).
	uasMedia, uacMedia := pool.low-20, pool.low-40
	uasSIP, uacSIP := freePort(t), freePort(t)
	r.SetPeer(A, netip.AddrPortFrom(loopback, uint16(uacMedia)), netip.AddrPort{})
	r.SetPeer(B, netip.AddrPortFrom(loopback, uint16(uasMedia)), netip.AddrPort{})

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
	uas := sipp("-sf", scenario("uas-relay.xml"), "-set", "relay", strconv.Itoa(pa.Port),
		"-p", strconv.Itoa(uasSIP), "-mp", strconv.Itoa(uasMedia), "-rtp_echo")
	var uasOut strings.Builder
	uas.Stdout, uas.Stderr = &uasOut, &uasOut
	if err := uas.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uas.Process.Kill(); uas.Wait() })
	time.Sleep(300 * time.Millisecond) // let the callee bind
	out, err := sipp("-sf", scenario("uac-pcap.xml"), "-p", strconv.Itoa(uacSIP),
		"-mp", strconv.Itoa(uacMedia), "127.0.0.1:"+strconv.Itoa(uasSIP)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Successful call        |        0                  |        1") {
		t.Fatalf("sipp caller: %v\n%s", err, out)
	}
	if err := uas.Wait(); err != nil {
		t.Fatalf("sipp callee: %v\n%s", err, uasOut.String())
	}

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
	// sox reads the recording: 8 kHz stereo, about as long as the audio,
	// with sound on both channels.
	info, err := exec.Command("soxi", wav).CombinedOutput()
	if err != nil {
		t.Fatalf("soxi: %v\n%s", err, info)
	}
	for _, want := range []string{"Channels       : 2", "Sample Rate    : 8000", "Precision      : 16-bit"} {
		if !strings.Contains(string(info), want) {
			t.Errorf("soxi: no %q in\n%s", want, info)
		}
	}
	d, err := exec.Command("soxi", "-D", wav).Output()
	if err != nil {
		t.Fatal(err)
	}
	if secs, _ := strconv.ParseFloat(strings.TrimSpace(string(d)), 64); secs < 1.2 || secs > 4 {
		t.Errorf("recording lasts %.2f s; want about 2", secs)
	}
	for _, ch := range []string{"1", "2"} {
		stat, err := exec.Command("sox", wav, "-n", "remix", ch, "stat").CombinedOutput()
		if err != nil {
			t.Fatalf("sox stat: %v\n%s", err, stat)
		}
		if rms := soxField(string(stat), "RMS     amplitude:"); rms < 0.001 {
			t.Errorf("channel %s is silent (RMS %f):\n%s", ch, rms, stat)
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
	return -1
}
