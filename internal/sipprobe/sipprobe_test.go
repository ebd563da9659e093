package sipprobe

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// A UDP responder answering like a SIP server: echo the Call-ID in a 200.
func TestOptions(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			req := string(buf[:n])
			if !strings.HasPrefix(req, "OPTIONS sip:") || !strings.Contains(req, "CSeq: 1 OPTIONS\r\n") {
				continue
			}
			var callID string
			for _, l := range strings.Split(req, "\r\n") {
				if v, ok := strings.CutPrefix(l, "Call-ID: "); ok {
					callID = v
				}
			}
			_, _ = c.WriteTo([]byte("SIP/2.0 200 OK\r\nCall-ID: other\r\n\r\n"), from) // not ours: skipped
			_, _ = c.WriteTo([]byte("SIP/2.0 200 OK\r\nCall-ID: "+callID+"\r\nContent-Length: 0\r\n\r\n"), from)
		}
	}()
	line, err := Options(context.Background(), c.LocalAddr().String(), time.Second)
	if err != nil || line != "SIP/2.0 200 OK" {
		t.Fatalf("Options = %q, %v", line, err)
	}

	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if _, err := Options(context.Background(), silent.LocalAddr().String(), 100*time.Millisecond); err == nil || !strings.Contains(err.Error(), "no answer within 100ms") {
		t.Fatalf("silent server: %v", err)
	}
}
