// Package daemon runs the PBX: it opens the data directory, starts the SIP
// server and the RTP relay on the given address, speaks the systemd notify
// protocol (READY, watchdog, STOPPING), serves `pbx status` on a control
// socket and purges expired registrations, until its context ends.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"pbxha/pbx/sipd"
	"pbxha/pbx/store"
)

// Options are `pbx run`'s settings.
type Options struct {
	Data     string
	Listen   string // IP:port for SIP (UDP and TCP) and the relay's IP
	Realm    string
	RTPPorts string // "LOW-HIGH"
	Config   string // optional settings file (see Settings)
	Logger   *slog.Logger
	// Active-call recovery (docs/recovery.md): re-INVITE both legs of each
	// restored call; RTP timeout of restored calls (0: 30 s); NoJournal
	// (benchmarks only) runs without the dialog journal.
	RecoverReinvite bool
	RecoverTimeout  time.Duration
	NoJournal       bool
}

// ControlSocket is where a running daemon answers `pbx status`.
func ControlSocket(data string) string { return filepath.Join(data, "pbx.sock") }

// Run serves until ctx ends, then stops gracefully.
func Run(ctx context.Context, o Options) error {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	sip.SetDefaultLogger(log) // sipgo's transport and transaction layers log there
	set, err := LoadSettings(o.Config)
	if err != nil {
		return err
	}
	low, high, err := ParsePortRange(o.RTPPorts)
	if err != nil {
		return err
	}
	st, err := store.Open(o.Data)
	if err != nil {
		return fmt.Errorf("refusing to start: %w", err)
	}
	defer st.Close()
	realm, err := st.Realm()
	if err != nil {
		return err
	}
	if o.Realm != "" && o.Realm != realm {
		return fmt.Errorf("refusing to start: --realm %q differs from the realm %q the users' digests were made for (set at `pbx init`)", o.Realm, realm)
	}
	nonceKey, err := st.NonceKey(ctx)
	if err != nil {
		return err
	}
	ip, err := listenIP(o.Listen)
	if err != nil {
		return err
	}
	media, err := newMedia(ip, low, high, o.Data, log)
	if err != nil {
		return fmt.Errorf("rtp relay: %w", err)
	}
	var observer sipd.CallObserver
	var calls []sipd.CallRecord
	if !o.NoJournal {
		jnl, recs, err := openJournal(o.Data, log)
		if err != nil {
			return err
		}
		defer jnl.Close()
		observer, calls = jnl, recs
		media.finishRecordings(calls)
	}
	srv, err := sipd.New(sipd.Config{
		Listen: o.Listen, Realm: realm, Store: st, Media: media, Logger: log, Observer: observer,
		RingTimeout: set.RingTimeout.D(), NonceTTL: set.NonceTTL.D(), NonceKey: nonceKey,
		Expires:    sipd.ExpiresPolicy{Min: set.MinExpires, Max: set.MaxExpires, Default: set.DefaultExpires},
		DigestAlgs: set.DigestAlgs,
	})
	if err != nil {
		return err
	}
	if err := srv.Restore(ctx, calls, sipd.RestoreOptions{Reinvite: o.RecoverReinvite, RTPTimeout: o.RecoverTimeout}); err != nil {
		log.Error("active-call recovery", "err", err) // those calls are hung up; the others go on
	}
	ctl, err := serveControl(ControlSocket(o.Data), st, srv, media.rtpTotals)
	if err != nil {
		return err
	}
	defer ctl.Close()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, set.Grace.D()) }()
	select {
	case <-srv.Ready():
	case err := <-served:
		return err
	}
	log.Info("pbx ready", "listen", o.Listen, "realm", realm, "rtp", o.RTPPorts, "data", o.Data)
	notify(log, "READY=1\nSTATUS=answering SIP on "+o.Listen)
	stopWatchdog := watchdog(log)
	defer stopWatchdog()
	go purge(ctx, log, st)

	select {
	case err = <-served:
	case <-ctx.Done():
		notify(log, "STOPPING=1")
		log.Info("stopping: letting in-flight transactions finish", "grace", set.Grace.D())
		err = <-served
	}
	return err
}

func listenIP(listen string) (netip.Addr, error) {
	ap, err := netip.ParseAddrPort(listen)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("--listen %q: want IP:PORT: %w", listen, err)
	}
	if ap.Addr().IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("--listen %q: a specific address is required, not a wildcard", listen)
	}
	return ap.Addr(), nil
}

// ParsePortRange parses "LOW-HIGH": an even LOW, HIGH > LOW, both in 1024-65535.
func ParsePortRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	l, err1 := strconv.Atoi(lo)
	h, err2 := strconv.Atoi(hi)
	switch {
	case !ok || errors.Join(err1, err2) != nil:
		return 0, 0, fmt.Errorf("--rtp-ports %q: want LOW-HIGH", s)
	case l < 1024 || h > 65535 || h <= l:
		return 0, 0, fmt.Errorf("--rtp-ports %q: want 1024 <= LOW < HIGH <= 65535", s)
	case l%2 != 0:
		return 0, 0, fmt.Errorf("--rtp-ports %q: LOW must be even (RTP on even ports, RTCP on the next)", s)
	}
	return l, h, nil
}

// purge removes expired registrations every half minute.
func purge(ctx context.Context, log *slog.Logger, st *store.Store) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := st.PurgeExpired(ctx, now); err != nil {
				log.Warn("purge expired bindings", "err", err)
			} else if n > 0 {
				log.Info("expired bindings removed", "count", n)
			}
		}
	}
}
