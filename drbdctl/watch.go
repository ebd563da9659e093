package drbdctl

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Change is one state change seen in an events2 stream.
type Change struct {
	Time     time.Time `json:"time,omitzero"` // from --timestamps, else zero
	Resource string    `json:"resource"`
	// Fact names what changed: "role", "volume 0 disk", "peer pbx-b
	// connection"..., "resource" when the resource appears or goes, or
	// "helper NAME" for a user-mode helper call.
	Fact string `json:"fact"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
	// Note is advice for the operator (split brain), empty otherwise.
	Note string `json:"note,omitempty"`
}

// What describes the change: "peer pbx-b connection: Connecting ->
// Connected", "resource appeared", "helper split-brain (peer pbx-b)
// called: ...".
func (c Change) What() string {
	var s string
	switch {
	case c.Fact == "resource" && c.New != "":
		s = "resource appeared"
	case c.Fact == "resource":
		s = "resource gone"
	case strings.HasPrefix(c.Fact, "helper "):
		s = strings.TrimSpace(c.Fact + " " + c.New)
	default:
		s = fmt.Sprintf("%s: %s -> %s", c.Fact, orNone(c.Old), orNone(c.New))
	}
	if c.Note != "" {
		s += ": " + c.Note
	}
	return s
}

func (c Change) String() string {
	ts := ""
	if !c.Time.IsZero() {
		ts = c.Time.Format("15:04:05.000 ")
	}
	return ts + c.Resource + ": " + c.What()
}

// Watch reads `drbdsetup events2 [--timestamps]` lines from r until EOF
// and calls emit for every change of a fact (role, disk, connection,
// replication, peer disk, quorum, suspension) and every helper call, after
// the initial state dump. It returns the final state.
func Watch(r io.Reader, emit func(Change)) (Status, error) {
	var st Status
	live := false
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20) // lines are short; allow long ones
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		ev, err := ParseEvent(sc.Text())
		if err != nil {
			return st, fmt.Errorf("watch: %w", err)
		}
		if ev.InitialStateDone() {
			live = true
			continue
		}
		name := ev.Fields["name"]
		var before map[string]string
		var nHelpers int
		if res, ok := st.Resource(name); ok {
			before, nHelpers = facts(*res), len(res.Helpers)
		}
		if err := st.Apply(ev); err != nil {
			return st, fmt.Errorf("watch: %w", err)
		}
		if !live {
			continue
		}
		res, exists := st.Resource(name)
		switch {
		case before == nil && exists:
			emit(Change{Time: ev.Time, Resource: name, Fact: "resource", New: "present"})
		case before != nil && !exists:
			emit(Change{Time: ev.Time, Resource: name, Fact: "resource", Old: "present"})
			continue
		}
		if !exists {
			continue
		}
		after := facts(*res)
		for _, k := range slices.Sorted(maps.Keys(union(before, after))) {
			if before[k] != after[k] {
				emit(Change{Time: ev.Time, Resource: name, Fact: k, Old: before[k], New: after[k]})
			}
		}
		if ev.Object == "helper" {
			emit(helperChange(ev, len(res.Helpers) > nHelpers))
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("watch: read events2: %w", err)
	}
	return st, nil
}

// helperChange describes a "call helper" or "response helper" event.
func helperChange(ev Event, called bool) Change {
	h, peer := ev.Fields["helper"], ev.Fields["conn-name"]
	c := Change{Time: ev.Time, Resource: ev.Fields["name"], Fact: "helper " + h}
	if peer != "" {
		c.Fact += " (peer " + peer + ")"
	}
	if ev.Kind == "response" {
		c.New = "returned " + ev.Fields["status"]
	} else if called {
		c.New = "called"
	}
	switch h {
	case HelperInitialSplitBrain:
		c.Note = "split brain detected, the after-sb policies decide"
	case HelperSplitBrain:
		c.Note = "SPLIT BRAIN left unresolved, see `drbdctl resolve-split-brain --help`"
	}
	return c
}

// facts flattens the state Watch reports changes of.
func facts(r Resource) map[string]string {
	f := map[string]string{"role": string(r.Role), "I/O": ioState(r.Suspended)}
	for _, d := range r.Devices {
		v := fmt.Sprintf("volume %d ", d.Volume)
		f[v+"disk"] = string(d.Disk)
		f[v+"quorum"] = yesNo(d.Quorum)
	}
	for _, c := range r.Connections {
		p := "peer " + c.Name + " "
		f[p+"connection"] = string(c.State)
		f[p+"role"] = string(c.PeerRole)
		for _, pd := range c.PeerDevices {
			v := fmt.Sprintf("%svolume %d ", p, pd.Volume)
			f[v+"replication"] = string(pd.Replication)
			f[v+"disk"] = string(pd.PeerDisk)
		}
	}
	return f
}

func union(a, b map[string]string) map[string]string {
	u := maps.Clone(b)
	if u == nil {
		u = map[string]string{}
	}
	maps.Copy(u, a)
	return u
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
