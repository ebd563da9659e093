package drbdvm

import (
	"slices"
	"testing"
	"time"
)

// OCF exit codes the scenarios expect.
const (
	OCFSuccess    = 0
	OCFErrGeneric = 1
	OCFNotRunning = 7
	OCFPromoted   = 8
)

// Clone plays Pacemaker for a promotable clone with notify=true over the
// cluster's guests: every operation is wrapped in the pre and post
// notifications Pacemaker sends to the active instances, monitors carry the
// role's interval and probes an interval of 0.
type Clone struct {
	Agent    Agent
	t        testing.TB
	active   []*Guest
	promoted []*Guest
}

// NewClone returns a clone of agent with no active instance.
func NewClone(t testing.TB, agent Agent) *Clone { return &Clone{Agent: agent, t: t} }

// Op runs one action on g and fails the test unless it exits want.
func (c *Clone) Op(g *Guest, action string, interval time.Duration, want int, meta map[string]string) Result {
	c.t.Helper()
	res := g.Exec(c.t, c.Agent.Script(g, action, interval, meta))
	if res.Status != want {
		c.t.Fatalf("%s %s on %s: exit %d, want %d\nstdout: %s\nstderr: %s", c.Agent.Type, action, g.Name, res.Status, want, res.Stdout, res.Stderr)
	}
	return res
}

// Probe runs the interval-0 monitor Pacemaker sends before anything else.
func (c *Clone) Probe(g *Guest, want int) Result {
	c.t.Helper()
	return c.Op(g, "monitor", 0, want, nil)
}

// Monitor runs the recurring monitor of g's current role.
func (c *Clone) Monitor(g *Guest, want int) Result {
	c.t.Helper()
	interval := 31 * time.Second
	if slices.Contains(c.promoted, g) {
		interval = 29 * time.Second
	}
	return c.Op(g, "monitor", interval, want, nil)
}

// notify sends one notification to every active instance.
func (c *Clone) notify(n Notification) {
	c.t.Helper()
	n.Active = c.active
	n.Promoted = c.promoted
	for _, g := range c.active {
		if !slices.Contains(c.promoted, g) {
			n.Unpromoted = append(n.Unpromoted, g)
		}
	}
	for _, g := range c.active {
		c.Op(g, "notify", 0, OCFSuccess, c.Agent.NotifyMeta(n))
	}
}

// Start starts the instances on guests, wrapped in start notifications.
func (c *Clone) Start(guests ...*Guest) {
	c.t.Helper()
	c.notify(Notification{Type: "pre", Operation: "start", Start: guests})
	for _, g := range guests {
		c.Op(g, "start", 0, OCFSuccess, nil)
		c.active = append(c.active, g)
	}
	c.notify(Notification{Type: "post", Operation: "start", Start: guests})
}

// Stop stops the instances on guests, wrapped in stop notifications.
func (c *Clone) Stop(guests ...*Guest) {
	c.t.Helper()
	c.notify(Notification{Type: "pre", Operation: "stop", Stop: guests})
	for _, g := range guests {
		c.Op(g, "stop", 0, OCFSuccess, nil)
		c.active = slices.DeleteFunc(c.active, func(x *Guest) bool { return x == g })
	}
	c.notify(Notification{Type: "post", Operation: "stop", Stop: guests})
}

// Promote promotes g between pre and post promote notifications and fails
// the test unless the agent succeeds.
func (c *Clone) Promote(g *Guest) {
	c.t.Helper()
	c.transition(g, "promote", func() { c.promoted = append(c.promoted, g) })
}

// Demote demotes g like Promote promotes it.
func (c *Clone) Demote(g *Guest) {
	c.t.Helper()
	c.transition(g, "demote", func() {
		c.promoted = slices.DeleteFunc(c.promoted, func(x *Guest) bool { return x == g })
	})
}

// transition runs a promote or demote on g, wrapped in its notifications,
// and records the new role with done.
func (c *Clone) transition(g *Guest, op string, done func()) {
	c.t.Helper()
	notification := func(typ string) Notification {
		n := Notification{Type: typ, Operation: op}
		if op == "promote" {
			n.Promote = []*Guest{g}
		} else {
			n.Demote = []*Guest{g}
		}
		return n
	}
	c.notify(notification("pre"))
	c.Op(g, op, 0, OCFSuccess, nil)
	done()
	c.notify(notification("post"))
}
