package drbd

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"pbxha/drbdctl"
	"pbxha/drbdctl/drbdtest"
	"pbxha/resource-agents/ocf"
	"pbxha/resource-agents/ocf/ocftest"
)

const events2 = "drbdsetup events2 --now --statistics pbx"

// state is the recorded events2 dump of one state.
func state(t *testing.T, name string) drbdtest.Call {
	return drbdtest.Call{Cmd: events2, Stdout: drbdtest.File(t, "testdata/"+name+".events2")}
}

var (
	notUp      = drbdtest.Call{Cmd: events2, Code: 10, Stderr: "pbx: No such resource\n"}
	shDev      = drbdtest.Call{Cmd: "drbdadm sh-dev pbx", Stdout: "/dev/drbd0\n"}
	delScore   = drbdtest.Call{Cmd: "crm_attribute --promotion --delete"}
	heldStderr = "pbx: State change failed: (-12) Device is held open by someone\nCommand 'drbdsetup secondary pbx' terminated with exit code 11\n"
)

func score(n string) drbdtest.Call {
	return drbdtest.Call{Cmd: "crm_attribute --promotion --update " + n}
}

// run runs one agent action against a script of recorded tool runs and
// returns its exit status and stderr (log and exit reason).
func run(t *testing.T, stateDir, action string, env map[string]string, calls ...drbdtest.Call) (ocf.Status, string) {
	t.Helper()
	s := drbdtest.New(t, calls...)
	a := New(Deps{
		Runner:     s,
		RetryDelay: time.Millisecond,
		Holders: func(dev string) ([]drbdctl.Holder, error) {
			return []drbdctl.Holder{{Kind: "mount", What: "/srv/pbxha"}}, nil
		},
	})
	vars := map[string]string{
		"OCF_RESKEY_drbd_resource": "pbx", "OCF_RESOURCE_INSTANCE": "drbd:0", "HA_RSCTMP": stateDir,
		"OCF_RESKEY_CRM_meta_timeout": "20000",
	}
	for k, v := range env {
		vars[k] = v
	}
	var stdout, stderr bytes.Buffer
	st := a.Run([]string{action}, func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, &stdout, &stderr)
	s.Done()
	return st, stderr.String()
}

var recurring = map[string]string{"OCF_RESKEY_CRM_meta_interval": "31000"}

