package drbdctl

import (
	"fmt"
	"io"
	"strings"
)

// WriteSummary writes a human summary of st: per resource its role, disk,
// quorum and I/O state, then each connection with its volumes and resync
// progress, then warnings (split brain, StandAlone, suspended I/O, no
// quorum, failed disks) with what to do.
func WriteSummary(w io.Writer, st Status) error {
	var b strings.Builder
	if len(st.Resources) == 0 {
		b.WriteString("no DRBD resource configured\n")
	}
	for _, r := range st.Resources {
		fmt.Fprintf(&b, "%s: role %s, disk %s, quorum %s, I/O %s\n", r.Name, r.Role, r.LocalDisk(), yesNo(r.Quorate()), ioState(r.Suspended))
		for _, d := range r.Devices {
			if len(r.Devices) > 1 || d.Disk != r.LocalDisk() {
				fmt.Fprintf(&b, "  volume %d (minor %d): %s\n", d.Volume, d.Minor, d.Disk)
			}
		}
		for _, c := range r.Connections {
			fmt.Fprintf(&b, "  peer %s: %s, role %s\n", c.Name, c.State, c.PeerRole)
			for _, p := range c.PeerDevices {
				fmt.Fprintf(&b, "    volume %d: %s, peer disk %s", p.Volume, p.Replication, p.PeerDisk)
				if p.Sync != nil {
					fmt.Fprintf(&b, "  %s", ProgressLine(*p.Sync, 20))
				} else if p.OutOfSyncKiB > 0 {
					fmt.Fprintf(&b, ", %s out of sync", kib(p.OutOfSyncKiB))
				}
				b.WriteString("\n")
			}
		}
		for _, warn := range Warnings(r) {
			fmt.Fprintf(&b, "  ! %s\n", warn)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Warnings lists what needs an administrator's attention on r.
func Warnings(r Resource) []string {
	var out []string
	helper, standAlone := r.SplitBrain()
	for _, c := range helper {
		out = append(out, fmt.Sprintf("DRBD reported a split brain with %s", c))
	}
	for _, c := range standAlone {
		out = append(out, fmt.Sprintf("connection to %s is StandAlone (split brain?): on the node whose changes are to be discarded run `drbdctl resolve-split-brain --resource %s --discard-my-data`, then on the other `drbdctl resolve-split-brain --resource %s --keep-my-data`", c, r.Name, r.Name))
	}
	if !r.Quorate() {
		out = append(out, "no DRBD quorum: writes fail (on-no-quorum io-error) until a majority of nodes is reachable")
	}
	if r.Suspended.Any() {
		out = append(out, "I/O is suspended: "+ioState(r.Suspended))
	}
	for _, d := range r.Devices {
		if d.Disk == Failed || (d.Disk == Diskless && !d.Client) {
			out = append(out, fmt.Sprintf("volume %d has no usable backing disk (%s)", d.Volume, d.Disk))
		}
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func ioState(s Suspension) string {
	if !s.Any() {
		return "running"
	}
	var why []string
	for _, r := range []struct {
		on   bool
		name string
	}{{s.User, "user"}, {s.NoData, "no-data"}, {s.Fencing, "fencing"}, {s.Quorum, "quorum"}, {s.Other, "reason not reported"}} {
		if r.on {
			why = append(why, r.name)
		}
	}
	return "suspended (" + strings.Join(why, ", ") + ")"
}
