package daemon

import (
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"pbxha/internal/recordingtest"
	"testing"
	"time"

	"pbxha/pbx/sipd"
)

// TestRelayTotals relays RTP through a real relay and checks the totals
// kept for `pbx status`.
func TestRelayTotals(t *testing.T) {
	f, err := newMedia(netip.MustParseAddr("127.0.0.1"), 31000, 31099, t.TempDir(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Allocate("call-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Local(sipd.Caller).Port(); got%2 != 0 || got < 31000 || got > 31099 {
		t.Fatalf("caller relay port %d", got)
	}
	phones := [2]*net.UDPConn{}
	for i := range phones {
		if phones[i], err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		defer phones[i].Close()
		r.SetPeer(sipd.Side(i), sipd.Peer{RTP: phones[i].LocalAddr().(*net.UDPAddr).AddrPort()})
	}
	pkt := make([]byte, 172)
	pkt[0] = 0x80 // RTP version 2
	for i := 0; i < 10; i++ {
		pkt[3] = byte(i)
		if _, err := phones[0].WriteToUDPAddrPort(pkt, r.Local(sipd.Caller)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 512)
	for i := 0; i < 10; i++ {
		phones[1].SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := phones[1].Read(buf); err != nil {
			t.Fatalf("packet %d not relayed to the callee: %v", i, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := f.rtpTotals(); got != (RTPTotals{FromCaller: 10}) {
		t.Fatalf("totals %+v, want 10 from the caller", got)
	}
}

// TestRecordingAcrossRestore: a recorded call's audio goes to a WAV file
// under the data directory; the relay restored from the journaled record
// appends to the same file, and a second Close is harmless. Names that
// would leave the data directory are refused.
func TestRecordingAcrossRestore(t *testing.T) {
	data := t.TempDir()
	f, err := newMedia(netip.MustParseAddr("127.0.0.1"), 31100, 31199, data, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	const name = "recordings/2026-11-23/call.wav"
	answer := time.Now()
	talk := func(r sipd.Relay, n int) {
		t.Helper()
		phone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer phone.Close()
		at := sipd.Peer{RTP: phone.LocalAddr().(*net.UDPAddr).AddrPort()}
		r.SetPeer(sipd.Caller, at) // the phone plays both parts: latched at once
		r.SetPeer(sipd.Callee, at)
		pkt := make([]byte, 12+160) // PCMU, payload 0x00: full scale
		pkt[0] = 0x80
		for i := range n {
			pkt[3] = byte(i)
			if _, err := phone.WriteToUDPAddrPort(pkt, r.Local(sipd.Caller)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		deadline := time.Now().Add(2 * time.Second)
		for r.(*relay).r.Stats().From[0].RTPPackets < uint64(n) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	r, err := f.Allocate("call-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Record(name, answer); err != nil {
		t.Fatal(err)
	}
	if err := r.Record(name, answer); err == nil {
		t.Fatal("a second Record on one relay succeeded")
	}
	talk(r, 10)
	rec := sipd.CallRecord{ID: "call-1", State: sipd.Confirmed, RelayA: r.Local(sipd.Caller), RelayB: r.Local(sipd.Callee),
		Answer: answer, Recorded: name}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	first := loudFrames(t, filepath.Join(data, name))
	if first != 10*160 {
		t.Fatalf("%d loud frames after the first run, want %d", first, 10*160)
	}
	time.Sleep(300 * time.Millisecond) // the restart: silence in the recording
	r2, err := f.Restore(rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	talk(r2, 5)
	if err := r2.Close(); err != nil {
		t.Fatal(err)
	}
	if got := loudFrames(t, filepath.Join(data, name)); got != first+5*160 {
		t.Fatalf("%d loud frames after the restore, want %d: not appended", got, first+5*160)
	}
	for _, bad := range []string{"../escape.wav", "/tmp/abs.wav"} {
		if _, err := f.openRecording(bad, answer); err == nil {
			t.Errorf("recording %q outside the data directory accepted", bad)
		}
	}
}

// loudFrames counts the frames of a recording whose caller channel is not
// silent.
func loudFrames(t *testing.T, path string) int {
	t.Helper()
	n := 0
	for _, f := range recordingtest.Read(t, path) {
		if f[0] != 0 {
			n++
		}
	}
	return n
}
