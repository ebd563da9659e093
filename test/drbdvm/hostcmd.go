package drbdvm

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// runHost runs a host program and returns its stdout; a failure carries the
// command line and its stderr.
func runHost(dir, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
