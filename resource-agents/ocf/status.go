package ocf

import (
	"errors"
	"fmt"
)

// Status is an OCF exit code (OCF Resource Agent API 1.1, "Exit codes").
type Status int

// The OCF exit codes. Monitor returns NotRunning, RunningPromoted and the
// degraded codes as results, not failures.
const (
	Success          Status = 0
	ErrGeneric       Status = 1
	ErrArgs          Status = 2
	ErrUnimplemented Status = 3
	ErrPerm          Status = 4
	ErrInstalled     Status = 5
	ErrConfigured    Status = 6
	NotRunning       Status = 7
	RunningPromoted  Status = 8
	FailedPromoted   Status = 9
	Degraded         Status = 190
	DegradedPromoted Status = 191
)

var statusNames = map[Status]string{
	Success:          "OCF_SUCCESS",
	ErrGeneric:       "OCF_ERR_GENERIC",
	ErrArgs:          "OCF_ERR_ARGS",
	ErrUnimplemented: "OCF_ERR_UNIMPLEMENTED",
	ErrPerm:          "OCF_ERR_PERM",
	ErrInstalled:     "OCF_ERR_INSTALLED",
	ErrConfigured:    "OCF_ERR_CONFIGURED",
	NotRunning:       "OCF_NOT_RUNNING",
	RunningPromoted:  "OCF_RUNNING_PROMOTED",
	FailedPromoted:   "OCF_FAILED_PROMOTED",
	Degraded:         "OCF_DEGRADED",
	DegradedPromoted: "OCF_DEGRADED_PROMOTED",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("OCF status %d", int(s))
}

// Error lets a handler return a bare Status (e.g. `return ocf.NotRunning`).
func (s Status) Error() string { return s.String() }

// Error is a handler result with an exit code and an exit reason that
// Pacemaker shows to the administrator (crm_mon, pcs status).
type Error struct {
	Status Status
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// Fail returns an *Error with status s and a formatted reason. A %w verb
// keeps the cause reachable with errors.Is/As.
func Fail(s Status, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Status: s, Reason: err.Error(), Err: errors.Unwrap(err)}
}

// Classify maps a handler's result to the exit code and the exit reason.
// Plain errors are generic failures: the agent could not do what it was
// asked and does not know better.
func Classify(err error) (Status, string) {
	if err == nil {
		return Success, ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Status, e.Reason
	}
	var s Status
	if errors.As(err, &s) {
		return s, ""
	}
	return ErrGeneric, err.Error()
}
