// Package vip is the ocf:pbxha:vip resource agent: the PBX's virtual IP.
// It is a drop-in for ocf:heartbeat:IPaddr2's common use (same parameter
// names) that spawns no programs: start, stop and monitor are a handful of
// netlink and AF_PACKET syscalls. Differences from IPaddr2, on purpose:
//   - monitor fails (instead of reporting running) when the address is
//     present but its link is down or has no carrier;
//   - an IPv6 address is usable when start returns: the agent runs its own
//     short duplicate probe and adds the address with NODAD, instead of
//     waiting 1-3 s for the kernel's DAD;
//   - monitor depth 10 probes the segment for another owner of the address.
package vip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"pbxha/internal/pidfile"
	"pbxha/resource-agents/ocf"
	vipnet "pbxha/vip"
)

func checkIP(v string) error {
	ip, err := netip.ParseAddr(v)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not an IPv4 or IPv6 address", v)
	case ip.Zone() != "":
		return fmt.Errorf("%q: a virtual IP cannot carry a zone", v)
	case ip.Is4In6():
		return fmt.Errorf("%q: write the IPv4 address as %s", v, ip.Unmap())
	case ip.IsUnspecified(), ip.IsMulticast(), ip.IsLoopback(), ip.IsLinkLocalUnicast():
		return fmt.Errorf("%q cannot be a virtual IP (unspecified, multicast, loopback or link-local)", v)
	}
	return nil
}

func checkIfname(v string) error {
	if len(v) > 15 {
		return fmt.Errorf("%q is longer than 15 characters", v)
	}
	for _, c := range v {
		if c == '/' || c == ':' || c <= ' ' {
			return fmt.Errorf("%q is not an interface name (no '/', ':' or blanks; IPaddr2's nic:alias form is not supported, use label)", v)
		}
	}
	return nil
}

var (
	maskLo, maskHi   = ocf.IntRange(1, 128)
	countLo, countHi = ocf.IntRange(0, 1000)
	ivalLo, ivalHi   = ocf.IntRange(10, 10000)
	probeLo, probeHi = ocf.IntRange(10, 5000)
)

// Agent is ocf:pbxha:vip.
var Agent = &ocf.Agent{
	Name:      "vip",
	Version:   "1.0",
	ShortDesc: "Virtual IP address (IPv4/IPv6) with gratuitous ARP / unsolicited NA",
	LongDesc: "Adds a virtual IP address to an interface of the node it runs on and announces it " +
		"(gratuitous ARP for IPv4, unsolicited neighbour advertisements for IPv6) so that the segment " +
		"sends traffic for it here at once. Parameter names follow ocf:heartbeat:IPaddr2. The agent runs " +
		"no external programs; a monitor costs a few netlink syscalls.",
	Params: []ocf.Param{
		{Name: "ip", Type: ocf.String, Required: true, Unique: true, Check: checkIP,
			ShortDesc: "Virtual IPv4 or IPv6 address",
			LongDesc:  "The address to manage, e.g. 198.18.0.50 or 2001:db8::50."},
		{Name: "cidr_netmask", Type: ocf.Integer, Min: maskLo, Max: maskHi,
			ShortDesc: "Prefix length",
			LongDesc:  "The prefix length of the address (24, not 255.255.255.0). By default, that of the connected route the address falls in."},
		{Name: "nic", Type: ocf.String, Check: checkIfname,
			ShortDesc: "Network interface",
			LongDesc:  "The interface to add the address to. By default, the interface of the most specific connected route containing the address."},
		{Name: "label", Type: ocf.String,
			ShortDesc: "IPv4 address label suffix",
			LongDesc:  "Label the IPv4 address as NIC:LABEL (ip addr shows it; ifconfig shows it as an alias). The whole label is at most 15 characters."},
		{Name: "arp_count", Type: ocf.Integer, Default: "5", Min: countLo, Max: countHi, Reloadable: true,
			ShortDesc: "Announcements sent at start",
			LongDesc:  "How many rounds of gratuitous ARP (IPv4: request and reply forms) or unsolicited neighbour advertisements (IPv6) to send at start. The first leaves before start returns; the rest follow in the background every arp_interval ms and stop with the resource."},
		{Name: "arp_interval", Type: ocf.Integer, Default: "200", Min: ivalLo, Max: ivalHi, Reloadable: true,
			ShortDesc: "Milliseconds between announcements",
			LongDesc:  "The interval between announcement rounds at start, in milliseconds."},
		{Name: "arp_count_refresh", Type: ocf.Integer, Default: "0", Min: countLo, Max: countHi, Reloadable: true,
			ShortDesc: "Announcements sent at each monitor",
			LongDesc:  "How many announcement rounds each monitor sends (0: none), for switches that forget."},
		{Name: "nodad", Type: ocf.Boolean, Default: "false",
			ShortDesc: "Skip the IPv6 duplicate probe",
			LongDesc:  "IPv6 only: add the address without probing for another owner first. Either way the address is usable when start returns."},
		{Name: "probe_timeout", Type: ocf.Integer, Default: "100", Min: probeLo, Max: probeHi, Reloadable: true,
			ShortDesc: "Milliseconds to wait for another owner's answer",
			LongDesc:  "How long the IPv6 duplicate probe at start and the depth-10 monitor's ownership probe wait for another host to answer for the address."},
	},
	Actions: []ocf.Action{
		{Name: "start", Timeout: 20 * time.Second},
		{Name: "stop", Timeout: 20 * time.Second},
		{Name: "monitor", Timeout: 20 * time.Second, Interval: 10 * time.Second},
		{Name: "monitor", Timeout: 20 * time.Second, Interval: 60 * time.Second, Depth: 10},
	},
	Start:       start,
	Stop:        stop,
	Monitor:     monitor,
	Validate:    validate,
	ReloadAgent: func(*ocf.Env) error { return nil }, // every reloadable parameter is read afresh by each action
	Tasks:       map[string]ocf.Handler{taskAnnounce: announceRest},
}

