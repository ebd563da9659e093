package drbdctl

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestExecRun(t *testing.T) {
	ctx := context.Background()
	out, err := Exec{}.Run(ctx, "sh", "-c", "echo out; echo 'r0: State change failed: (-1) Multiple primaries not allowed by config' >&2; exit 11")
	var ce *CmdError
	if !errors.As(err, &ce) || ce.Code != 11 || string(out) != "out\n" || !strings.Contains(string(ce.Stderr), "Multiple primaries") {
		t.Fatalf("Run = %q, %v; want stdout, exit 11 and the stderr kept", out, err)
	}
	if !errors.Is(ClassifyFailure(ce.Stderr), ErrMultiplePrimaries) {
		t.Errorf("ClassifyFailure(%q) is not ErrMultiplePrimaries", ce.Stderr)
	}
	if _, err := (Exec{}).Run(ctx, "/nonexistent/drbdsetup"); !errors.As(err, &ce) || ce.Code != -1 {
		t.Errorf("missing program: %v, want a CmdError with code -1", err)
	}
	path, err := Exec{}.Run(ctx, "sh", "-c", "echo $PATH")
	if err != nil || !strings.Contains(string(path), drbdLibDir) {
		t.Errorf("PATH seen by the tools = %q (%v), want it to hold %s", path, err, drbdLibDir)
	}
}

func TestExecStream(t *testing.T) {
	rc, err := Exec{}.Stream(context.Background(), "sh", "-c", "echo 'exists -'; echo 'change resource name:r0 role:Primary'; exec sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(rc, buf, len("exists -\n"))
	if err != nil || !strings.HasPrefix(string(buf[:n]), "exists -\n") {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if err := rc.Close(); err != nil { // kills sleep: must not hang
		t.Fatal(err)
	}
}

// TestStatusWithoutDRBDUtils: on a node without drbd-utils (a quorum-only
// node) the resource is simply not up, so probes and stops succeed.
func TestStatusWithoutDRBDUtils(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := (&Client{}).Status(context.Background(), "pbx")
	if !errors.Is(err, ErrNotConfigured) || !strings.Contains(err.Error(), "drbdsetup not installed") {
		t.Fatalf("Status = %v, want ErrNotConfigured saying drbdsetup is not installed", err)
	}
}
