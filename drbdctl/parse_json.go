package drbdctl

import (
	"encoding/json"
	"fmt"
	"time"
)

// jsonResource mirrors one element of `drbdsetup status --json` (DRBD 9).
// Unknown keys are ignored, so fields added by newer drbd-utils are fine.
type jsonResource struct {
	Name             string `json:"name"`
	NodeID           int    `json:"node-id"`
	Role             Role   `json:"role"`
	Suspended        bool   `json:"suspended"`
	SuspendedUser    bool   `json:"suspended-user"`
	SuspendedNoData  bool   `json:"suspended-no-data"`
	SuspendedFencing bool   `json:"suspended-fencing"`
	SuspendedQuorum  bool   `json:"suspended-quorum"`
	Devices          []struct {
		Volume int       `json:"volume"`
		Minor  int       `json:"minor"`
		Disk   DiskState `json:"disk-state"`
		Client bool      `json:"client"`
		Quorum *bool     `json:"quorum"`
		Size   uint64    `json:"size"`
	} `json:"devices"`
	Connections []struct {
		PeerNodeID  int       `json:"peer-node-id"`
		Name        string    `json:"name"`
		State       ConnState `json:"connection-state"`
		Congested   bool      `json:"congested"`
		PeerRole    Role      `json:"peer-role"`
		PeerDevices []struct {
			Volume          int       `json:"volume"`
			Replication     ReplState `json:"replication-state"`
			PeerDisk        DiskState `json:"peer-disk-state"`
			PeerClient      bool      `json:"peer-client"`
			ResyncSuspended string    `json:"resync-suspended"`
			OutOfSync       uint64    `json:"out-of-sync"`
			HasSyncDetails  bool      `json:"has-sync-details"`
			PercentInSync   float64   `json:"percent-in-sync"`
			ETASeconds      float64   `json:"estimated-seconds-to-finish"`
			SpeedMiBps      float64   `json:"db/dt [MiB/s]"`
			PercentDone     float64   `json:"percent-resync-done"`
		} `json:"peer_devices"`
	} `json:"connections"`
}

// ParseStatusJSON parses `drbdsetup status --json [--statistics]` (DRBD 9).
func ParseStatusJSON(b []byte) (Status, error) {
	var in []jsonResource
	if err := json.Unmarshal(b, &in); err != nil {
		return Status{}, fmt.Errorf("parse drbdsetup status --json: %w", err)
	}
	st := Status{Version: "9", Resources: make([]Resource, 0, len(in))}
	for _, jr := range in {
		r := Resource{
			Name:   jr.Name,
			NodeID: jr.NodeID,
			Role:   jr.Role,
			Suspended: Suspension{
				User: jr.SuspendedUser, NoData: jr.SuspendedNoData,
				Fencing: jr.SuspendedFencing, Quorum: jr.SuspendedQuorum,
			},
		}
		r.Suspended.Other = jr.Suspended && !r.Suspended.Any()
		for _, jd := range jr.Devices {
			r.Devices = append(r.Devices, Device{
				Volume: jd.Volume, Minor: jd.Minor, Disk: jd.Disk, Client: jd.Client,
				Quorum: jd.Quorum == nil || *jd.Quorum, SizeKiB: jd.Size,
			})
		}
		for _, jc := range jr.Connections {
			c := Connection{PeerNodeID: jc.PeerNodeID, Name: jc.Name, State: jc.State, PeerRole: jc.PeerRole, Congested: jc.Congested}
			for _, jp := range jc.PeerDevices {
				p := PeerDevice{
					Volume: jp.Volume, Replication: jp.Replication, PeerDisk: jp.PeerDisk,
					PeerClient: jp.PeerClient, ResyncSuspended: jp.ResyncSuspended, OutOfSyncKiB: jp.OutOfSync,
				}
				if p.Replication.Syncing() {
					p.Sync = &SyncProgress{PercentDone: jp.PercentInSync, LeftKiB: jp.OutOfSync}
					if jp.HasSyncDetails {
						p.Sync.PercentDone = jp.PercentDone
						p.Sync.ETA = time.Duration(jp.ETASeconds * float64(time.Second))
						p.Sync.SpeedKiBps = uint64(jp.SpeedMiBps * 1024)
					}
				}
				c.PeerDevices = append(c.PeerDevices, p)
			}
			r.Connections = append(r.Connections, c)
		}
		st.Resources = append(st.Resources, r)
	}
	return st, nil
}
