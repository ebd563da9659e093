package drbdctl

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Errors that actions return, wrapped; match them with errors.Is.
var (
	// ErrMultiplePrimaries: a peer is Primary and the configuration allows
	// one Primary (drbdsetup exit 11, "Multiple primaries not allowed by
	// config").
	ErrMultiplePrimaries = errors.New("a peer is already Primary")
	// ErrNoUpToDateData: promotion needs UpToDate data, locally or through
	// a connected peer.
	ErrNoUpToDateData = errors.New("no access to UpToDate data")
	// ErrPeerNotOutdated: fencing is configured and the peer's data could
	// not be outdated (fence-peer handler failed or is not done).
	ErrPeerNotOutdated = errors.New("peer is not outdated (fencing)")
	// ErrHeldOpen: the device is opened by someone (mounted, or a process
	// holds it), so it cannot be demoted or taken down.
	ErrHeldOpen = errors.New("device is held open")
	// ErrNoQuorum: DRBD 9 refuses the change without quorum.
	ErrNoQuorum = errors.New("no DRBD quorum")
	// ErrNotConfigured: the resource is not up in the kernel (or the DRBD
	// module is not loaded).
	ErrNotConfigured = errors.New("resource is not up (or the DRBD module is not loaded)")
	// ErrStandAlone: a connection is StandAlone, where DRBD stops after a
	// split brain it may not resolve by itself (or after `drbdadm
	// disconnect`); it will not reconnect without an administrator.
	ErrStandAlone = errors.New("connection is StandAlone (split brain or administrative disconnect)")
)

// stateChangeErrors maps the kernel's state-change failure texts (as
// drbdsetup prints them after "State change failed: (code)") to errors.
var stateChangeErrors = []struct {
	text string
	err  error
}{
	{"Multiple primaries not allowed by config", ErrMultiplePrimaries},
	{"Need access to UpToDate data", ErrNoUpToDateData},
	{"Refusing to be Primary while peer is not outdated", ErrPeerNotOutdated},
	{"Device is held open by someone", ErrHeldOpen},
	{"No quorum", ErrNoQuorum},
}

// StateChangeError is a refused DRBD state change.
type StateChangeError struct {
	Code    int    // the kernel's negative state-change code, 0 if not printed
	Message string // the kernel's explanation
	Kind    error  // one of the Err* values, nil when not recognised
}

func (e *StateChangeError) Error() string {
	return fmt.Sprintf("state change failed: (%d) %s", e.Code, e.Message)
}

// Unwrap lets errors.Is match Kind.
func (e *StateChangeError) Unwrap() error { return e.Kind }

var stateChangeLine = regexp.MustCompile(`State change failed: \((-?\d+)\) ?(.*)`)

// notConfiguredTexts are drbdsetup/drbdadm messages saying the resource or
// the module is absent.
var notConfiguredTexts = []string{
	"No such resource", "Unknown resource", "not defined in your config",
	"Could not connect to 'drbd' generic netlink family", "Failed to modprobe drbd",
}

// ClassifyFailure turns a failed drbdadm/drbdsetup run's stderr into a typed
// error: a *StateChangeError, ErrNotConfigured, or nil when it recognises
// nothing (the caller then reports the raw command error).
func ClassifyFailure(stderr []byte) error {
	s := string(stderr)
	if m := stateChangeLine.FindStringSubmatch(s); m != nil {
		code, _ := strconv.Atoi(m[1])
		e := &StateChangeError{Code: code, Message: strings.TrimSpace(m[2])}
		for _, k := range stateChangeErrors {
			if strings.Contains(e.Message, k.text) {
				e.Kind = k.err
			}
		}
		return e
	}
	for _, t := range notConfiguredTexts {
		if strings.Contains(s, t) {
			return ErrNotConfigured
		}
	}
	return nil
}

// Exit codes of the drbdctl command for typed failures, so scripts can
// tell them apart (documented in docs/drbd.md).
const (
	ExitFailure           = 1
	ExitUsage             = 2
	ExitNotConfigured     = 3
	ExitMultiplePrimaries = 4
	ExitNoUpToDateData    = 5
	ExitHeldOpen          = 6
	ExitStandAlone        = 7
	ExitTimeout           = 8
	ExitPeerNotOutdated   = 9
	ExitNoQuorum          = 10
)

// ExitCode maps an action's error to the drbdctl exit code (0 for nil).
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	for _, m := range []struct {
		err  error
		code int
	}{
		{ErrNotConfigured, ExitNotConfigured}, {ErrMultiplePrimaries, ExitMultiplePrimaries},
		{ErrNoUpToDateData, ExitNoUpToDateData}, {ErrHeldOpen, ExitHeldOpen},
		{ErrStandAlone, ExitStandAlone}, {context.DeadlineExceeded, ExitTimeout},
		{ErrPeerNotOutdated, ExitPeerNotOutdated}, {ErrNoQuorum, ExitNoQuorum},
	} {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return ExitFailure
}
