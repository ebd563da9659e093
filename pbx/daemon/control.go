package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"pbxha/pbx/sipd"
	"pbxha/pbx/store"
)

// Status is what `pbx status` shows.
type Status struct {
	Registrations []store.Binding `json:"registrations"`
	Calls         []CallStatus    `json:"calls"`
	RTP           RTPTotals       `json:"rtp"`
}

// CallStatus is one active call.
type CallStatus struct {
	ID     string    `json:"id"`
	Caller string    `json:"caller"`
	Callee string    `json:"callee"`
	State  string    `json:"state"`
	Start  time.Time `json:"start"`
	Answer time.Time `json:"answer"`
}

// serveControl answers GET /status on a unix socket.
func serveControl(path string, st *store.Store, srv *sipd.Server, rtp func() RTPTotals) (*http.Server, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		bs, err := st.Bindings(r.Context(), time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s := Status{Registrations: bs, Calls: []CallStatus{}, RTP: rtp()}
		for _, c := range srv.Calls() {
			s.Calls = append(s.Calls, CallStatus{ID: c.ID, Caller: c.Caller, Callee: c.Callee,
				State: c.State.String(), Start: c.Start, Answer: c.Answer})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(l)
	return hs, nil
}

// ErrNotRunning reports that no daemon answers on the control socket.
var ErrNotRunning = errors.New("pbx daemon is not running")

// QueryStatus asks the daemon serving data for its status.
func QueryStatus(ctx context.Context, data string) (Status, error) {
	var s Status
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", ControlSocket(data))
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://pbx/status", nil)
	if err != nil {
		return s, err
	}
	res, err := c.Do(req)
	if err != nil {
		return s, fmt.Errorf("%w: %v", ErrNotRunning, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return s, fmt.Errorf("status: daemon answered %s", res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("status: %w", err)
	}
	return s, nil
}
