// Package procfs reads what the agents need to know from /proc: the mount
// table (mountinfo) and which processes use a file, a device or anything
// below a directory. Parsing is pure (ParseMountinfo); the scans read a
// proc root that tests can replace.
package procfs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Mount is one line of /proc/PID/mountinfo.
type Mount struct {
	Major, Minor uint32 // the mounted device (st_dev of files on it)
	Root         string // the mounted subtree of the filesystem
	MountPoint   string
	Options      string // per-mount options
	FSType       string
	Source       string // e.g. /dev/drbd0
	SuperOptions string
}

// ParseMountinfo decodes a mountinfo text (proc(5)).
func ParseMountinfo(b []byte) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(f) {
			return nil, fmt.Errorf("mountinfo line %d: %d fields, no separator", n, len(f))
		}
		var m Mount
		if _, err := fmt.Sscanf(f[2], "%d:%d", &m.Major, &m.Minor); err != nil {
			return nil, fmt.Errorf("mountinfo line %d: device %q", n, f[2])
		}
		m.Root, m.MountPoint, m.Options = unescape(f[3]), unescape(f[4]), f[5]
		m.FSType, m.Source = f[sep+1], unescape(f[sep+2])
		if sep+3 < len(f) {
			m.SuperOptions = f[sep+3]
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// Mounts reads the calling process's mount table.
func Mounts() ([]Mount, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	return ParseMountinfo(b)
}

// unescape undoes mountinfo's octal escapes (\040 for a space...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Process is a process found using something.
type Process struct {
	PID  int
	Comm string
}

func (p Process) String() string { return fmt.Sprintf("%s (pid %d)", p.Comm, p.PID) }

// Users lists the processes (other than this one) with a link in
// /proc/PID/{cwd,root,exe,fd/*} that match accepts. Processes that vanish
// or cannot be read during the scan are skipped. proc "" means /proc.
func Users(proc string, match func(link string, fi os.FileInfo) bool) ([]Process, error) {
	if proc == "" {
		proc = "/proc"
	}
	entries, err := os.ReadDir(proc)
	if err != nil {
		return nil, err
	}
	var out []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		dir := filepath.Join(proc, e.Name())
		links := []string{filepath.Join(dir, "cwd"), filepath.Join(dir, "root"), filepath.Join(dir, "exe")}
		if fds, err := os.ReadDir(filepath.Join(dir, "fd")); err == nil {
			for _, fd := range fds {
				links = append(links, filepath.Join(dir, "fd", fd.Name()))
			}
		}
		for _, l := range links {
			target, err := os.Readlink(l)
			if err != nil {
				continue
			}
			fi, err := os.Stat(l)
			if err != nil {
				continue
			}
			if match(target, fi) {
				comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
				out = append(out, Process{PID: pid, Comm: strings.TrimSpace(string(comm))})
				break
			}
		}
	}
	return out, nil
}

// Below matches links to dir or anything beneath it.
func Below(dir string) func(string, os.FileInfo) bool {
	dir = filepath.Clean(dir)
	return func(link string, _ os.FileInfo) bool {
		return link == dir || strings.HasPrefix(link, dir+"/")
	}
}

// Alive reports whether pid exists and is not a zombie waiting for its
// parent to collect it.
func Alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] != 'Z'
}
