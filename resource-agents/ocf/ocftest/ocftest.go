// Package ocftest holds test helpers for agents built on package ocf.
package ocftest

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"pbxha/internal/testenv"
)

// ValidateMetadata checks agent metadata against ra-api-1.dtd and the OCF
// 1.1 RelaxNG schema; agents' tests call it with their own XML.
func ValidateMetadata(t *testing.T, xml []byte) {
	t.Helper()
	testenv.RequireTool(t, "xmllint")
	dir := t.TempDir()
	f := filepath.Join(dir, "meta.xml")
	if err := os.WriteFile(f, xml, 0o644); err != nil {
		t.Fatal(err)
	}
	const dtd = "/usr/share/resource-agents/ra-api-1.dtd"
	if _, err := os.Stat(dtd); err != nil {
		testenv.RequireTool(t, "ocf-tester") // resource-agents provides both
		t.Fatalf("resource-agents installed but %s missing", dtd)
	}
	if out, err := exec.Command("xmllint", "--noout", "--dtdvalid", dtd, f).CombinedOutput(); err != nil {
		t.Errorf("metadata fails %s: %v\n%s", dtd, err, out)
	}
	rng := filepath.Join(testenv.RepoRoot(t), "..", "shared", "testdata", "ocf-spec", "ra_1.1_ra-api.rng")
	if _, err := os.Stat(rng); err != nil {
		t.Logf("skipping OCF 1.1 RelaxNG check: %s not present (only in the development workspace)", rng)
		return
	}
	if out, err := exec.Command("xmllint", "--noout", "--relaxng", rng, f).CombinedOutput(); err != nil {
		t.Errorf("metadata fails the OCF 1.1 RelaxNG schema: %v\n%s", err, out)
	}
}

// BuildAgent builds cmd/pbxha-ocf into a fresh OCF_ROOT-shaped tree and
// returns the root and the path of the named agent in it. The tree is
// world-readable: ocf-tester also runs the agent as an unprivileged user.
func BuildAgent(t testing.TB, name string) (ocfRoot, agent string) {
	t.Helper()
	ocfRoot = t.TempDir()
	for _, d := range []string{filepath.Dir(ocfRoot), ocfRoot} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(ocfRoot, "resource.d", "pbxha")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(ocfRoot, "pbxha-ocf")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(testenv.RepoRoot(t), "cmd", "pbxha-ocf")).CombinedOutput(); err != nil {
		t.Fatalf("build pbxha-ocf: %v\n%s", err, out)
	}
	agent = filepath.Join(dir, name)
	if err := os.Symlink(bin, agent); err != nil {
		t.Fatal(err)
	}
	return ocfRoot, agent
}

// Op runs one action of an agent binary the way Pacemaker's executor does
// (parameters and meta attributes in the environment) and returns its exit
// code and combined output. wrap, if not nil, prefixes the command (e.g.
// "ip netns exec NS").
func Op(t testing.TB, ocfRoot, agent, action string, env map[string]string, wrap ...string) (int, string) {
	t.Helper()
	args := append(append([]string{}, wrap...), agent, action)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "OCF_ROOT="+ocfRoot, "OCF_RESKEY_CRM_meta_timeout=20000")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s %s: %v", agent, action, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// CheckMetadata validates what write (an agent's WriteMetadata) produces.
func CheckMetadata(t *testing.T, write func(io.Writer) error) {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatalf("meta-data: %v", err)
	}
	ValidateMetadata(t, b.Bytes())
}

// Expect runs Op with base's variables overridden by extra's, and fails t
// unless the exit code is want and the output contains reason.
func Expect(t testing.TB, ocfRoot, agent, action string, base, extra map[string]string, want int, reason string, wrap ...string) string {
	t.Helper()
	env := map[string]string{}
	for _, m := range []map[string]string{base, extra} {
		for k, v := range m {
			env[k] = v
		}
	}
	st, out := Op(t, ocfRoot, agent, action, env, wrap...)
	if st != want || !strings.Contains(out, reason) {
		t.Fatalf("%s %v: exit %d, want %d with %q\n%s", action, extra, st, want, reason, out)
	}
	return out
}
