// Command capture records the SDP that real SIP clients send, for the golden
// files next to it. It speaks just enough SIP over UDP on loopback:
//
//	capture -listen 127.0.0.1:5099            # print the body of the first INVITE, answer 486
//	capture -call 127.0.0.1:5098 -sdp offer   # send an INVITE with that body, print the 200's body
//	        [-user NAME]                      # request URI user (default service)
//
// See capture.sh for the exact client invocations used.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	listen := flag.String("listen", "", "UDP address to wait for an INVITE on")
	call := flag.String("call", "", "UDP address to send an INVITE to")
	offer := flag.String("sdp", "", "file with the SDP offer to send (with -call)")
	user := flag.String("user", "service", "user part of the request URI (with -call)")
	flag.Parse()
	var err error
	switch {
	case *listen != "":
		err = serve(*listen)
	case *call != "":
		err = invite(*call, *user, *offer)
	default:
		err = fmt.Errorf("need -listen or -call")
	}
	if err != nil {
		log.Fatal(err)
	}
}

func split(msg []byte) (head string, body []byte) {
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	if i < 0 {
		return string(msg), nil
	}
	return string(msg[:i]), msg[i+4:]
}

func header(head, name string) string {
	for _, l := range strings.Split(head, "\r\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func serve(addr string) error {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 65535)
	for {
		if err := c.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
			return err
		}
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		head, body := split(buf[:n])
		if !strings.HasPrefix(head, "INVITE ") {
			continue
		}
		os.Stdout.Write(body)
		resp := "SIP/2.0 486 Busy Here\r\n"
		for _, h := range []string{"Via", "From", "Call-ID", "CSeq"} {
			resp += h + ": " + header(head, h) + "\r\n"
		}
		resp += "To: " + header(head, "To") + ";tag=capture\r\nContent-Length: 0\r\n\r\n"
		_, err = c.WriteTo([]byte(resp), from)
		return err
	}
}

func invite(addr, user, offerFile string) error {
	sdp, err := os.ReadFile(offerFile)
	if err != nil {
		return err
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	common := func(method string, cseq int, toTag string) string {
		return fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK-capture-%s\r\n"+
			"From: <sip:capture@%s>;tag=capture\r\nTo: <sip:%s@%s>%s\r\n"+
			"Call-ID: capture-1\r\nCSeq: %d %s\r\nContact: <sip:capture@%s>\r\nMax-Forwards: 70\r\n",
			local, method, local, user, addr, toTag, cseq, method, local)
	}
	req := "INVITE sip:" + user + "@" + addr + " SIP/2.0\r\n" + common("INVITE", 1, "") +
		fmt.Sprintf("Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n", len(sdp)) + string(sdp)
	if _, err := c.Write([]byte(req)); err != nil {
		return err
	}
	buf := make([]byte, 65535)
	for {
		if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			return err
		}
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		head, body := split(buf[:n])
		if !strings.HasPrefix(head, "SIP/2.0 200") {
			continue
		}
		os.Stdout.Write(body)
		_, tag, _ := strings.Cut(header(head, "To"), ";tag=")
		for i, m := range []string{"ACK", "BYE"} {
			msg := m + " sip:" + user + "@" + addr + " SIP/2.0\r\n" + common(m, 1+i, ";tag="+tag) + "Content-Length: 0\r\n\r\n"
			if _, err := c.Write([]byte(msg)); err != nil {
				return err
			}
		}
		return nil
	}
}
