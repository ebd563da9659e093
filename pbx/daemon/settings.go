package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Settings are the tunables read from --config, a JSON object; absent keys
// keep their defaults:
//
//	{"ring_timeout": "60s", "nonce_ttl": "5m", "grace": "10s",
//	 "min_expires": 60, "max_expires": 7200, "default_expires": 3600,
//	 "digest_algorithms": ["SHA-256", "MD5"]}
//
// digest_algorithms is the challenge order: clients that answer only the
// first challenge (sipp) need "MD5" first.
type Settings struct {
	RingTimeout    Duration `json:"ring_timeout"`
	NonceTTL       Duration `json:"nonce_ttl"`
	Grace          Duration `json:"grace"`
	MinExpires     int      `json:"min_expires"`
	MaxExpires     int      `json:"max_expires"`
	DefaultExpires int      `json:"default_expires"`
	DigestAlgs     []string `json:"digest_algorithms"`
}

// DefaultSettings are used without --config.
func DefaultSettings() Settings {
	return Settings{
		RingTimeout: Duration(60 * time.Second), NonceTTL: Duration(5 * time.Minute), Grace: Duration(10 * time.Second),
		MinExpires: 60, MaxExpires: 7200, DefaultExpires: 3600,
	}
}

// LoadSettings reads path over the defaults ("" means defaults only).
func LoadSettings(path string) (Settings, error) {
	s := DefaultSettings()
	if path == "" {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("config: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("config %s: %w", path, err)
	}
	switch {
	case s.MinExpires < 1 || s.MaxExpires < s.MinExpires || s.DefaultExpires < s.MinExpires || s.DefaultExpires > s.MaxExpires:
		return s, fmt.Errorf("config %s: want 1 <= min_expires <= default_expires <= max_expires", path)
	case s.RingTimeout <= 0 || s.NonceTTL <= 0 || s.Grace <= 0:
		return s, fmt.Errorf("config %s: durations must be positive", path)
	}
	return s, nil
}

// Duration is a time.Duration written as "90s" in JSON.
type Duration time.Duration

// D is the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalJSON parses a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string like \"30s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
