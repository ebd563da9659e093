package drbd

import (
	"fmt"

	"pbxha/drbdctl"
)

// Promotion scores, highest first. Pacemaker promotes the node with the
// highest score; a node without one is never promoted.
const (
	// ScoreUpToDateKnown: UpToDate data, and every peer's disk state is
	// known (connected, or outdated by fencing), or this node is Primary:
	// the data is known to be the newest.
	ScoreUpToDateKnown = 10000
	// ScoreUpToDate: UpToDate data while some peer's state is unknown.
	ScoreUpToDate = 1000
	// ScoreConsistent: consistent data of unknown age; promotion works
	// only if DRBD's fence-peer handler outdates the peers first.
	ScoreConsistent = 5
)

// PromotionScore derives the promotion score from r's disk states. ok is
// false when this node must have no score (no DRBD quorum, or no
// consistent data); why says how the score was chosen.
func PromotionScore(r drbdctl.Resource) (score int, ok bool, why string) {
	disk := r.LocalDisk()
	switch {
	case !r.Quorate():
		return 0, false, "no DRBD quorum"
	case disk == drbdctl.UpToDate && (r.Role == drbdctl.Primary || r.PeersKnown()):
		return ScoreUpToDateKnown, true, "UpToDate, peers known"
	case disk == drbdctl.UpToDate:
		return ScoreUpToDate, true, "UpToDate, some peer unknown"
	case disk == drbdctl.Consistent:
		return ScoreConsistent, true, "Consistent only"
	}
	return 0, false, fmt.Sprintf("local disk %s", disk)
}
