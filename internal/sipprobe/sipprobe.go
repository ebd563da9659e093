// Package sipprobe asks a SIP server whether it answers: one OPTIONS over
// UDP, the check phones, proxies and load balancers make. Agents and the lab
// use it in-process, so a probe spawns nothing.
package sipprobe

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"
)

func token() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Options sends one SIP OPTIONS over UDP to addr and returns the status
// line of the answer ("SIP/2.0 200 OK"), waiting at most wait.
func Options(ctx context.Context, addr string, wait time.Duration) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return "", fmt.Errorf("OPTIONS to %s: %w", addr, err)
	}
	defer c.Close()
	deadline := time.Now().Add(wait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = c.SetDeadline(deadline)
	callID := token() + "@pbxha"
	req := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:monitor@pbxha.invalid>;tag=%s\r\n"+
		"To: <sip:%s>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"User-Agent: pbxha\r\n"+
		"Content-Length: 0\r\n\r\n",
		addr, c.LocalAddr(), token(), token(), addr, callID)
	if _, err := c.Write([]byte(req)); err != nil {
		return "", fmt.Errorf("OPTIONS to %s: %w", addr, err)
	}
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return "", fmt.Errorf("OPTIONS to %s: no answer within %v: %w", addr, wait, err)
		}
		resp := buf[:n]
		if !bytes.Contains(resp, []byte(callID)) {
			continue // a late answer to an earlier probe
		}
		line, _, _ := strings.Cut(string(resp), "\r\n")
		return line, nil
	}
}
