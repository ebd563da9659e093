package daemon

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pbxha/pbx/store"
)

func TestParsePortRange(t *testing.T) {
	cases := []struct {
		in      string
		lo, hi  int
		wantErr bool
	}{
		{"20000-29999", 20000, 29999, false},
		{"10000-10001", 10000, 10001, false},
		{"20001-29999", 0, 0, true},
		{"20000", 0, 0, true},
		{"500-600", 0, 0, true},
		{"30000-20000", 0, 0, true},
		{"a-b", 0, 0, true},
		{"20000-70000", 0, 0, true},
	}
	for _, tc := range cases {
		lo, hi, err := ParsePortRange(tc.in)
		if (err != nil) != tc.wantErr || lo != tc.lo || hi != tc.hi {
			t.Errorf("ParsePortRange(%q) = %d, %d, %v", tc.in, lo, hi, err)
		}
	}
}

func TestLoadSettings(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, strconv.Itoa(len(s))+".json")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, body, errPart string
		check               func(Settings) bool
	}{
		{"override", `{"ring_timeout": "5s", "max_expires": 600, "default_expires": 300}`, "", func(s Settings) bool {
			return s.RingTimeout.D() == 5*time.Second && s.MaxExpires == 600 && s.MinExpires == 60
		}},
		{"bad duration", `{"grace": 10}`, "duration", nil},
		{"inconsistent expires", `{"min_expires": 100, "default_expires": 50}`, "min_expires", nil},
		{"not json", `ring_timeout=5s`, "config", nil},
	}
	for _, tc := range cases {
		s, err := LoadSettings(write(tc.body))
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.errPart)
			}
			continue
		}
		if err != nil || !tc.check(s) {
			t.Errorf("%s: %+v, %v", tc.name, s, err)
		}
	}
	if _, err := LoadSettings(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing config file accepted")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	return u.LocalAddr().String()
}

func TestRunRefuses(t *testing.T) {
	data := t.TempDir()
	if err := store.Init(data, "r1"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		o       Options
		errPart string
	}{
		{"uninitialised", Options{Data: t.TempDir(), Listen: freeAddr(t), RTPPorts: "30000-30099"}, "not initialised"},
		{"missing dir", Options{Data: "/nonexistent/pbx", Listen: freeAddr(t), RTPPorts: "30000-30099"}, "not initialised"},
		{"realm mismatch", Options{Data: data, Listen: freeAddr(t), Realm: "other", RTPPorts: "30000-30099"}, "differs"},
		{"wildcard", Options{Data: data, Listen: "0.0.0.0:5060", RTPPorts: "30000-30099"}, "wildcard"},
		{"bad ports", Options{Data: data, Listen: freeAddr(t), RTPPorts: "1-2"}, "rtp-ports"},
	}
	for _, tc := range cases {
		tc.o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		err := Run(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.errPart)
		}
	}
}

// TestRunNotifies runs the daemon under a fake systemd notify socket and
// checks READY=1, watchdog pings, the control socket, and STOPPING=1.
func TestRunNotifies(t *testing.T) {
	data := t.TempDir()
	if err := store.Init(data, "r1"); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "notify")
	nl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Data: data, Listen: freeAddr(t), RTPPorts: "30000-30099",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	}()
	want := func(msg string) {
		t.Helper()
		buf := make([]byte, 512)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			nl.SetReadDeadline(deadline)
			n, err := nl.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %q: %v", msg, err)
			}
			if strings.Contains(string(buf[:n]), msg) {
				return
			}
		}
		t.Fatalf("no %q", msg)
	}
	want("READY=1")
	want("WATCHDOG=1")
	st, err := QueryStatus(ctx, data)
	if err != nil || len(st.Registrations) != 0 || st.Calls == nil {
		t.Fatalf("status = %+v, %v", st, err)
	}
	cancel()
	want("STOPPING=1")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := QueryStatus(context.Background(), data); err == nil {
		t.Fatal("control socket still answers after stop")
	}
}