// config is the resolved configuration of one resource instance.
type config struct {
	ip     netip.Addr
	prefix netip.Prefix
	nic    string
	label  string // full label (nic:label) or ""
}

func ms(e *ocf.Env, name string) time.Duration {
	return time.Duration(e.Int(name)) * time.Millisecond
}

// resolve fills the nic and prefix length from the routing table where
// they are not configured. Errors are exit-coded: configuration errors (6)
// or what this host lacks (2).
func resolve(e *ocf.Env) (config, error) {
	ip := netip.MustParseAddr(e.String("ip")) // checked by checkIP
	c := config{ip: ip, nic: e.String("nic")}
	bits := e.Int("cidr_netmask")
	if ip.Is4() && bits > 32 {
		return c, ocf.Fail(ocf.ErrConfigured, "parameter cidr_netmask: %d is not an IPv4 prefix length (1-32)", bits)
	}
	if c.nic == "" || bits == 0 {
		r, err := vipnet.FindRoute(ip)
		if err != nil {
			return c, ocf.Fail(ocf.ErrArgs, "cannot place %s on this host: %v", ip, err)
		}
		if c.nic == "" {
			c.nic = r.Link
		}
		if bits == 0 {
			bits = r.Bits
		}
	}
	c.prefix = netip.PrefixFrom(ip, bits)
	if l := e.String("label"); l != "" {
		if ip.Is6() {
			return c, ocf.Fail(ocf.ErrConfigured, "parameter label: IPv6 addresses have no labels")
		}
		c.label = c.nic + ":" + l
		if len(c.label) > 15 {
			return c, ocf.Fail(ocf.ErrConfigured, "parameter label: %q is longer than 15 characters", c.label)
		}
	}
	return c, nil
}

func validate(e *ocf.Env) error {
	c, err := resolve(e)
	if err != nil {
		return err
	}
	if _, err := vipnet.LookupLink(c.nic); err != nil {
		return ocf.Fail(ocf.ErrArgs, "parameter nic: %v", err)
	}
	return nil
}

func start(e *ocf.Env) error {
	c, err := resolve(e)
	if err != nil {
		return err
	}
	stopAnnouncer(e)
	link, err := vipnet.LookupLink(c.nic)
	if err != nil {
		return ocf.Fail(ocf.ErrArgs, "parameter nic: %v", err)
	}
	if err := link.Usable(); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "cannot start %s: %v", c.ip, err)
	}
	holder, state, err := vipnet.Locate(c.ip)
	if err != nil {
		return err
	}
	switch {
	case holder != nil && holder.Name != link.Name:
		return ocf.Fail(ocf.ErrGeneric, "%s is already configured on %s, not %s", c.ip, holder.Name, link.Name)
	case state == vipnet.DADFailed:
		return ocf.Fail(ocf.ErrGeneric, "%s on %s failed duplicate address detection: another host uses it", c.ip, link.Name)
	case state == vipnet.Absent:
		if c.ip.Is6() && !e.Bool("nodad") {
			mac, err := vipnet.ProbeOwner(e.Ctx, link, c.ip, ms(e, "probe_timeout"))
			if err != nil {
				return err
			}
			if mac != nil {
				return ocf.Fail(ocf.ErrGeneric, "%s is already in use on %s by %s", c.ip, link.Name, mac)
			}
		}
		// IPv6: the probe above replaces the kernel's DAD, which would keep
		// the address tentative (unusable) for 1-2 s.
		if err := link.Add(c.prefix, c.label, true); err != nil {
			return err
		}
		e.Log.Infof("added %s to %s", c.prefix, link.Name)
	}
	return announce(e, link, c.ip)
}

