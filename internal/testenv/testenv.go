// Package testenv holds helpers shared by tests that need privileges or
// external tools, so that a developer's unprivileged `go test` skips them
// while `make test` (PBXHA_REQUIRE_ROOT=1) turns every such skip into a failure.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// strict reports whether skips for missing privileges or tools must fail.
func strict() bool { return os.Getenv("PBXHA_REQUIRE_ROOT") == "1" }

// RequireRoot skips t unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if strict() {
		t.Fatal("test needs root (PBXHA_REQUIRE_ROOT=1)")
	}
	t.Skip("needs root")
}

// RequireTool skips t unless every named program is on PATH.
func RequireTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if strict() {
				t.Fatalf("test needs %s on PATH: %v", n, err)
			}
			t.Skipf("needs %s on PATH", n)
		}
	}
}

// Slow skips t in -short mode (make test-unit).
func Slow(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow integration test (skipped with -short)")
	}
}

// RepoRoot is the root of the module under test.
func RepoRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
