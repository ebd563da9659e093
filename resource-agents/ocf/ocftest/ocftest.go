// Package ocftest holds test helpers for agents built on package ocf.
package ocftest

import (
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
	rng := filepath.Join(RepoRoot(t), "..", "shared", "testdata", "ocf-spec", "ra_1.1_ra-api.rng")
	if _, err := os.Stat(rng); err != nil {
		t.Logf("skipping OCF 1.1 RelaxNG check: %s not present (only in the development workspace)", rng)
		return
	}
	if out, err := exec.Command("xmllint", "--noout", "--relaxng", rng, f).CombinedOutput(); err != nil {
		t.Errorf("metadata fails the OCF 1.1 RelaxNG schema: %v\n%s", err, out)
	}
}

// RepoRoot is the module root of the code under test.
func RepoRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}
