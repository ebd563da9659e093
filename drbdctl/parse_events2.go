package drbdctl

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is one line of `drbdsetup events2` output.
type Event struct {
	// Time is set when events2 ran with --timestamps.
	Time time.Time
	// Kind is exists, create, change, destroy, call or response.
	Kind string
	// Object is resource, device, connection, peer-device, path or helper;
	// "-" on the "exists -" line that ends the initial state dump.
	Object string
	// Fields holds key:value pairs. With --diff ("old->new") the new value
	// is kept; --color escapes are removed.
	Fields map[string]string
}

// InitialStateDone reports whether e is the "exists -" line that ends the
// dump of the current state.
func (e Event) InitialStateDone() bool { return e.Kind == "exists" && e.Object == "-" }

var eventKinds = map[string]bool{"exists": true, "create": true, "change": true, "destroy": true, "call": true, "response": true}

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// timestampLayout is the layout of events2 --timestamps.
const timestampLayout = "2006-01-02T15:04:05.999999-07:00"

// ParseEvent parses one events2 line. Unknown keys and objects are kept, so
// fields added by newer drbd-utils do not break it.
func ParseEvent(line string) (Event, error) {
	line = strings.TrimSpace(line)
	if strings.Contains(line, "\x1b") {
		line = ansiEscape.ReplaceAllString(line, "") // events2 --color
	}
	tok := strings.Fields(line)
	var ev Event
	if len(tok) > 0 && !eventKinds[tok[0]] {
		// events2 --timestamps puts the time first.
		if t, err := time.Parse(timestampLayout, tok[0]); err == nil {
			ev.Time = t
		}
		tok = tok[1:]
	}
	if len(tok) < 2 || !eventKinds[tok[0]] {
		return Event{}, fmt.Errorf("events2 line %q: want \"[time] kind object key:value...\"", line)
	}
	ev.Kind, ev.Object = tok[0], tok[1]
	ev.Fields = make(map[string]string, len(tok)-2)
	if err := addFields(&ev, tok[2:]); err != nil {
		return Event{}, fmt.Errorf("events2 line %q: %w", line, err)
	}
	return ev, nil
}

// ParseEvents2 parses a whole `drbdsetup events2 --now [--statistics]`
// capture (or any events2 stream) and folds it into a Status.
func ParseEvents2(b []byte) (Status, error) {
	var st Status
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20) // lines are short; allow long ones
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		ev, err := ParseEvent(sc.Text())
		if err != nil {
			return Status{}, fmt.Errorf("line %d: %w", n, err)
		}
		if err := st.Apply(ev); err != nil {
			return Status{}, fmt.Errorf("line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return Status{}, fmt.Errorf("read events2: %w", err)
	}
	return st, nil
}

// Apply folds one event into s: create/exists/change set fields, destroy
// removes the object, call/response helper lines are recorded.
func (s *Status) Apply(ev Event) error {
	if ev.Object == "-" || ev.Object == "path" {
		return nil // end of initial state; paths are not modelled
	}
	f := fields(ev.Fields)
	name, ok := f["name"]
	if !ok {
		return fmt.Errorf("%s %s: no name", ev.Kind, ev.Object)
	}
	if ev.Kind == "destroy" {
		if _, known := s.Resource(name); !known {
			return nil
		}
		if ev.Object == "resource" {
			s.Resources = removeWhere(s.Resources, func(r Resource) bool { return r.Name == name })
			return nil
		}
	}
	r := s.resource(name)
	switch ev.Object {
	case "resource":
		f.role("role", &r.Role)
		if v, ok := f["suspended"]; ok {
			r.Suspended = parseSuspension(v)
		}
		if v, ok := f["may_promote"]; ok {
			b := v == "yes"
			r.MayPromote = &b
		}
		f.int("promotion_score", &r.PromotionScore)
		f.int("node-id", &r.NodeID)
	case "device":
		vol, err := f.need("volume")
		if err != nil {
			return err
		}
		if ev.Kind == "destroy" {
			r.Devices = removeWhere(r.Devices, func(d Device) bool { return d.Volume == vol })
			return nil
		}
		d := r.device(vol)
		f.int("minor", &d.Minor)
		if v, ok := f["disk"]; ok {
			d.Disk = DiskState(v)
		}
		if v, ok := f["backing_dev"]; ok && v != "none" {
			d.BackingDev = v
		}
		f.bool("client", &d.Client)
		f.bool("open", &d.Open)
		f.bool("quorum", &d.Quorum)
		f.uint("size", &d.SizeKiB)
	case "connection":
		if ev.Kind == "destroy" {
			r.Connections = removeWhere(r.Connections, matchPeer(f))
			return nil
		}
		c := r.peer(f)
		if v, ok := f["connection"]; ok {
			c.State = ConnState(v)
			if c.State == Connected {
				r.forgetSplitBrain(c.Name)
			}
		}
		f.role("role", &c.PeerRole)
		f.bool("congested", &c.Congested)
	case "peer-device":
		vol, err := f.need("volume")
		if err != nil {
			return err
		}
		c := r.peer(f)
		if ev.Kind == "destroy" {
			c.PeerDevices = removeWhere(c.PeerDevices, func(p PeerDevice) bool { return p.Volume == vol })
			return nil
		}
		applyPeerDevice(c.peerDevice(vol), f)
	case "helper":
		return r.applyHelper(ev, f)
	}
	return nil
}

