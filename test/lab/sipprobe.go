package lab

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netns"

	"pbxha/internal/sipprobe"
)

// Probe records when the service under test answered.
type Probe interface {
	Replies() []time.Time
	Output() string
	Stop()
}

// SIPProber sends SIP OPTIONS to a target from the client namespace every
// 50 ms and records when a 200 came back.
type SIPProber struct {
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	replies []time.Time
	last    string
}

// StartSIPProber starts probing target (IP:PORT) from the client.
func StartSIPProber(target string) (*SIPProber, error) {
	ns, err := netns.GetFromName(ClientNS)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &SIPProber{cancel: cancel, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		defer close(p.done)
		defer ns.Close()
		// The thread stays in the client's namespace and dies with the
		// goroutine (it is never unlocked).
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			started <- err
			return
		}
		started <- nil
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			line, err := sipprobe.Options(ctx, target, 45*time.Millisecond)
			p.mu.Lock()
			if err == nil && strings.HasPrefix(line, "SIP/2.0 200") {
				p.replies = append(p.replies, time.Now())
			} else if err != nil {
				p.last = err.Error()
			} else {
				p.last = line
			}
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	if err := <-started; err != nil {
		cancel()
		return nil, err
	}
	return p, nil
}

// SIPPing sends one OPTIONS to target from the client namespace.
func SIPPing(ctx context.Context, target string) (string, error) {
	ns, err := netns.GetFromName(ClientNS)
	if err != nil {
		return "", fmt.Errorf("client namespace: %w (is the lab up?)", err)
	}
	defer ns.Close()
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := netns.Set(ns); err != nil {
			done <- result{err: err}
			return
		}
		line, err := sipprobe.Options(ctx, target, 2*time.Second)
		done <- result{line, err}
	}()
	r := <-done
	return r.line, r.err
}

// Replies returns when each 200 arrived.
func (p *SIPProber) Replies() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.replies...)
}

// Output is the last failure seen.
func (p *SIPProber) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// Stop ends the prober.
func (p *SIPProber) Stop() {
	p.cancel()
	<-p.done
}
