package ocf

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Env is what Pacemaker told the agent for this one invocation: the action,
// the resource's parameters (defaults applied, already type-checked), the
// operation's meta attributes and, for notify, the notification variables.
type Env struct {
	Action   string
	Instance string // OCF_RESOURCE_INSTANCE, e.g. "vip" or "drbd:1"
	Log      *Logger
	// Ctx ends shortly before Pacemaker's operation timeout, so an agent
	// stops waiting in time to report why instead of being killed.
	Ctx context.Context

	getenv func(string) (string, bool)
	values map[string]string
	given  map[string]bool
	params map[string]*Param
}

func (e *Env) lookup(name string) string {
	v, _ := e.getenv(name)
	return v
}

func (e *Env) param(name string) string {
	if _, ok := e.params[name]; !ok {
		panic(fmt.Sprintf("ocf: agent reads undeclared parameter %q", name))
	}
	return e.values[name]
}

// String returns a parameter's value, or its default when unset.
func (e *Env) String(name string) string { return e.param(name) }

// Int returns an Integer parameter (validated before the handler runs).
// An unset parameter without default is 0.
func (e *Env) Int(name string) int {
	v := e.param(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		panic(fmt.Sprintf("ocf: parameter %s=%q escaped validation: %v", name, v, err))
	}
	return n
}

// Bool returns a Boolean parameter (validated before the handler runs).
func (e *Env) Bool(name string) bool {
	b, err := parseBool(e.param(name))
	if err != nil {
		panic(fmt.Sprintf("ocf: parameter %s escaped validation: %v", name, err))
	}
	return b
}

// IsSet reports whether Pacemaker passed the parameter (as opposed to the
// agent falling back to the default).
func (e *Env) IsSet(name string) bool {
	e.param(name)
	return e.given[name]
}

// Meta returns the operation meta attribute OCF_RESKEY_CRM_meta_<name>.
func (e *Env) Meta(name string) string { return e.lookup("OCF_RESKEY_CRM_meta_" + name) }

func (e *Env) metaMillis(name string) time.Duration {
	ms, err := strconv.ParseInt(e.Meta(name), 10, 64)
	if err != nil || ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// Timeout is the operation's timeout (0 when run by hand).
func (e *Env) Timeout() time.Duration { return e.metaMillis("timeout") }

// Interval is the recurring monitor's interval (0 for one-shot operations).
func (e *Env) Interval() time.Duration { return e.metaMillis("interval") }

// IsProbe reports whether this is a probe: a monitor with interval 0, which
// Pacemaker runs to learn the state on nodes where the resource may never
// have been configured. Probes report absence, they never fail because of it.
func (e *Env) IsProbe() bool { return e.Action == "monitor" && e.Interval() == 0 }

// CheckLevel is the monitor depth requested (OCF_CHECK_LEVEL; Pacemaker
// passes a depth op attribute as OCF_RESKEY_OCF_CHECK_LEVEL).
func (e *Env) CheckLevel() int {
	for _, k := range []string{"OCF_CHECK_LEVEL", "OCF_RESKEY_OCF_CHECK_LEVEL", "OCF_RESKEY_CRM_meta_OCF_CHECK_LEVEL"} {
		if n, err := strconv.Atoi(e.lookup(k)); err == nil {
			return n
		}
	}
	return 0
}

// StateDir is where agents keep run-time state (pidfiles): HA_RSCTMP, as
// set by ocf-shellfuncs, defaulting to /run/resource-agents.
func (e *Env) StateDir() string {
	if d := e.lookup("HA_RSCTMP"); d != "" {
		return d
	}
	return "/run/resource-agents"
}

// StatePath is the path of a run-time state file (a pidfile) named name in
// StateDir; "/" and ":" in name (clone instances are "rsc:1") become "_".
func (e *Env) StatePath(name string) string {
	return filepath.Join(e.StateDir(), strings.NewReplacer("/", "_", ":", "_").Replace(name))
}

// Notification is a clone notification (OCF_RESKEY_CRM_meta_notify_*).
type Notification struct {
	Type      string // "pre" or "post"
	Operation string // "start", "stop", "promote", "demote"
	// Node names (unames) per category. Pacemaker 2.1 sets both the
	// promoted/unpromoted and the older master/slave names; Promoted and
	// Unpromoted read whichever is present.
	Active, Inactive, Start, Stop, Promote, Demote, Promoted, Unpromoted []string
}

// Notify decodes the notification variables.
func (e *Env) Notify() Notification {
	list := func(names ...string) []string {
		for _, n := range names {
			if v, ok := e.getenv("OCF_RESKEY_CRM_meta_notify_" + n + "_uname"); ok {
				return strings.Fields(v)
			}
		}
		return nil
	}
	return Notification{
		Type:       e.Meta("notify_type"),
		Operation:  e.Meta("notify_operation"),
		Active:     list("active"),
		Inactive:   list("inactive"),
		Start:      list("start"),
		Stop:       list("stop"),
		Promote:    list("promote"),
		Demote:     list("demote"),
		Promoted:   list("promoted", "master"),
		Unpromoted: list("unpromoted", "slave"),
	}
}

// loadParams fills values from OCF_RESKEY_<name>, applying defaults, and
// returns the first configuration error (missing or ill-typed parameter).
func (e *Env) loadParams(params []Param) error {
	e.values = map[string]string{}
	e.given = map[string]bool{}
	e.params = map[string]*Param{}
	var first error
	for i := range params {
		p := &params[i]
		e.params[p.Name] = p
		v, ok := e.getenv("OCF_RESKEY_" + p.Name)
		e.given[p.Name] = ok && v != ""
		if v == "" {
			v = p.Default
		}
		e.values[p.Name] = v
		if first != nil {
			continue
		}
		switch {
		case v == "" && p.Required:
			first = fmt.Errorf("parameter %s is required", p.Name)
		case v != "":
			if err := p.check(v); err != nil {
				first = fmt.Errorf("parameter %s: %w", p.Name, err)
			}
		}
	}
	return first
}
