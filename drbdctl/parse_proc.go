package drbdctl

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ProcPeerName names the single peer of an 8.4 minor in /proc/drbd, which
// does not say the peer's host name.
const ProcPeerName = "peer"

var (
	procVersion  = regexp.MustCompile(`^version: (\d+)\.(\d+)`)
	procMinor    = regexp.MustCompile(`^\s*(\d+): cs:(\S+)(.*)$`)
	procProgress = regexp.MustCompile(`(?:sync'ed|verified):\s*([\d.]+)% \((\d+)/(\d+)\)([KM])`)
	procFinish   = regexp.MustCompile(`finish: (\d+):(\d+):(\d+) speed: ([\d,]+)`)
)

// ParseProcDRBD parses /proc/drbd. On DRBD 8.4 each configured minor becomes
// a Resource named "minor-N" (as DRBD's own helpers name it: /proc/drbd does
// not carry resource names) with one device and one connection named
// ProcPeerName. DRBD 9's /proc/drbd only holds the version.
func ParseProcDRBD(b []byte) (Status, error) {
	var st Status
	var cur *Resource
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if m := procVersion.FindStringSubmatch(line); m != nil {
			st.Version = m[1] + "." + m[2]
			if m[1] == "9" {
				st.Version = "9"
			}
			continue
		}
		if m := procMinor.FindStringSubmatch(line); m != nil {
			cur = nil
			if m[2] == "Unconfigured" {
				continue
			}
			r, err := parseProcMinor(m[1], m[2], m[3])
			if err != nil {
				return Status{}, fmt.Errorf("/proc/drbd %q: %w", strings.TrimSpace(line), err)
			}
			st.Resources = append(st.Resources, r)
			cur = &st.Resources[len(st.Resources)-1]
			continue
		}
		if cur != nil {
			parseProcDetail(cur, line)
		}
	}
	if err := sc.Err(); err != nil {
		return Status{}, fmt.Errorf("read /proc/drbd: %w", err)
	}
	if st.Version == "" {
		return Status{}, fmt.Errorf("/proc/drbd: no \"version:\" line")
	}
	return st, nil
}

// parseProcMinor reads "cs:X ro:A/B ds:C/D P flags" of one minor.
func parseProcMinor(minor, cs, rest string) (Resource, error) {
	n, _ := strconv.Atoi(minor) // the regexp matched digits
	kv := map[string]string{}
	var flags string
	for _, t := range strings.Fields(rest) {
		if k, v, ok := strings.Cut(t, ":"); ok {
			kv[k] = v
		} else {
			flags = t // the last bare token: I/O flags such as "r-----"
		}
	}
	roles, ok := kv["ro"]
	if !ok {
		return Resource{}, fmt.Errorf("no ro: field")
	}
	disks, ok := kv["ds"]
	if !ok {
		return Resource{}, fmt.Errorf("no ds: field")
	}
	local, peer, _ := strings.Cut(roles, "/")
	ldisk, pdisk, _ := strings.Cut(disks, "/")
	state, repl := splitConnState84(cs)
	r := Resource{
		Name:    "minor-" + minor,
		NodeID:  -1,
		Role:    Role(local),
		Devices: []Device{{Volume: 0, Minor: n, Disk: DiskState(ldisk), Quorum: true}},
		Connections: []Connection{{
			PeerNodeID: -1, Name: ProcPeerName, State: state, PeerRole: Role(peer),
			PeerDevices: []PeerDevice{{Volume: 0, Replication: repl, PeerDisk: DiskState(pdisk)}},
		}},
	}
	r.Suspended.Other = strings.HasPrefix(flags, "s")
	return r, nil
}

// parseProcDetail reads the statistics and resync lines under a minor.
func parseProcDetail(r *Resource, line string) {
	pd := &r.Connections[0].PeerDevices[0]
	for _, t := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(t, "oos:"); ok {
			pd.OutOfSyncKiB, _ = strconv.ParseUint(v, 10, 64)
		}
	}
	if !pd.Replication.Syncing() && pd.Replication != VerifySource && pd.Replication != VerifyTarget {
		return
	}
	if pd.Sync == nil {
		pd.Sync = &SyncProgress{}
	}
	if m := procProgress.FindStringSubmatch(line); m != nil {
		pd.Sync.PercentDone, _ = strconv.ParseFloat(m[1], 64)
		left, _ := strconv.ParseUint(m[2], 10, 64)
		total, _ := strconv.ParseUint(m[3], 10, 64)
		if m[4] == "M" {
			left, total = left*1024, total*1024
		}
		pd.Sync.LeftKiB, pd.Sync.TotalKiB = left, total
	}
	if m := procFinish.FindStringSubmatch(line); m != nil {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		s, _ := strconv.Atoi(m[3])
		pd.Sync.ETA = time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second
		pd.Sync.SpeedKiBps, _ = strconv.ParseUint(strings.ReplaceAll(m[4], ",", ""), 10, 64)
	}
}

// splitConnState84 maps DRBD 8.4's combined connection state onto DRBD 9's
// connection and replication states.
func splitConnState84(cs string) (ConnState, ReplState) {
	switch cs {
	case "StandAlone", "Disconnecting", "Unconnected", "Timeout", "BrokenPipe",
		"NetworkFailure", "ProtocolError", "TearDown":
		return ConnState(cs), ReplOff
	case "WFConnection", "WFReportParams":
		return Connecting, ReplOff
	case "Connected":
		return Connected, Established
	}
	return Connected, ReplState(cs) // SyncSource, WFBitMapS, Ahead...
}
