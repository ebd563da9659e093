package drbdctl

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Overall combines the running resyncs of r into one progress: the least
// advanced percentage, the sum of data left and the longest ETA. ok is
// false when nothing resyncs.
func Overall(r Resource) (p SyncProgress, ok bool) {
	rs := r.Resyncs()
	for i, s := range rs {
		if i == 0 || s.Progress.PercentDone < p.PercentDone {
			p.PercentDone = s.Progress.PercentDone
		}
		p.LeftKiB += s.Progress.LeftKiB
		p.TotalKiB += s.Progress.TotalKiB
		p.SpeedKiBps += s.Progress.SpeedKiBps
		p.ETA = max(p.ETA, s.Progress.ETA)
	}
	return p, len(rs) > 0
}

// Estimator fills in the ETA and rate DRBD did not give (8.4's events2
// has none) from how fast the data left shrinks between samples.
type Estimator struct {
	at   time.Time
	left uint64
	rate float64 // KiB/s, smoothed
}

// Update records a sample taken at now and returns p completed.
func (e *Estimator) Update(now time.Time, p SyncProgress) SyncProgress {
	if !e.at.IsZero() && now.After(e.at) && p.LeftKiB <= e.left {
		r := float64(e.left-p.LeftKiB) / now.Sub(e.at).Seconds()
		if e.rate == 0 {
			e.rate = r
		} else {
			e.rate = 0.7*e.rate + 0.3*r
		}
	}
	e.at, e.left = now, p.LeftKiB
	if p.SpeedKiBps == 0 {
		p.SpeedKiBps = uint64(e.rate)
	}
	if p.ETA == 0 && e.rate > 0 {
		p.ETA = time.Duration(float64(p.LeftKiB) / e.rate * float64(time.Second)).Round(time.Second)
	}
	return p
}

// ProgressLine renders p as "[=====>    ]  45.2%  12.0 MiB left  7.0 MiB/s
// ETA 0:00:12", with a bar of width cells; unknown figures are left out.
func ProgressLine(p SyncProgress, width int) string {
	done := int(p.PercentDone / 100 * float64(width))
	done = min(max(done, 0), width)
	bar := strings.Repeat("=", done)
	if done < width {
		bar += ">" + strings.Repeat(" ", width-done-1)
	}
	s := fmt.Sprintf("[%s] %5.1f%%", bar, p.PercentDone)
	if p.LeftKiB > 0 {
		s += fmt.Sprintf("  %s left", kib(p.LeftKiB))
	}
	if p.SpeedKiBps > 0 {
		s += fmt.Sprintf("  %s/s", kib(p.SpeedKiBps))
	}
	if p.ETA > 0 {
		t := int(p.ETA.Round(time.Second).Seconds())
		s += fmt.Sprintf("  ETA %d:%02d:%02d", t/3600, t/60%60, t%60)
	}
	return s
}

// kib renders an amount of KiB in a readable unit.
func kib(n uint64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d KiB", n)
}

// ProgressPrinter shows resync progress while a wait runs: on a terminal
// one line redrawn in place, elsewhere a new line whenever the connection
// states change or the resync moves on by a whole percent.
type ProgressPrinter struct {
	W        io.Writer
	Terminal bool
	Now      func() time.Time // nil: time.Now

	est     Estimator
	lastKey string
	printed bool
}

// Show prints r's overall resync progress, or its connection states when
// nothing resyncs.
func (p *ProgressPrinter) Show(r Resource) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	var line, key string
	if sp, ok := Overall(r); ok {
		sp = p.est.Update(now(), sp)
		line, key = r.Name+" "+ProgressLine(sp, 30), fmt.Sprintf("sync %d", int(sp.PercentDone))
	} else {
		var cs []string
		for _, c := range r.Connections {
			cs = append(cs, fmt.Sprintf("%s %s", c.Name, c.State))
		}
		line = fmt.Sprintf("%s: disk %s, %s", r.Name, r.LocalDisk(), strings.Join(cs, ", "))
		key = line
	}
	switch {
	case p.Terminal:
		fmt.Fprintf(p.W, "\r\x1b[K%s", line)
	case key != p.lastKey:
		fmt.Fprintln(p.W, line)
	}
	p.lastKey, p.printed = key, true
}

// Done ends the redrawn line on a terminal.
func (p *ProgressPrinter) Done() {
	if p.Terminal && p.printed {
		fmt.Fprintln(p.W)
	}
}
