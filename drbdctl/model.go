package drbdctl

import "time"

// Role is a node's role for a resource: Primary, Secondary or Unknown.
type Role string

// Roles as DRBD prints them.
const (
	Primary   Role = "Primary"
	Secondary Role = "Secondary"
	Unknown   Role = "Unknown"
)

// DiskState is the state of a local or peer backing device.
type DiskState string

// Disk states as DRBD prints them (both generations use the same names).
const (
	Diskless     DiskState = "Diskless"
	Attaching    DiskState = "Attaching"
	Detaching    DiskState = "Detaching"
	Failed       DiskState = "Failed"
	Negotiating  DiskState = "Negotiating"
	Inconsistent DiskState = "Inconsistent"
	Outdated     DiskState = "Outdated"
	DUnknown     DiskState = "DUnknown"
	Consistent   DiskState = "Consistent"
	UpToDate     DiskState = "UpToDate"
)

// ConnState is the state of the connection to one peer, in DRBD 9 terms.
// DRBD 8.4's combined "cs:" value is split into a ConnState and a ReplState
// (cs:SyncSource is Connected + SyncSource; cs:WFConnection is Connecting).
type ConnState string

// Connection states (DRBD 9 names).
const (
	StandAlone     ConnState = "StandAlone"
	Disconnecting  ConnState = "Disconnecting"
	Unconnected    ConnState = "Unconnected"
	Timeout        ConnState = "Timeout"
	BrokenPipe     ConnState = "BrokenPipe"
	NetworkFailure ConnState = "NetworkFailure"
	ProtocolError  ConnState = "ProtocolError"
	TearDown       ConnState = "TearDown"
	Connecting     ConnState = "Connecting"
	Connected      ConnState = "Connected"
)

// ReplState is the replication state of one volume towards one peer.
type ReplState string

// Replication states that callers test for; others (WFBitMapS, StartingSyncT,
// Ahead...) are kept verbatim.
const (
	ReplOff        ReplState = "Off"
	Established    ReplState = "Established"
	SyncSource     ReplState = "SyncSource"
	SyncTarget     ReplState = "SyncTarget"
	PausedSyncS    ReplState = "PausedSyncS"
	PausedSyncT    ReplState = "PausedSyncT"
	VerifySource   ReplState = "VerifyS"
	VerifyTarget   ReplState = "VerifyT"
	ReplStartSyncS ReplState = "StartingSyncS"
	ReplStartSyncT ReplState = "StartingSyncT"
	ReplWFBitMapS  ReplState = "WFBitMapS"
	ReplWFBitMapT  ReplState = "WFBitMapT"
	ReplWFSyncUUID ReplState = "WFSyncUUID"
	ReplAhead      ReplState = "Ahead"
	ReplBehind     ReplState = "Behind"
)

// Syncing reports whether a resync (or its handshake) is in progress.
func (r ReplState) Syncing() bool {
	switch r {
	case SyncSource, SyncTarget, PausedSyncS, PausedSyncT,
		ReplStartSyncS, ReplStartSyncT, ReplWFBitMapS, ReplWFBitMapT, ReplWFSyncUUID:
		return true
	}
	return false
}

// Status is everything known about the DRBD resources of one node.
type Status struct {
	// Version is "8.4" or "9" when the input says so (/proc/drbd, or a
	// DRBD 9-only field), empty when it cannot be told.
	Version   string     `json:"version,omitempty"`
	Resources []Resource `json:"resources"`
}

// Resource returns the named resource, or false.
func (s *Status) Resource(name string) (*Resource, bool) {
	for i := range s.Resources {
		if s.Resources[i].Name == name {
			return &s.Resources[i], true
		}
	}
	return nil, false
}

// Suspension says why I/O on a resource is suspended; all false means it runs.
type Suspension struct {
	User    bool `json:"user,omitempty"`
	NoData  bool `json:"no_data,omitempty"`
	Fencing bool `json:"fencing,omitempty"`
	Quorum  bool `json:"quorum,omitempty"`
	// Other is set when DRBD says "suspended" without a known reason.
	Other bool `json:"other,omitempty"`
}

// Any reports whether I/O is suspended for any reason.
func (s Suspension) Any() bool { return s.User || s.NoData || s.Fencing || s.Quorum || s.Other }

