// Package drbd is the ocf:pbxha:drbd resource agent: a DRBD 8.4 or 9
// resource as a promotable clone. It is built on package drbdctl and:
//   - reports truthfully: monitor returns 8 on the Primary, 0 on a
//     Secondary, 7 when the resource is down, and fails on a failed or
//     detached disk; probes never fail because DRBD is absent;
//   - sets the promotion score with `crm_attribute --promotion` from the
//     local and peer disk states (see PromotionScore), and removes it
//     without DRBD quorum or consistent data;
//   - never forces: promote refuses without UpToDate (or fence-upgradable
//     Consistent) data and returns DRBD's own refusal typed;
//   - demote and stop succeed only once the device is released, and name
//     the mount or process that still holds it when it is not.
package drbd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"pbxha/drbdctl"
	"pbxha/resource-agents/ocf"
)

// Deps are what the agent runs; tests replace them with recorded outputs.
type Deps struct {
	Runner     drbdctl.Runner                             // drbdadm, drbdsetup, crm_attribute; nil: real programs
	Holders    func(dev string) ([]drbdctl.Holder, error) // nil: procfs/sysfs scan
	RetryDelay time.Duration                              // between promote/demote tries; 0: 1s
}

// Agent is ocf:pbxha:drbd running the real tools.
var Agent = New(Deps{})

var resourceName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

func checkResource(v string) error {
	if !resourceName.MatchString(v) {
		return fmt.Errorf("%q is not a DRBD resource name", v)
	}
	return nil
}

// New returns the agent running deps.
func New(deps Deps) *ocf.Agent {
	if deps.Runner == nil {
		deps.Runner = drbdctl.Exec{}
	}
	a := &agent{deps: deps}
	return &ocf.Agent{
		Name:      "drbd",
		Version:   "1.0",
		ShortDesc: "DRBD 8.4/9 resource as a promotable clone",
		LongDesc: "Brings a DRBD resource up on every node of a promotable clone and lets Pacemaker promote it on one. " +
			"Promotion scores come from the disk states (UpToDate with every peer known 10000, UpToDate alone 1000, " +
			"Consistent 5, otherwise none) and are withheld without DRBD quorum. Promotion is never forced. " +
			"Demote and stop fail, naming the holder, while a mount or a process keeps the device open. " +
			"Use with resource-level fencing (fencing resource-only; crm-fence-peer.9.sh / crm-unfence-peer.9.sh): " +
			"`drbdctl gen-config` writes such a resource file.",
		Params: []ocf.Param{
			{Name: "drbd_resource", Type: ocf.String, Required: true, Unique: true, Check: checkResource,
				ShortDesc: "DRBD resource name",
				LongDesc:  "The name of the resource in the DRBD configuration (drbdadm's view of /etc/drbd.conf)."},
		},
		Actions: []ocf.Action{
			{Name: "start", Timeout: 240 * time.Second},
			{Name: "stop", Timeout: 100 * time.Second},
			{Name: "promote", Timeout: 90 * time.Second},
			{Name: "demote", Timeout: 90 * time.Second},
			{Name: "notify", Timeout: 90 * time.Second},
			{Name: "monitor", Timeout: 20 * time.Second, Interval: 29 * time.Second, Role: "Promoted"},
			{Name: "monitor", Timeout: 20 * time.Second, Interval: 31 * time.Second, Role: "Unpromoted"},
		},
		Start:    a.start,
		Stop:     a.stop,
		Monitor:  a.monitor,
		Promote:  a.promote,
		Demote:   a.demote,
		Notify:   a.notify,
		Validate: a.validate,
	}
}

type agent struct{ deps Deps }

func (a *agent) client() *drbdctl.Client {
	return &drbdctl.Client{Runner: a.deps.Runner, Holders: a.deps.Holders, RetryDelay: a.deps.RetryDelay}
}

func res(e *ocf.Env) string { return e.String("drbd_resource") }

