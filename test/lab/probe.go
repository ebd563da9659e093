package lab

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Prober pings the VIP from the client namespace every 50 ms, recording
// when each reply arrived (ping -D prints the arrival's Unix time).
type Prober struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan struct{}
}

// StartProber starts pinging target from the client (line-buffered: ping
// would hold replies back in a pipe's stdio buffer).
func StartProber(target string) (*Prober, error) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Prober{cancel: cancel, done: make(chan struct{})}
	p.cmd = exec.CommandContext(ctx, "ip", "netns", "exec", ClientNS, "stdbuf", "-oL", "ping", "-D", "-n", "-i", "0.05", "-W", "0.05", target)
	p.cmd.Stdout = &lockedWriter{p}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start ping: %w", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p, nil
}

type lockedWriter struct{ p *Prober }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

// Replies returns the arrival times of the replies so far.
func (p *Prober) Replies() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ParsePingReplies(p.out.Bytes())
}

// Output is what ping printed so far.
func (p *Prober) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Stop ends the prober and waits for it.
func (p *Prober) Stop() {
	p.cancel()
	<-p.done
}

// ParsePingReplies extracts reply arrival times from `ping -D` output
// ("[1700000000.123456] 64 bytes from 198.18.0.50: icmp_seq=1 ...").
func ParsePingReplies(out []byte) []time.Time {
	var ts []time.Time
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "[") || !strings.Contains(line, " bytes from ") {
			continue
		}
		end := strings.IndexByte(line, ']')
		if end < 0 {
			continue
		}
		secStr, frac, _ := strings.Cut(line[1:end], ".")
		sec, err1 := strconv.ParseInt(secStr, 10, 64)
		usec, err2 := strconv.ParseInt((frac + "000000")[:6], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		ts = append(ts, time.Unix(sec, usec*1000))
	}
	return ts
}

// minOutage is the shortest silence taken for an outage: four lost probes.
const minOutage = 200 * time.Millisecond

// Recovery is the time from kill to the first reply after the outage: the
// reply that ends the longest silence (of at least minOutage) following
// the kill. Replies in flight when the node died do not count.
func Recovery(replies []time.Time, kill time.Time) (time.Duration, bool) {
	gap := minOutage
	var rec time.Time
	for i := 1; i < len(replies); i++ {
		if !replies[i].After(kill) {
			continue
		}
		if d := replies[i].Sub(replies[i-1]); d > gap {
			gap, rec = d, replies[i]
		}
	}
	if rec.IsZero() {
		return 0, false
	}
	return rec.Sub(kill), true
}