// matchPeer selects the connection an event is about: by peer-node-id when
// given (DRBD 8.4 leaves conn-name out of a StandAlone connection), else by
// conn-name.
func matchPeer(f fields) func(Connection) bool {
	if id, err := strconv.Atoi(f["peer-node-id"]); err == nil {
		return func(c Connection) bool { return c.PeerNodeID == id }
	}
	name := f["conn-name"]
	return func(c Connection) bool { return c.Name == name }
}

// peer returns the connection an event is about, creating it when absent.
// A connection without a conn-name is named after its peer node-id.
func (r *Resource) peer(f fields) *Connection {
	c := getOrAdd(&r.Connections, matchPeer(f), Connection{PeerNodeID: -1, PeerRole: Unknown})
	f.int("peer-node-id", &c.PeerNodeID)
	if name := f["conn-name"]; name != "" {
		c.Name = name
	} else if c.Name == "" && c.PeerNodeID >= 0 {
		c.Name = "peer-node-" + strconv.Itoa(c.PeerNodeID)
	}
	return c
}

// forgetSplitBrain drops the split-brain helper calls of a connection that
// connected again: the split brain they reported is over.
func (r *Resource) forgetSplitBrain(conn string) {
	r.Helpers = removeWhere(r.Helpers, func(h HelperCall) bool {
		return h.Connection == conn && (h.Helper == HelperSplitBrain || h.Helper == HelperInitialSplitBrain)
	})
}

func applyPeerDevice(p *PeerDevice, f fields) {
	if v, ok := f["replication"]; ok {
		p.Replication = ReplState(v)
	}
	if v, ok := f["peer-disk"]; ok {
		p.PeerDisk = DiskState(v)
	}
	f.bool("peer-client", &p.PeerClient)
	if v, ok := f["resync-suspended"]; ok {
		p.ResyncSuspended = v
	}
	f.uint("out-of-sync", &p.OutOfSyncKiB)
	if !p.Replication.Syncing() {
		p.Sync = nil
		return
	}
	if p.Sync == nil {
		p.Sync = &SyncProgress{}
	}
	f.float("done", &p.Sync.PercentDone)
	var eta float64
	if f.float("eta", &eta) {
		p.Sync.ETA = time.Duration(eta * float64(time.Second))
	}
	var mibps float64
	if f.float("dbdt1", &mibps) {
		p.Sync.SpeedKiBps = uint64(mibps * 1024)
	}
	p.Sync.LeftKiB = p.OutOfSyncKiB
}

func (r *Resource) applyHelper(ev Event, f fields) error {
	h := HelperCall{Helper: f["helper"], Connection: f["conn-name"], Volume: -1}
	if i := slices.IndexFunc(r.Connections, matchPeer(f)); i >= 0 && h.Connection == "" {
		h.Connection = r.Connections[i].Name
	}
	f.int("volume", &h.Volume)
	switch ev.Kind {
	case "call":
		r.Helpers = append(r.Helpers, h)
	case "response":
		st, err := f.need("status")
		if err != nil {
			return err
		}
		for i := len(r.Helpers) - 1; i >= 0; i-- {
			c := &r.Helpers[i]
			if c.Helper == h.Helper && c.Connection == h.Connection && c.Volume == h.Volume && c.Status == nil {
				c.Status = &st
				return nil
			}
		}
		h.Status = &st // response to a call made before we started watching
		r.Helpers = append(r.Helpers, h)
	}
	return nil
}

// parseSuspension reads events2's "suspended:" value: "no", or a comma
// separated list of reasons (user,no-data,fencing,quorum).
func parseSuspension(v string) Suspension {
	var s Suspension
	if v == "no" {
		return s
	}
	for _, reason := range strings.Split(v, ",") {
		switch reason {
		case "user":
			s.User = true
		case "no-data":
			s.NoData = true
		case "fencing":
			s.Fencing = true
		case "quorum":
			s.Quorum = true
		default:
			s.Other = true
		}
	}
	return s
}

func (s *Status) resource(name string) *Resource {
	return getOrAdd(&s.Resources, func(r Resource) bool { return r.Name == name },
		Resource{Name: name, NodeID: -1, Role: Unknown})
}

func removeWhere[T any](xs []T, drop func(T) bool) []T {
	out := xs[:0]
	for _, x := range xs {
		if !drop(x) {
			out = append(out, x)
		}
	}
	return out
}

// fields reads typed values out of an event's key:value pairs; a missing or
// malformed value leaves the destination untouched.
type fields map[string]string

func (f fields) int(k string, dst *int) {
	if n, err := strconv.Atoi(f[k]); err == nil {
		*dst = n
	}
}

func (f fields) uint(k string, dst *uint64) {
	if n, err := strconv.ParseUint(f[k], 10, 64); err == nil {
		*dst = n
	}
}

func (f fields) float(k string, dst *float64) bool {
	n, err := strconv.ParseFloat(f[k], 64)
	if err == nil {
		*dst = n
	}
	return err == nil
}

func (f fields) bool(k string, dst *bool) {
	switch f[k] {
	case "yes":
		*dst = true
	case "no":
		*dst = false
	}
}

func (f fields) role(k string, dst *Role) {
	if v, ok := f[k]; ok {
		*dst = Role(v)
	}
}

func (f fields) need(k string) (int, error) {
	n, err := strconv.Atoi(f[k])
	if err != nil {
		return 0, fmt.Errorf("field %s=%q: %w", k, f[k], err)
	}
	return n, nil
}
