package daemon

import (
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// notify sends a state to systemd when NOTIFY_SOCKET is set.
func notify(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("sd_notify", "state", state, "err", err)
	}
}

// watchdog pings systemd at half the WATCHDOG_USEC interval when the unit
// asks for it. The returned function stops the pings.
func watchdog(log *slog.Logger) func() {
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("watchdog settings", "err", err)
	}
	if err != nil || every == 0 {
		return func() {}
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(every / 2)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				notify(log, "WATCHDOG=1")
			}
		}
	}()
	return func() { close(stop) }
}