// validate checks the host: drbd-utils is installed and the resource is
// defined for this node, and the clone is configured the way this agent
// supports (one instance per node, one Primary).
func (a *agent) validate(e *ocf.Env) error {
	if _, err := a.deps.Runner.Run(e.Ctx, "drbdadm", "sh-dev", res(e)); err != nil {
		// 5, this node's problem: 6 would stop the resource everywhere.
		if errors.Is(err, exec.ErrNotFound) {
			return ocf.Fail(ocf.ErrInstalled, "drbdadm not found: install drbd-utils")
		}
		return ocf.Fail(ocf.ErrInstalled, "resource %s is not defined for this node in the DRBD configuration: %v", res(e), err)
	}
	for _, n := range []string{"clone_node_max", "promoted_max", "master_max", "promoted_node_max", "master_node_max"} {
		if v := e.Meta(n); v != "" && v != "1" {
			return ocf.Fail(ocf.ErrConfigured, "meta attribute %s=%s: this agent supports one instance per node and one Primary (set it to 1)", n, v)
		}
	}
	return nil
}

// status reads the resource; ErrNotConfigured means it is down.
func (a *agent) status(e *ocf.Env) (drbdctl.Resource, error) {
	return a.client().Status(e.Ctx, res(e))
}

func (a *agent) monitor(e *ocf.Env) error {
	r, err := a.status(e)
	switch {
	case errors.Is(err, drbdctl.ErrNotConfigured):
		return ocf.NotRunning
	case err != nil && e.IsProbe():
		e.Log.Warnf("probe: cannot read DRBD state (%v): reporting not running", err)
		return ocf.NotRunning
	case err != nil:
		return ocf.Fail(ocf.ErrGeneric, "monitor %s: %w", res(e), err)
	}
	for _, w := range drbdctl.Warnings(r) {
		e.Log.Warnf("%s: %s", res(e), w)
	}
	a.setScore(e, r, e.IsProbe())
	promoted := r.Role == drbdctl.Primary
	if bad := failedDisks(r); bad != "" {
		if promoted {
			return ocf.Fail(ocf.FailedPromoted, "%s is Primary with %s", res(e), bad)
		}
		return ocf.Fail(ocf.ErrGeneric, "%s has %s", res(e), bad)
	}
	if promoted {
		return ocf.RunningPromoted
	}
	return nil
}

// failedDisks describes volumes without a usable backing disk (Failed, or
// Diskless after an I/O error detached it), "" when all are fine.
func failedDisks(r drbdctl.Resource) string {
	var bad []string
	for _, d := range r.Devices {
		if d.Disk == drbdctl.Failed || (d.Disk == drbdctl.Diskless && !d.Client) {
			bad = append(bad, fmt.Sprintf("volume %d disk %s", d.Volume, d.Disk))
		}
	}
	return strings.Join(bad, ", ")
}

func (a *agent) start(e *ocf.Env) error {
	c := a.client()
	if err := c.Up(e.Ctx, res(e)); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "start: %w", err)
	}
	r, err := a.status(e)
	if err != nil {
		return ocf.Fail(ocf.ErrGeneric, "start: %w", err)
	}
	if bad := failedDisks(r); bad != "" {
		return ocf.Fail(ocf.ErrGeneric, "start %s: %s", res(e), bad)
	}
	a.setScore(e, r, true)
	return nil
}

func (a *agent) stop(e *ocf.Env) error {
	c := a.client()
	r, err := a.status(e)
	if errors.Is(err, drbdctl.ErrNotConfigured) {
		a.deleteScore(e)
		return nil
	}
	if err != nil {
		return ocf.Fail(ocf.ErrGeneric, "stop: %w", err)
	}
	if r.Role == drbdctl.Primary {
		if err := c.Secondary(e.Ctx, res(e)); err != nil {
			return ocf.Fail(ocf.ErrGeneric, "stop: %w", err)
		}
	}
	if err := c.Down(e.Ctx, res(e)); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "stop: %w", err)
	}
	if _, err := a.status(e); !errors.Is(err, drbdctl.ErrNotConfigured) {
		return ocf.Fail(ocf.ErrGeneric, "stop %s: still configured after drbdadm down (%v)", res(e), err)
	}
	a.deleteScore(e)
	return nil
}

