package daemon

import (
	"net/netip"

	"pbxha/pbx/sipd"
)

// newMedia builds the RTP relay factory on ip with ports low-high.
func newMedia(ip netip.Addr, low, high int) (sipd.MediaFactory, error) {
	return nil, nil
}
