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
	Time     time.Time // from --timestamps, else zero
	Resource string
	What     string // "pbx-b connection: Connecting -> Connected"
}

func (c Change) String() string {
	ts := ""
	if !c.Time.IsZero() {
		ts = c.Time.Format("15:04:05.000 ")
	}
	return ts + c.Resource + ": " + c.What
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
			emit(Change{ev.Time, name, "resource appeared"})
		case before != nil && !exists:
			emit(Change{ev.Time, name, "resource gone"})
			continue
		}
		if !exists {
			continue
		}
		after := facts(*res)
		for _, k := range slices.Sorted(maps.Keys(union(before, after))) {
			if before[k] != after[k] {
				emit(Change{ev.Time, name, fmt.Sprintf("%s: %s -> %s", k, orNone(before[k]), orNone(after[k]))})
			}
		}
		if ev.Object == "helper" {
			emit(Change{ev.Time, name, describeHelper(ev, len(res.Helpers) > nHelpers)})
		}
	}
	if err := sc.Err(); err != nil {
		return st, fmt.Errorf("watch: read events2: %w", err)
	}
	return st, nil
}

func describeHelper(ev Event, called bool) string {
	h, peer := ev.Fields["helper"], ev.Fields["conn-name"]
	s := "helper " + h
	if peer != "" {
		s += " (peer " + peer + ")"
	}
	if ev.Kind == "response" {
		s += " returned " + ev.Fields["status"]
	} else if called {
		s += " called"
	}
	switch h {
	case HelperInitialSplitBrain:
		s += ": split brain detected, the after-sb policies decide"
	case HelperSplitBrain:
		s += ": SPLIT BRAIN left unresolved, see `drbdctl resolve-split-brain --help`"
	}
	return s
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