// announce sends the first round now and leaves the others to a background
// task, so start returns without waiting arp_count*arp_interval.
func announce(e *ocf.Env, link *vipnet.Link, ip netip.Addr) error {
	count := e.Int("arp_count")
	if count == 0 {
		return nil
	}
	a, err := vipnet.NewAnnouncer(link, ip)
	if err != nil {
		return err
	}
	err = a.Announce()
	a.Close()
	if err != nil {
		return err
	}
	if count > 1 {
		pid, err := e.Spawn(taskAnnounce)
		if err != nil {
			e.Log.Warnf("announcements after the first: %v", err)
			return nil
		}
		if err := pidfile.Write(announcerPidfile(e), pid); err != nil {
			e.Log.Warnf("announcer pid %d: %v", pid, err)
		}
	}
	return nil
}

const taskAnnounce = "announce"

// announceRest is the background task start spawns: rounds 2..arp_count.
func announceRest(e *ocf.Env) error {
	defer os.Remove(announcerPidfile(e))
	ip := netip.MustParseAddr(e.String("ip"))
	link, state, err := vipnet.Locate(ip)
	if err != nil || state != vipnet.Present {
		return fmt.Errorf("announce %s: address not present (%v)", ip, err)
	}
	a, err := vipnet.NewAnnouncer(link, ip)
	if err != nil {
		return err
	}
	defer a.Close()
	interval := ms(e, "arp_interval")
	time.Sleep(interval)
	return a.Repeat(context.Background(), e.Int("arp_count")-1, interval)
}

func stop(e *ocf.Env) error {
	stopAnnouncer(e)
	ip := netip.MustParseAddr(e.String("ip"))
	removed, err := vipnet.Remove(ip)
	if err != nil {
		return err
	}
	if removed {
		e.Log.Infof("removed %s", ip)
	}
	return nil
}

func monitor(e *ocf.Env) error {
	ip := netip.MustParseAddr(e.String("ip"))
	link, state, err := vipnet.Locate(ip)
	if err != nil {
		return err
	}
	switch {
	case state == vipnet.Absent:
		return ocf.NotRunning
	case state != vipnet.Present:
		return ocf.Fail(ocf.ErrGeneric, "%s on %s is %s", ip, link.Name, state)
	case e.IsSet("nic") && link.Name != e.String("nic"):
		return ocf.Fail(ocf.ErrGeneric, "%s is on %s, not on nic %s", ip, link.Name, e.String("nic"))
	}
	if err := link.Usable(); err != nil {
		return ocf.Fail(ocf.ErrGeneric, "%s is configured but unreachable: %v", ip, err)
	}
	if n := e.Int("arp_count_refresh"); n > 0 {
		a, err := vipnet.NewAnnouncer(link, ip)
		if err != nil {
			return err
		}
		err = a.Repeat(e.Ctx, n, 0)
		a.Close()
		if err != nil {
			return err
		}
	}
	if e.CheckLevel() >= 10 {
		mac, err := vipnet.ProbeOwner(e.Ctx, link, ip, ms(e, "probe_timeout"))
		if err != nil {
			return err
		}
		if mac != nil {
			return ocf.Fail(ocf.ErrGeneric, "duplicate owner: %s also answers for %s on %s", mac, ip, link.Name)
		}
	}
	return nil
}

var errNotOurs = errors.New("not our announcer")

func announcerPidfile(e *ocf.Env) string {
	return e.StatePath("pbxha-vip-" + e.Instance + ".announce.pid")
}

// stopAnnouncer ends a previous start's background announcements, so a
// stopped address is not announced again.
func stopAnnouncer(e *ocf.Env) {
	path := announcerPidfile(e)
	pid, err := pidfile.Read(path)
	if err != nil {
		return
	}
	if err := killIfOurs(pid); err != nil && !errors.Is(err, errNotOurs) {
		e.Log.Warnf("stop announcer %d: %v", pid, err)
	}
	_ = os.Remove(path)
}
