package drbdvm

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Result is what a guest command produced.
type Result struct {
	Stdout, Stderr string
	Status         int // exit status; 137 when the guest killed it on timeout
}

// channel speaks the command loop's protocol (guest/cmdloop) over the
// guest's second serial port.
type channel struct {
	mu   sync.Mutex
	conn deadlineConn
	r    *bufio.Reader
	seq  int
}

// deadlineConn is the part of net.Conn the channel uses.
type deadlineConn interface {
	io.ReadWriter
	SetReadDeadline(time.Time) error
}

// answerGrace is how long after a command's own timeout the host waits for
// the guest's answer (the guest kills the command itself first).
const answerGrace = 15 * time.Second

func newChannel(conn deadlineConn) *channel {
	return &channel{conn: conn, r: bufio.NewReaderSize(conn, 1<<16)}
}

// waitReady waits up to timeout for the command loop's READY line.
func (c *channel) waitReady(timeout time.Duration) error {
	if err := c.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return fmt.Errorf("wait for guest command loop: %w", err)
	}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("wait for guest command loop: %w", err)
		}
		if strings.TrimSpace(line) == "READY" {
			return nil
		}
	}
}

// run sends script to the guest, which kills it after timeout, and returns
// its result.
func (c *channel) run(script string, timeout time.Duration) (Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	id := strconv.Itoa(c.seq)
	secs := int(math.Ceil(timeout.Seconds()))
	req := fmt.Sprintf("%s %d %s\n", id, secs, base64.StdEncoding.EncodeToString([]byte(script)))
	if _, err := io.WriteString(c.conn, req); err != nil {
		return Result{}, fmt.Errorf("send command: %w", err)
	}
	if err := c.conn.SetReadDeadline(time.Now().Add(timeout + answerGrace)); err != nil {
		return Result{}, fmt.Errorf("send command: %w", err)
	}
	return readAnswer(c.r, id)
}

// readAnswer reads one framed answer for id, skipping lines of older
// answers (a command the host gave up on may still answer late).
func readAnswer(r *bufio.Reader, id string) (Result, error) {
	var out, errOut strings.Builder
	var cur *strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return Result{}, fmt.Errorf("read answer to command %s: %w", id, err)
		}
		line = strings.TrimRight(line, "\r\n")
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "OUT" && f[1] == id:
			cur = &out
		case len(f) == 2 && f[0] == "ERR" && f[1] == id:
			cur = &errOut
		case len(f) == 3 && f[0] == "END" && f[1] == id:
			return decodeAnswer(out.String(), errOut.String(), f[2])
		case len(f) >= 2 && (f[0] == "OUT" || f[0] == "ERR" || f[0] == "END"):
			cur = nil // another command's answer
		case cur != nil:
			cur.WriteString(line)
		}
	}
}

func decodeAnswer(out, errOut, status string) (Result, error) {
	var res Result
	var err error
	if res.Status, err = strconv.Atoi(status); err != nil {
		return res, fmt.Errorf("bad exit status %q: %w", status, err)
	}
	o, err := base64.StdEncoding.DecodeString(out)
	if err != nil {
		return res, fmt.Errorf("decode stdout: %w", err)
	}
	e, err := base64.StdEncoding.DecodeString(errOut)
	if err != nil {
		return res, fmt.Errorf("decode stderr: %w", err)
	}
	res.Stdout, res.Stderr = string(o), string(e)
	return res, nil
}
