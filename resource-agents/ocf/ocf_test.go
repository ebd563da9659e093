package ocf

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"pbxha/internal/testenv"
	"pbxha/resource-agents/ocf/ocftest"
)

func testAgent() *Agent {
	lo, hi := IntRange(1, 10)
	return &Agent{
		Name: "toy", Version: "1.0", ShortDesc: "Toy agent", LongDesc: "A toy agent for tests & <checks>.",
		Params: []Param{
			{Name: "ip", ShortDesc: "address", LongDesc: "The address.", Type: String, Required: true, Unique: true,
				Check: func(v string) error {
					if v == "bad" {
						return errors.New(`"bad" is not an address`)
					}
					return nil
				}},
			{Name: "count", ShortDesc: "count", LongDesc: "How many.", Type: Integer, Default: "5", Min: lo, Max: hi},
			{Name: "flag", ShortDesc: "flag", LongDesc: "A switch.", Type: Boolean, Default: "false"},
		},
		Actions: []Action{
			{Name: "start", Timeout: 20 * time.Second},
			{Name: "stop", Timeout: 20 * time.Second},
			{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
			{Name: "monitor", Timeout: 20 * time.Second, Interval: 30 * time.Second, Depth: 10},
		},
		Start: func(e *Env) error {
			if e.Int("count") == 7 {
				return Fail(ErrGeneric, "cannot start %s: %w", e.String("ip"), os.ErrPermission)
			}
			return nil
		},
		Stop: func(e *Env) error { return nil },
		Monitor: func(e *Env) error {
			switch {
			case e.Bool("flag"):
				panic("boom")
			case e.CheckLevel() == 10:
				return RunningPromoted
			}
			return NotRunning
		},
		Validate: func(e *Env) error {
			if e.String("ip") == "elsewhere" {
				return Fail(ErrArgs, "parameter ip: %q is not on this host", "elsewhere")
			}
			return nil
		},
	}
}

type result struct {
	st             Status
	stdout, stderr string
}

func run(a *Agent, action string, env map[string]string) result {
	var out, errb bytes.Buffer
	get := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	args := []string{}
	if action != "" {
		args = append(args, action)
	}
	st := a.Run(args, get, &out, &errb)
	return result{st, out.String(), errb.String()}
}

func TestDispatch(t *testing.T) {
	probe := map[string]string{"OCF_RESKEY_CRM_meta_interval": "0"}
	cases := []struct {
		name   string
		action string
		env    map[string]string
		want   Status
		reason string // expected ocf-exit-reason text ("" = none)
	}{
		{"no action", "", nil, ErrArgs, ""},
		{"unknown action", "frobnicate", nil, ErrUnimplemented, `action "frobnicate" is not implemented by toy`},
		{"unimplemented handler", "promote", nil, ErrUnimplemented, `action "promote" is not implemented by toy`},
		{"start ok", "start", map[string]string{"OCF_RESKEY_ip": "a"}, Success, ""},
		{"missing required", "start", nil, ErrConfigured, "parameter ip is required"},
		{"check error", "validate-all", map[string]string{"OCF_RESKEY_ip": "bad"}, ErrConfigured, `parameter ip: "bad" is not an address`},
		{"not an integer", "validate-all", map[string]string{"OCF_RESKEY_ip": "a", "OCF_RESKEY_count": "x"}, ErrConfigured, `parameter count: "x" is not an integer`},
		{"above max", "validate-all", map[string]string{"OCF_RESKEY_ip": "a", "OCF_RESKEY_count": "11"}, ErrConfigured, "parameter count: 11 is above the maximum 10"},
		{"not a boolean", "validate-all", map[string]string{"OCF_RESKEY_ip": "a", "OCF_RESKEY_flag": "maybe"}, ErrConfigured, `parameter flag: "maybe" is not a boolean (use true or false)`},
		{"host check", "validate-all", map[string]string{"OCF_RESKEY_ip": "elsewhere"}, ErrArgs, `parameter ip: "elsewhere" is not on this host`},
		{"host check on start", "start", map[string]string{"OCF_RESKEY_ip": "elsewhere"}, ErrArgs, `parameter ip: "elsewhere" is not on this host`},
		{"failure with cause", "start", map[string]string{"OCF_RESKEY_ip": "a", "OCF_RESKEY_count": "7"}, ErrGeneric, "cannot start a: permission denied"},
		{"probe with bad config", "monitor", probe, NotRunning, ""},
		{"stop with bad config", "stop", nil, Success, ""},
		{"recurring monitor with bad config", "monitor", map[string]string{"OCF_RESKEY_CRM_meta_interval": "10000"}, ErrConfigured, "parameter ip is required"},
		{"monitor not running", "monitor", map[string]string{"OCF_RESKEY_ip": "a"}, NotRunning, ""},
		{"depth via OCF_CHECK_LEVEL", "monitor", map[string]string{"OCF_RESKEY_ip": "a", "OCF_CHECK_LEVEL": "10"}, RunningPromoted, ""},
		{"depth via OCF_RESKEY_OCF_CHECK_LEVEL", "monitor", map[string]string{"OCF_RESKEY_ip": "a", "OCF_RESKEY_OCF_CHECK_LEVEL": "10"}, RunningPromoted, ""},
		{"panic becomes exit 1", "monitor", map[string]string{"OCF_RESKEY_ip": "a", "OCF_RESKEY_flag": "yes"}, ErrGeneric, "internal error in monitor: boom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(testAgent(), c.action, c.env)
			if r.st != c.want {
				t.Fatalf("status = %v, want %v; stderr:\n%s", r.st, c.want, r.stderr)
			}
			got := ""
			for _, l := range strings.Split(r.stderr, "\n") {
				if s, ok := strings.CutPrefix(l, "ocf-exit-reason:"); ok {
					got = s
				}
			}
			if got != c.reason {
				t.Fatalf("exit reason = %q, want %q; stderr:\n%s", got, c.reason, r.stderr)
			}
		})
	}
}

