package drbdctl

import "slices"

// diskRank orders disk states from worst to best for the data they hold.
var diskRank = map[DiskState]int{
	Failed: 0, Diskless: 1, Detaching: 1, Attaching: 2, Negotiating: 2,
	DUnknown: 2, Inconsistent: 3, Outdated: 4, Consistent: 5, UpToDate: 6,
}

// LocalDisk returns the worst local disk state over the resource's volumes,
// Diskless when it has none.
func (r *Resource) LocalDisk() DiskState {
	if len(r.Devices) == 0 {
		return Diskless
	}
	worst := r.Devices[0].Disk
	for _, d := range r.Devices[1:] {
		if diskRank[d.Disk] < diskRank[worst] {
			worst = d.Disk
		}
	}
	return worst
}

// Quorate reports whether every volume has DRBD quorum (always on 8.4).
func (r *Resource) Quorate() bool {
	for _, d := range r.Devices {
		if !d.Quorum {
			return false
		}
	}
	return true
}

// PeersKnown reports whether the resource has peers and the disk state of
// every peer volume is known (the peer is connected or was outdated by
// fencing), so that local UpToDate data is known to be the newest.
func (r *Resource) PeersKnown() bool {
	if len(r.Connections) == 0 {
		return false
	}
	for _, c := range r.Connections {
		if len(c.PeerDevices) == 0 {
			return false
		}
		for _, p := range c.PeerDevices {
			if p.PeerDisk == DUnknown {
				return false
			}
		}
	}
	return true
}

// PrimaryPeers returns the names of connected peers that are Primary.
func (r *Resource) PrimaryPeers() []string {
	var out []string
	for _, c := range r.Connections {
		if c.PeerRole == Primary {
			out = append(out, c.Name)
		}
	}
	return out
}

// Connected reports whether every connection is Connected.
func (r *Resource) Connected() bool {
	for _, c := range r.Connections {
		if c.State != Connected {
			return false
		}
	}
	return len(r.Connections) > 0
}

// Resync is one running resync, towards one peer for one volume.
type Resync struct {
	Connection  string
	Volume      int
	Replication ReplState
	Progress    SyncProgress
}

// Resyncs returns the running resyncs in connection and volume order.
func (r *Resource) Resyncs() []Resync {
	var out []Resync
	for _, c := range r.Connections {
		for _, p := range c.PeerDevices {
			if !p.Replication.Syncing() {
				continue
			}
			rs := Resync{Connection: c.Name, Volume: p.Volume, Replication: p.Replication}
			if p.Sync != nil {
				rs.Progress = *p.Sync
			}
			if rs.Progress.LeftKiB == 0 {
				rs.Progress.LeftKiB = p.OutOfSyncKiB
			}
			// DRBD 8.4's events2 gives no "done:": derive it from the data
			// still out of sync and the device size.
			if i := slices.IndexFunc(r.Devices, func(d Device) bool { return d.Volume == p.Volume }); rs.Progress.PercentDone == 0 && i >= 0 {
				if size := r.Devices[i].SizeKiB; size > 0 && p.OutOfSyncKiB <= size {
					rs.Progress.PercentDone = 100 * float64(size-p.OutOfSyncKiB) / float64(size)
				}
			}
			out = append(out, rs)
		}
	}
	return out
}

// SplitBrain returns the connections on which DRBD reported an unresolved
// split brain (its split-brain helper, since they last connected), and those
// left StandAlone while a peer is
// configured: StandAlone is where DRBD stops after a split brain it could
// not resolve (an administrator's `drbdadm disconnect` also leaves it there,
// which the events cannot tell apart).
func (r *Resource) SplitBrain() (helperSeen, standAlone []string) {
	seen := map[string]bool{}
	for _, h := range r.Helpers {
		if h.Helper == HelperSplitBrain && !seen[h.Connection] {
			seen[h.Connection] = true
			helperSeen = append(helperSeen, h.Connection)
		}
	}
	for _, c := range r.Connections {
		if c.State == StandAlone {
			standAlone = append(standAlone, c.Name)
		}
	}
	return helperSeen, standAlone
}
