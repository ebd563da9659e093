// Package ocf is the framework every pbxha resource agent is built on: the
// OCF Resource Agent API 1.1 as Pacemaker drives it. An agent declares its
// parameters and actions once (Agent); the framework reads the environment
// (Env), type-checks parameters, generates the metadata XML, dispatches the
// action, turns results into exit codes with an exit reason, and keeps
// panics from reaching Pacemaker.
//
// Rules the framework enforces so agents need not remember them:
//   - probes (monitor, interval 0) never fail on absence or on a
//     configuration that cannot apply here: they report NotRunning;
//   - stop with an unusable configuration succeeds, since nothing can have
//     been started from it (a failed stop would get the node fenced);
//   - validate-all and start run the agent's Validate (host checks, exit 2)
//     after the parameter checks (configuration errors, exit 6).
package ocf

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Handler performs one action. It returns nil for success, a Status (e.g.
// NotRunning, RunningPromoted) for a non-error result, an error from Fail
// for a failure with a chosen code, or any other error (generic failure).
type Handler func(*Env) error

// Agent is a resource agent's declaration and behaviour.
type Agent struct {
	Name      string // the agent's type, e.g. "vip" (ocf:pbxha:vip)
	Version   string
	ShortDesc string
	LongDesc  string
	Params    []Param
	Actions   []Action // metadata lines for the handlers below (meta-data and validate-all are added)

	Start, Stop, Monitor    Handler
	Promote, Demote, Notify Handler
	ReloadAgent             Handler
	Validate                Handler            // host-specific checks (exit 2 on failure)
	Tasks                   map[string]Handler // background helpers started with Env.Spawn
}

const taskEnv = "PBXHA_OCF_TASK"

func (a *Agent) handler(action string) Handler {
	switch action {
	case "start":
		return a.Start
	case "stop":
		return a.Stop
	case "monitor":
		return a.Monitor
	case "promote":
		return a.Promote
	case "demote":
		return a.Demote
	case "notify":
		return a.Notify
	case "reload-agent":
		return a.ReloadAgent
	case "validate-all":
		return func(*Env) error { return nil } // parameter checks + Validate run in dispatch
	}
	return nil
}

func (a *Agent) actions() []Action {
	acts := append([]Action(nil), a.Actions...)
	acts = append(acts, Action{Name: "meta-data", Timeout: 5 * time.Second},
		Action{Name: "validate-all", Timeout: 20 * time.Second})
	return acts
}

func (a *Agent) usage(w io.Writer) {
	names := map[string]bool{"meta-data": true, "validate-all": true, "usage": true}
	for _, act := range a.Actions {
		names[act.Name] = true
	}
	if a.ReloadAgent != nil {
		names["reload-agent"] = true
	}
	var list []string
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	fmt.Fprintf(w, "usage: %s {%s}\n\nAn OCF resource agent (ocf:pbxha:%s): %s\nParameters come from OCF_RESKEY_* variables; \"%s meta-data\" lists them.\n",
		a.Name, strings.Join(list, "|"), a.Name, a.ShortDesc, a.Name)
}

// Main runs the agent as a process: it never returns.
func (a *Agent) Main() {
	os.Exit(int(a.Run(os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)))
}

// Run performs the action named by args[0] and returns the exit code.
func (a *Agent) Run(args []string, getenv func(string) (string, bool), stdout, stderr io.Writer) (status Status) {
	trace := func(k string) bool { v, _ := getenv(k); return v != "" && v != "0" }
	env := &Env{getenv: getenv}
	env.Instance, _ = getenv("OCF_RESOURCE_INSTANCE")
	env.Log = newLogger(stderr, a.Name, env.Instance, trace("OCF_TRACE_RA") || trace("HA_debug"))

	defer func() {
		if r := recover(); r != nil {
			env.Log.Errorf("panic in %s: %v\n%s", env.Action, r, debug.Stack())
			env.Log.exitReason(fmt.Sprintf("internal error in %s: %v", env.Action, r))
			status = ErrGeneric
		}
	}()

	if task, ok := getenv(taskEnv); ok && task != "" {
		env.Action = task
		return a.runTask(env)
	}
	if len(args) == 0 {
		a.usage(stderr)
		return ErrArgs
	}
	env.Action = args[0]
	switch env.Action {
	case "meta-data":
		if err := a.WriteMetadata(stdout); err != nil {
			env.Log.Errorf("%v", err)
			return ErrGeneric
		}
		return Success
	case "usage", "help", "--help", "-h":
		a.usage(stdout)
		return Success
	}
	h := a.handler(env.Action)
	if h == nil {
		a.usage(stderr)
		env.Log.exitReason(fmt.Sprintf("action %q is not implemented by %s", env.Action, a.Name))
		return ErrUnimplemented
	}
	return a.dispatch(env, h)
}

func (a *Agent) dispatch(env *Env, h Handler) Status {
	ctx := context.Background()
	if t := env.Timeout(); t > 0 {
		// Leave a margin to report the failure before Pacemaker's own timer fires.
		margin := min(t/10, 2*time.Second)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t-margin)
		defer cancel()
	}
	env.Ctx = ctx

	if err := env.loadParams(a.Params); err != nil {
		switch {
		case env.IsProbe():
			env.Log.Infof("probe: %v: resource cannot be running here", err)
			return NotRunning
		case env.Action == "stop":
			env.Log.Warnf("stop: %v: nothing can have been started from this configuration", err)
			return Success
		}
		return a.finish(env, Fail(ErrConfigured, "%v", err))
	}
	if (env.Action == "validate-all" || env.Action == "start") && a.Validate != nil {
		if err := a.Validate(env); err != nil {
			return a.finish(env, err)
		}
	}
	return a.finish(env, h(env))
}

func (a *Agent) finish(env *Env, err error) Status {
	st, reason := Classify(err)
	switch st {
	case Success, NotRunning, RunningPromoted:
		if reason != "" {
			env.Log.Infof("%s: %s", env.Action, reason)
		}
	default:
		if reason == "" {
			reason = fmt.Sprintf("%s failed: %s", env.Action, st)
		}
		env.Log.Errorf("%s: %s", env.Action, reason)
		env.Log.exitReason(reason)
	}
	return st
}

func (a *Agent) runTask(env *Env) Status {
	h := a.Tasks[env.Action]
	if h == nil {
		env.Log.Errorf("unknown background task %q", env.Action)
		return ErrUnimplemented
	}
	env.Ctx = context.Background()
	if err := env.loadParams(a.Params); err != nil {
		env.Log.Errorf("task %s: %v", env.Action, err)
		return ErrConfigured
	}
	if err := h(env); err != nil {
		env.Log.Errorf("task %s: %v", env.Action, err)
		return ErrGeneric
	}
	return Success
}

// Spawn starts the agent's background task name as a detached process (own
// session, no stdio) with this invocation's environment, and returns its
// PID. Pacemaker waits for the action's stdout/stderr to close, so the
// child must not inherit them.
func (e *Env) Spawn(name string) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("spawn %s: %w", name, err)
	}
	cmd := exec.Command(self)
	cmd.Args = []string{filepath.Base(os.Args[0])} // multi-call binaries dispatch on argv[0]
	cmd.Env = append(os.Environ(), taskEnv+"="+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("spawn %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Release()
	return pid, nil
}