func TestLogPrefix(t *testing.T) {
	r := run(testAgent(), "start", map[string]string{"OCF_RESOURCE_INSTANCE": "toy1"})
	if !strings.HasPrefix(r.stderr, "toy(toy1)[") || !strings.Contains(r.stderr, "]: ERROR: start: parameter ip is required") {
		t.Fatalf("log line not in ocf_log form: %q", r.stderr)
	}
}

func TestEnvAccessors(t *testing.T) {
	env := map[string]string{
		"OCF_RESKEY_ip":                               "a",
		"OCF_RESKEY_CRM_meta_timeout":                 "20000",
		"OCF_RESKEY_CRM_meta_interval":                "10000",
		"OCF_RESKEY_CRM_meta_notify_type":             "pre",
		"OCF_RESKEY_CRM_meta_notify_operation":        "promote",
		"OCF_RESKEY_CRM_meta_notify_promote_uname":    "n2 ",
		"OCF_RESKEY_CRM_meta_notify_master_uname":     "n1",
		"OCF_RESKEY_CRM_meta_notify_unpromoted_uname": "n2 n3",
		"OCF_RESKEY_CRM_meta_notify_slave_uname":      "ignored",
		"HA_RSCTMP":                                   "/tmp/x",
	}
	e := &Env{Action: "monitor", getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	if err := e.loadParams(testAgent().Params); err != nil {
		t.Fatal(err)
	}
	if e.Int("count") != 5 || e.IsSet("count") || !e.IsSet("ip") || e.Bool("flag") {
		t.Fatalf("defaults not applied: count=%d set(count)=%v set(ip)=%v", e.Int("count"), e.IsSet("count"), e.IsSet("ip"))
	}
	if e.Timeout() != 20*time.Second || e.Interval() != 10*time.Second || e.IsProbe() {
		t.Fatalf("timeout=%v interval=%v probe=%v", e.Timeout(), e.Interval(), e.IsProbe())
	}
	n := e.Notify()
	if n.Type != "pre" || n.Operation != "promote" || strings.Join(n.Promote, ",") != "n2" ||
		strings.Join(n.Promoted, ",") != "n1" || strings.Join(n.Unpromoted, ",") != "n2,n3" {
		t.Fatalf("notify = %+v", n)
	}
	if e.StateDir() != "/tmp/x" {
		t.Fatalf("state dir %q", e.StateDir())
	}
}

func TestStatusCodes(t *testing.T) {
	want := map[Status]int{Success: 0, ErrGeneric: 1, ErrArgs: 2, ErrUnimplemented: 3, ErrPerm: 4,
		ErrInstalled: 5, ErrConfigured: 6, NotRunning: 7, RunningPromoted: 8, FailedPromoted: 9,
		Degraded: 190, DegradedPromoted: 191}
	for s, n := range want {
		if int(s) != n || !strings.HasPrefix(s.String(), "OCF_") {
			t.Errorf("%v = %d, want %d", s, int(s), n)
		}
	}
	if st, reason := Classify(errors.New("plain")); st != ErrGeneric || reason != "plain" {
		t.Errorf("plain error -> %v %q", st, reason)
	}
	wrapped := Fail(ErrPerm, "open: %w", os.ErrPermission)
	if !errors.Is(wrapped, os.ErrPermission) {
		t.Errorf("Fail lost its cause")
	}
}

// TestMetadataSchemas validates the generated XML with xmllint against the
// DTD ocf-tester uses and, when ../shared is present, the OCF 1.1 RelaxNG.
func TestMetadataSchemas(t *testing.T) {
	testenv.RequireTool(t, "xmllint")
	r := run(testAgent(), "meta-data", nil)
	if r.st != Success {
		t.Fatalf("meta-data: %v %s", r.st, r.stderr)
	}
	for _, want := range []string{`<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">`, `<parameter name="ip" unique="1" required="1">`,
		`<content type="integer" default="5"></content>`, `<action name="monitor" timeout="20s" interval="30s" depth="10"></action>`,
		`A toy agent for tests &amp; &lt;checks&gt;.`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("meta-data lacks %s:\n%s", want, r.stdout)
		}
	}
	ocftest.ValidateMetadata(t, []byte(r.stdout))
}
