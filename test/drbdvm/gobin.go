package drbdvm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// projectBinaries are the module's commands the guests carry when they
// exist in the checkout (./cmd/NAME).
var projectBinaries = []string{"drbdctl", "pbxha-ocf"}

// moduleRoot is the repository root, two levels above this package.
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("locate the module root: no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", ".."), nil
}

// buildProjectBinaries builds the projectBinaries present in the checkout
// (a cmd/NAME folder with Go files) as static executables (CGO_ENABLED=0)
// into outDir.
func buildProjectBinaries(outDir string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	for _, name := range projectBinaries {
		if srcs, _ := filepath.Glob(filepath.Join(root, "cmd", name, "*.go")); len(srcs) == 0 {
			continue
		}
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(outDir, name), "./cmd/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s for the guests: %w\n%s", name, err, out)
		}
	}
	return nil
}