// Resource is one DRBD resource as seen from the local node.
type Resource struct {
	Name string `json:"name"`
	// NodeID is the local node-id (DRBD 9), -1 when unknown.
	NodeID         int          `json:"node_id"`
	Role           Role         `json:"role"`
	Suspended      Suspension   `json:"suspended"`
	MayPromote     *bool        `json:"may_promote,omitempty"`
	PromotionScore int          `json:"promotion_score,omitempty"`
	Devices        []Device     `json:"devices"`
	Connections    []Connection `json:"connections"`
	// Helpers lists the user-mode helper calls DRBD made while we watched
	// (events2 "call helper" lines), oldest first.
	Helpers []HelperCall `json:"helpers,omitempty"`
}

// Device is one volume of a resource on the local node.
type Device struct {
	Volume     int       `json:"volume"`
	Minor      int       `json:"minor"`
	Disk       DiskState `json:"disk"`
	Client     bool      `json:"client,omitempty"`
	BackingDev string    `json:"backing_dev,omitempty"`
	// Quorum is DRBD 9's per-device quorum; always true on 8.4, which has
	// no DRBD quorum (Pacemaker's is used there).
	Quorum bool `json:"quorum"`
	// Open reports whether the device is opened (mounted or held) locally.
	Open    bool   `json:"open,omitempty"`
	SizeKiB uint64 `json:"size_kib,omitempty"`
}

// Connection is the link to one peer node.
type Connection struct {
	// PeerNodeID is the peer's node-id (DRBD 9), -1 when unknown.
	PeerNodeID  int          `json:"peer_node_id"`
	Name        string       `json:"name"`
	State       ConnState    `json:"state"`
	PeerRole    Role         `json:"peer_role"`
	Congested   bool         `json:"congested,omitempty"`
	PeerDevices []PeerDevice `json:"peer_devices"`
}

// PeerDevice is one volume as replicated towards one peer.
type PeerDevice struct {
	Volume          int       `json:"volume"`
	Replication     ReplState `json:"replication"`
	PeerDisk        DiskState `json:"peer_disk"`
	PeerClient      bool      `json:"peer_client,omitempty"`
	ResyncSuspended string    `json:"resync_suspended,omitempty"`
	OutOfSyncKiB    uint64    `json:"out_of_sync_kib"`
	// Sync is set while a resync runs.
	Sync *SyncProgress `json:"sync,omitempty"`
}

// SyncProgress describes a running resync.
type SyncProgress struct {
	PercentDone float64 `json:"percent_done"`
	// ETA is DRBD's estimate of the time left; zero when it gave none.
	ETA time.Duration `json:"eta_ns,omitempty"`
	// SpeedKiBps is the current resync rate, zero when unknown.
	SpeedKiBps uint64 `json:"speed_kib_per_s,omitempty"`
	// LeftKiB and TotalKiB are the amounts still to sync and to sync in all,
	// zero when unknown.
	LeftKiB  uint64 `json:"left_kib,omitempty"`
	TotalKiB uint64 `json:"total_kib,omitempty"`
}

// HelperCall is one call of a DRBD user-mode helper (fence-peer,
// split-brain, before-resync-target...) and its exit status when known.
type HelperCall struct {
	Helper     string `json:"helper"`
	Connection string `json:"connection,omitempty"`
	Volume     int    `json:"volume"`
	// Status is the helper's exit status, nil while it runs.
	Status *int `json:"status,omitempty"`
}

// Helpers DRBD calls about a split brain: initial-split-brain when it
// detects one (the after-sb policies or --discard-my-data may still resolve
// it), split-brain when it stays unresolved and the connection is dropped.
const (
	HelperSplitBrain        = "split-brain"
	HelperInitialSplitBrain = "initial-split-brain"
)

// device returns the device for volume v, creating it when absent.
func (r *Resource) device(v int) *Device {
	return getOrAdd(&r.Devices, func(d Device) bool { return d.Volume == v },
		Device{Volume: v, Minor: -1, Quorum: true})
}

// peerDevice returns the peer device for volume v, creating it when absent.
func (c *Connection) peerDevice(v int) *PeerDevice {
	return getOrAdd(&c.PeerDevices, func(p PeerDevice) bool { return p.Volume == v },
		PeerDevice{Volume: v, PeerDisk: DUnknown, Replication: ReplOff})
}

// getOrAdd returns the first element of *xs matching match, appending
// fresh when none does.
func getOrAdd[T any](xs *[]T, match func(T) bool, fresh T) *T {
	for i := range *xs {
		if match((*xs)[i]) {
			return &(*xs)[i]
		}
	}
	*xs = append(*xs, fresh)
	return &(*xs)[len(*xs)-1]
}