func TestMetadata(t *testing.T) {
	var out bytes.Buffer
	if st := Agent.Run([]string{"meta-data"}, func(string) (string, bool) { return "", false }, &out, os.Stderr); st != ocf.Success {
		t.Fatalf("meta-data: %v", st)
	}
	ocftest.ValidateMetadata(t, out.Bytes())
	for _, want := range []string{`name="promote"`, `name="demote"`, `name="notify"`, `role="Promoted"`, `name="drbd_resource"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("metadata lacks %s", want)
		}
	}
}

func TestMonitor(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    map[string]string
		calls  []drbdtest.Call
		want   ocf.Status
		reason string
	}{
		{"secondary, peers known", recurring, []drbdtest.Call{state(t, "secondary-uptodate-connected"), score("10000")}, ocf.Success, ""},
		{"primary", recurring, []drbdtest.Call{state(t, "primary-uptodate-connected"), score("10000")}, ocf.RunningPromoted, ""},
		{"UpToDate, peer unknown", recurring, []drbdtest.Call{state(t, "secondary-uptodate-peer-unknown"), score("1000")}, ocf.Success, ""},
		{"Consistent", recurring, []drbdtest.Call{state(t, "secondary-consistent-peer-unknown"), score("5")}, ocf.Success, ""},
		{"resync target has no score", recurring, []drbdtest.Call{state(t, "secondary-inconsistent-synctarget"), delScore}, ocf.Success, ""},
		{"Outdated has no score", recurring, []drbdtest.Call{state(t, "secondary-outdated-peer-unknown"), delScore}, ocf.Success, ""},
		{"no quorum, no score", recurring, []drbdtest.Call{state(t, "secondary-uptodate-noquorum"), delScore}, ocf.Success, ""},
		{"primary lost its disk", recurring, []drbdtest.Call{state(t, "primary-diskless-after-io-error"), delScore}, ocf.FailedPromoted, "Primary with volume 0 disk Diskless"},
		{"failed disk", recurring, []drbdtest.Call{state(t, "secondary-failed"), delScore}, ocf.ErrGeneric, "volume 0 disk Failed"},
		{"down", recurring, []drbdtest.Call{notUp}, ocf.NotRunning, ""},
		{"probe without DRBD module", nil, []drbdtest.Call{{Cmd: events2, Code: 20, Stderr: "Could not connect to 'drbd' generic netlink family\n"}}, ocf.NotRunning, ""},
		{"probe without drbd-utils", nil, []drbdtest.Call{{Cmd: events2, Err: exec.ErrNotFound}}, ocf.NotRunning, ""},
		{"monitor without drbd-utils", recurring, []drbdtest.Call{{Cmd: events2, Err: exec.ErrNotFound}}, ocf.NotRunning, ""},
		{"monitor cannot read state", recurring, []drbdtest.Call{{Cmd: events2, Code: -1, Stderr: "exec: drbdsetup: not found"}}, ocf.ErrGeneric, "drbdsetup: not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, log := run(t, t.TempDir(), "monitor", tc.env, tc.calls...)
			if st != tc.want || !strings.Contains(log, tc.reason) {
				t.Errorf("monitor = %v, want %v with reason %q; log:\n%s", st, tc.want, tc.reason, log)
			}
		})
	}
}

// TestMonitorScoreOnlyOnChange: a steady state runs crm_attribute once;
// a probe always rewrites the score (attributes may have been lost).
func TestMonitorScoreOnlyOnChange(t *testing.T) {
	dir := t.TempDir()
	steps := []struct {
		env   map[string]string
		calls []drbdtest.Call
	}{
		{recurring, []drbdtest.Call{state(t, "secondary-uptodate-connected"), score("10000")}},
		{recurring, []drbdtest.Call{state(t, "secondary-uptodate-connected")}},
		{recurring, []drbdtest.Call{state(t, "secondary-uptodate-peer-unknown"), score("1000")}},
		{nil, []drbdtest.Call{state(t, "secondary-uptodate-peer-unknown"), score("1000")}},
	}
	for i, s := range steps {
		if st, log := run(t, dir, "monitor", s.env, s.calls...); st != ocf.Success {
			t.Fatalf("monitor %d = %v\n%s", i+1, st, log)
		}
	}
}

func TestPromote(t *testing.T) {
	primary := drbdtest.Call{Cmd: "drbdadm primary pbx"}
	multi := drbdtest.Call{Cmd: "drbdadm primary pbx", Code: 11,
		Stderr: "pbx: State change failed: (-1) Multiple primaries not allowed by config\nCommand 'drbdsetup primary pbx' terminated with exit code 11\n"}
	for _, tc := range []struct {
		name   string
		calls  []drbdtest.Call
		want   ocf.Status
		reason string
	}{
		{"promotes", []drbdtest.Call{state(t, "secondary-uptodate-connected"), primary, state(t, "primary-uptodate-connected"), score("10000")}, ocf.Success, ""},
		{"already primary", []drbdtest.Call{state(t, "primary-uptodate-connected")}, ocf.Success, ""},
		{"Consistent data goes to DRBD's fencing", []drbdtest.Call{state(t, "secondary-consistent-peer-unknown"), primary, state(t, "primary-uptodate-connected"), score("10000")}, ocf.Success, ""},
		{"Outdated data is refused, never forced", []drbdtest.Call{state(t, "secondary-outdated-peer-unknown")}, ocf.ErrGeneric, "local disk is Outdated, no UpToDate data here (promotion is never forced)"},
		{"Inconsistent data is refused", []drbdtest.Call{state(t, "secondary-inconsistent-synctarget")}, ocf.ErrGeneric, "local disk is Inconsistent"},
		{"no quorum", []drbdtest.Call{state(t, "secondary-uptodate-noquorum")}, ocf.ErrGeneric, "no DRBD quorum"},
		{"peer stays Primary", []drbdtest.Call{state(t, "secondary-uptodate-peer-primary"), multi, multi, multi, multi, multi}, ocf.ErrGeneric, "after 5 attempts: drbdadm primary pbx: state change failed: (-1) Multiple primaries not allowed by config"},
		{"peer demotes meanwhile", []drbdtest.Call{state(t, "secondary-uptodate-peer-primary"), multi, primary, state(t, "primary-uptodate-connected"), score("10000")}, ocf.Success, ""},
		{"not started", []drbdtest.Call{notUp}, ocf.ErrGeneric, "resource is not started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, log := run(t, t.TempDir(), "promote", nil, tc.calls...)
			if st != tc.want || !strings.Contains(log, tc.reason) {
				t.Errorf("promote = %v, want %v with reason %q; log:\n%s", st, tc.want, tc.reason, log)
			}
			if tc.want != ocf.Success && !strings.Contains(log, "ocf-exit-reason:") {
				t.Errorf("failure without an exit reason:\n%s", log)
			}
		})
	}
}

func TestDemoteAndStop(t *testing.T) {
	secondary := drbdtest.Call{Cmd: "drbdadm secondary pbx"}
	held := drbdtest.Call{Cmd: "drbdadm secondary pbx", Code: 11, Stderr: heldStderr}
	heldDown := drbdtest.Call{Cmd: "drbdadm down pbx", Code: 11, Stderr: strings.Replace(heldStderr, "secondary", "down", 1)}
	for _, tc := range []struct {
		name, action string
		calls        []drbdtest.Call
		want         ocf.Status
		reason       string
	}{
		{"demote", "demote", []drbdtest.Call{state(t, "primary-uptodate-connected"), secondary, state(t, "secondary-uptodate-connected"), score("10000")}, ocf.Success, ""},
		{"demote a Secondary", "demote", []drbdtest.Call{state(t, "secondary-uptodate-connected"), score("10000")}, ocf.Success, ""},
		{"demote while mounted", "demote", []drbdtest.Call{state(t, "primary-uptodate-connected"), held, held, held, held, held, state(t, "primary-uptodate-connected")},
			ocf.ErrGeneric, "Device is held open by someone: /dev/drbd0 is held by mount /srv/pbxha"},
		{"demote a stopped resource", "demote", []drbdtest.Call{notUp}, ocf.ErrGeneric, "not started"},
		{"stop a Primary", "stop", []drbdtest.Call{state(t, "primary-uptodate-connected"), secondary, state(t, "secondary-uptodate-connected"), {Cmd: "drbdadm down pbx"}, notUp, delScore}, ocf.Success, ""},
		{"stop a stopped resource", "stop", []drbdtest.Call{notUp, delScore}, ocf.Success, ""},
		{"stop on a node without drbd-utils", "stop", []drbdtest.Call{{Cmd: events2, Err: exec.ErrNotFound}, {Cmd: delScore.Cmd, Err: exec.ErrNotFound}}, ocf.Success, ""},
		{"stop while held", "stop", []drbdtest.Call{state(t, "secondary-uptodate-connected"), state(t, "secondary-uptodate-connected"), heldDown},
			ocf.ErrGeneric, "Device is held open by someone: /dev/drbd0 is held by mount /srv/pbxha"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, log := run(t, t.TempDir(), tc.action, nil, tc.calls...)
			if st != tc.want || !strings.Contains(log, tc.reason) {
				t.Errorf("%s = %v, want %v with reason %q; log:\n%s", tc.action, st, tc.want, tc.reason, log)
			}
		})
	}
}

func TestStartAndValidate(t *testing.T) {
	for _, tc := range []struct {
		name, action string
		env          map[string]string
		calls        []drbdtest.Call
		want         ocf.Status
		reason       string
	}{
		{"start", "start", nil, []drbdtest.Call{shDev, notUp, {Cmd: "drbdadm up pbx"}, state(t, "secondary-uptodate-peer-unknown"), score("1000")}, ocf.Success, ""},
		{"start when up", "start", nil, []drbdtest.Call{shDev, state(t, "secondary-uptodate-connected"), state(t, "secondary-uptodate-connected"), score("10000")}, ocf.Success, ""},
		{"start on a failed disk", "start", nil, []drbdtest.Call{shDev, notUp, {Cmd: "drbdadm up pbx"}, state(t, "secondary-failed")}, ocf.ErrGeneric, "volume 0 disk Failed"},
		{"undefined resource", "validate-all", nil, []drbdtest.Call{{Cmd: "drbdadm sh-dev pbx", Code: 10, Stderr: "'pbx' not defined in your config (for this host).\n"}}, ocf.ErrInstalled, "not defined for this node"},
		{"without drbd-utils", "validate-all", nil, []drbdtest.Call{{Cmd: "drbdadm sh-dev pbx", Err: exec.ErrNotFound}}, ocf.ErrInstalled, "install drbd-utils"},
		{"two instances per node", "validate-all", map[string]string{"OCF_RESKEY_CRM_meta_clone_node_max": "2"}, []drbdtest.Call{shDev}, ocf.ErrConfigured, "clone_node_max=2"},
		{"two Primaries", "validate-all", map[string]string{"OCF_RESKEY_CRM_meta_promoted_max": "2"}, []drbdtest.Call{shDev}, ocf.ErrConfigured, "promoted_max=2"},
		{"valid", "validate-all", map[string]string{"OCF_RESKEY_CRM_meta_promoted_max": "1"}, []drbdtest.Call{shDev}, ocf.Success, ""},
		{"bad resource name", "validate-all", map[string]string{"OCF_RESKEY_drbd_resource": "a b"}, nil, ocf.ErrConfigured, "not a DRBD resource name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, log := run(t, t.TempDir(), tc.action, tc.env, tc.calls...)
			if st != tc.want || !strings.Contains(log, tc.reason) {
				t.Errorf("%s = %v, want %v with reason %q; log:\n%s", tc.action, st, tc.want, tc.reason, log)
			}
		})
	}
}

func TestNotify(t *testing.T) {
	post := map[string]string{"OCF_RESKEY_CRM_meta_notify_type": "post", "OCF_RESKEY_CRM_meta_notify_operation": "promote",
		"OCF_RESKEY_CRM_meta_notify_promote_uname": "pbx-b"}
	pre := map[string]string{"OCF_RESKEY_CRM_meta_notify_type": "pre", "OCF_RESKEY_CRM_meta_notify_operation": "promote"}
	if st, log := run(t, t.TempDir(), "notify", post, state(t, "secondary-uptodate-peer-primary"), score("10000")); st != ocf.Success {
		t.Errorf("post-promote notify = %v\n%s", st, log)
	}
	if st, log := run(t, t.TempDir(), "notify", pre); st != ocf.Success {
		t.Errorf("pre-promote notify = %v\n%s", st, log)
	}
	if st, log := run(t, t.TempDir(), "notify", post, notUp); st != ocf.Success {
		t.Errorf("notify on a stopped resource = %v\n%s", st, log)
	}
}

func TestPromotionScoreOrder(t *testing.T) {
	if !(ScoreUpToDateKnown > ScoreUpToDate && ScoreUpToDate > ScoreConsistent && ScoreConsistent > 0) {
		t.Fatal("scores must order UpToDate+peers known > UpToDate > Consistent > none")
	}
}
