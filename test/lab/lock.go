package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockPath serialises labs on a host: there is one set of namespace names.
const lockPath = "/run/lock/pbxha-lab.lock"

// Lock takes the host's lab lock, waiting until ctx ends; tests hold it
// for their whole run, so two test processes (or a test and `make lab`)
// never build labs over each other. unlock releases it.
func Lock(ctx context.Context) (unlock func(), err error) {
	if err := os.MkdirAll("/run/lock", 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lab lock: %w", err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lab lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("another lab holds %s (a test run?): %w", lockPath, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