func (a *agent) promote(e *ocf.Env) error {
	r, err := a.status(e)
	if errors.Is(err, drbdctl.ErrNotConfigured) {
		return ocf.Fail(ocf.ErrGeneric, "promote %s: resource is not started", res(e))
	}
	if err != nil {
		return ocf.Fail(ocf.ErrGeneric, "promote: %w", err)
	}
	if r.Role == drbdctl.Primary {
		return nil
	}
	if !r.Quorate() {
		return ocf.Fail(ocf.ErrGeneric, "promote %s refused: no DRBD quorum", res(e))
	}
	if disk := r.LocalDisk(); disk != drbdctl.UpToDate && disk != drbdctl.Consistent {
		return ocf.Fail(ocf.ErrGeneric, "promote %s refused: local disk is %s, no UpToDate data here (promotion is never forced)", res(e), disk)
	}
	if peers := r.PrimaryPeers(); len(peers) > 0 {
		e.Log.Infof("promote %s: peer %s is still Primary, DRBD refuses until it demotes (retrying)", res(e), strings.Join(peers, ", "))
	}
	if err := a.client().Primary(e.Ctx, res(e)); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "%w", err)
	}
	if r, err = a.status(e); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "promote: %w", err)
	}
	if r.Role != drbdctl.Primary || r.LocalDisk() != drbdctl.UpToDate {
		return ocf.Fail(ocf.ErrGeneric, "promote %s: drbdadm primary succeeded but the role is %s with disk %s", res(e), r.Role, r.LocalDisk())
	}
	a.setScore(e, r, true)
	return nil
}

func (a *agent) demote(e *ocf.Env) error {
	r, err := a.status(e)
	if errors.Is(err, drbdctl.ErrNotConfigured) {
		return ocf.Fail(ocf.ErrGeneric, "demote %s: resource is not started", res(e))
	}
	if err != nil {
		return ocf.Fail(ocf.ErrGeneric, "demote: %w", err)
	}
	if r.Role == drbdctl.Primary {
		if err := a.client().Secondary(e.Ctx, res(e)); err != nil {
			return ocf.Fail(ocf.ErrGeneric, "%w", err)
		}
		if r, err = a.status(e); err != nil {
			return ocf.Fail(ocf.ErrGeneric, "demote: %w", err)
		}
		if r.Role == drbdctl.Primary {
			return ocf.Fail(ocf.ErrGeneric, "demote %s: still Primary after drbdadm secondary", res(e))
		}
	}
	a.setScore(e, r, true)
	return nil
}

// notify refreshes the score after peers started, stopped, promoted or
// demoted: their disk states feed it. It never fails the transition.
func (a *agent) notify(e *ocf.Env) error {
	n := e.Notify()
	e.Log.Debugf("notify %s-%s: promote=%v demote=%v start=%v stop=%v promoted=%v", n.Type, n.Operation, n.Promote, n.Demote, n.Start, n.Stop, n.Promoted)
	if n.Type != "post" {
		return nil
	}
	if r, err := a.status(e); err == nil {
		a.setScore(e, r, false)
	} else if !errors.Is(err, drbdctl.ErrNotConfigured) {
		e.Log.Warnf("notify %s-%s: %v", n.Type, n.Operation, err)
	}
	return nil
}

// scoreFile remembers the last score written, so that a steady-state
// monitor does not run crm_attribute.
func scoreFile(e *ocf.Env) string {
	return filepath.Join(e.StateDir(), "pbxha-drbd-"+strings.ReplaceAll(e.Instance, "/", "_")+".score")
}

// setScore writes r's promotion score (or deletes it) unless it is the
// one last written; force writes anyway.
func (a *agent) setScore(e *ocf.Env, r drbdctl.Resource, force bool) {
	score, ok, why := PromotionScore(r)
	want := "none"
	if ok {
		want = strconv.Itoa(score)
	}
	if !force {
		if last, err := os.ReadFile(scoreFile(e)); err == nil && string(last) == want {
			return
		}
	}
	args := []string{"--promotion", "--delete"}
	if ok {
		args = []string{"--promotion", "--update", want}
	}
	if _, err := a.deps.Runner.Run(e.Ctx, "crm_attribute", args...); err != nil {
		e.Log.Warnf("promotion score %s (%s): %v", want, why, err)
		return
	}
	e.Log.Debugf("promotion score %s (%s)", want, why)
	if err := os.MkdirAll(e.StateDir(), 0o755); err == nil {
		_ = os.WriteFile(scoreFile(e), []byte(want), 0o644) // a lost cache only costs a crm_attribute run
	}
}

func (a *agent) deleteScore(e *ocf.Env) {
	if _, err := a.deps.Runner.Run(e.Ctx, "crm_attribute", "--promotion", "--delete"); err != nil {
		e.Log.Warnf("delete promotion score: %v", err)
	}
	_ = os.Remove(scoreFile(e))
}
