package sipd

import (
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listen binds UDP and TCP on addr, which must name one specific address:
// replies and media must leave from the VIP, never from whatever a wildcard
// socket picks. The UDP socket gets a large receive buffer (SO_RCVBUFFORCE
// when privileged, else capped by net.core.rmem_max) so bursts are not
// dropped while the handlers catch up.
func listen(addr string, rcvbuf int) (*net.UDPConn, *net.TCPListener, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen %q: %w", addr, err)
	}
	if ua.IP == nil || ua.IP.IsUnspecified() {
		return nil, nil, fmt.Errorf("listen %q: a specific IP address is required, not a wildcard", addr)
	}
	if ua.Port == 0 {
		return nil, nil, fmt.Errorf("listen %q: a port is required", addr)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	if err := setRecvBuffer(udp, rcvbuf); err != nil {
		udp.Close()
		return nil, nil, fmt.Errorf("listen udp %s: %w", addr, err)
	}
	tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ua.IP, Port: ua.Port, Zone: ua.Zone})
	if err != nil {
		udp.Close()
		return nil, nil, fmt.Errorf("listen tcp %s: %w", addr, err)
	}
	return udp, tcp, nil
}

func setRecvBuffer(c *net.UDPConn, n int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
	})
	if err != nil {
		return err
	}
	if serr == syscall.EPERM {
		serr = c.SetReadBuffer(n)
	}
	if serr != nil {
		return fmt.Errorf("SO_RCVBUF %d: %w", n, serr)
	}
	return nil
}

// recvBuffer reports the kernel's SO_RCVBUF for c (twice what was asked, as
// Linux accounts for overhead).
func recvBuffer(c *net.UDPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var serr error
	if err := rc.Control(func(fd uintptr) { n, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil {
		return 0, err
	}
	return n, serr
}
