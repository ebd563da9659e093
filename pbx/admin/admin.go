// Package admin implements the `pbx` administration commands (init, user
// add/list/del, status) over the store and the daemon's control socket, and
// formats their output; cmd/pbx only maps flags onto these functions.
package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"pbxha/pbx/auth"
	"pbxha/pbx/daemon"
	"pbxha/pbx/store"
)

// Init creates or upgrades the data directory.
func Init(w io.Writer, data, realm string) error {
	if err := store.Init(data, realm); err != nil {
		return err
	}
	s, err := store.Open(data)
	if err != nil {
		return err
	}
	defer s.Close()
	r, err := s.Realm()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "data directory %s ready (realm %q)\n", data, r)
	return nil
}

func withStore(data string, fn func(*store.Store) error) error {
	s, err := store.Open(data)
	if err != nil {
		return err
	}
	return errors.Join(fn(s), s.Close())
}

// NewUser is what `pbx user add` sets.
type NewUser struct {
	Ext, Name, Password string
	Record              bool // record the extension's calls
}

// AddUser creates or updates an extension; only password digests are kept.
func AddUser(ctx context.Context, w io.Writer, data string, u NewUser) error {
	if u.Password == "" {
		return errors.New("user add: --password is required")
	}
	return withStore(data, func(s *store.Store) error {
		realm, err := s.Realm()
		if err != nil {
			return err
		}
		err = s.AddUser(ctx, store.User{Ext: u.Ext, Name: u.Name, Record: u.Record,
			HA1MD5: auth.HA1(auth.MD5, u.Ext, realm, u.Password), HA1SHA256: auth.HA1(auth.SHA256, u.Ext, realm, u.Password)})
		if err == nil {
			fmt.Fprintf(w, "user %s saved\n", u.Ext)
		}
		return err
	})
}

// DelUser removes an extension and its registrations.
func DelUser(ctx context.Context, w io.Writer, data, ext string) error {
	return withStore(data, func(s *store.Store) error {
		err := s.DelUser(ctx, ext)
		if err == nil {
			fmt.Fprintf(w, "user %s deleted\n", ext)
		}
		return err
	})
}

// ListUsers prints the extensions.
func ListUsers(ctx context.Context, w io.Writer, data string) error {
	return withStore(data, func(s *store.Store) error {
		us, err := s.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EXT\tNAME\tRECORD\tCREATED")
		for _, u := range us {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Ext, u.Name, yesNo(u.Record), u.Created.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	})
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// ListCDRs prints the latest limit call records, newest first, with each
// call's recording as a path under data.
func ListCDRs(ctx context.Context, w io.Writer, data string, limit int) error {
	if limit < 1 {
		return fmt.Errorf("cdr list: --limit %d: want at least 1", limit)
	}
	return withStore(data, func(s *store.Store) error {
		cs, err := s.CDRs(ctx, limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "START\tCALLER\tCALLEE\tDURATION\tDISPOSITION\tSTATUS\tHUNG UP BY\tRECORDING")
		for _, c := range cs {
			rec := "-"
			if c.Recording != "" {
				rec = filepath.Join(data, c.Recording)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.Start.UTC().Format(time.RFC3339), c.Caller, c.Callee,
				c.Duration().Round(time.Second), c.Disposition, c.SIPStatus, c.HangupSide, rec)
		}
		return tw.Flush()
	})
}

// Status prints registrations and active calls. Without a running daemon
// it prints the registrations stored on the volume and says so.
func Status(ctx context.Context, w io.Writer, data string) error {
	st, err := daemon.QueryStatus(ctx, data)
	running := err == nil
	if errors.Is(err, daemon.ErrNotRunning) {
		err = withStore(data, func(s *store.Store) error {
			st.Registrations, err = s.Bindings(ctx, time.Now())
			return err
		})
	}
	if err != nil {
		return err
	}
	PrintStatus(w, st, running, time.Now())
	return nil
}

// PrintStatus writes st as two tables.
func PrintStatus(w io.Writer, st daemon.Status, running bool, now time.Time) {
	if running {
		fmt.Fprintln(w, "daemon: running")
	} else {
		fmt.Fprintln(w, "daemon: not running (registrations as stored on the volume)")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nREGISTRATIONS (%d)\nEXT\tCONTACT\tRECEIVED\tTRANSPORT\tEXPIRES IN\tUSER AGENT\n", len(st.Registrations))
	for _, b := range st.Registrations {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.Ext, b.Contact, b.Received, b.Transport,
			b.Expires.Sub(now).Round(time.Second), b.UserAgent)
	}
	if running {
		fmt.Fprintf(tw, "\nACTIVE CALLS (%d)\nCALLER\tCALLEE\tSTATE\tDURATION\tCALL-ID\n", len(st.Calls))
		for _, c := range st.Calls {
			d := "-"
			if !c.Answer.IsZero() {
				d = now.Sub(c.Answer).Round(time.Second).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Caller, c.Callee, c.State, d, c.ID)
		}
	}
	tw.Flush()
	if running {
		fmt.Fprintf(w, "\nRTP packets relayed by ended calls: %d from callers, %d from callees\n", st.RTP.FromCaller, st.RTP.FromCallee)
	}
}
