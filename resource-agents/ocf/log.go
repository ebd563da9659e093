package ocf

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Logger writes to stderr, which Pacemaker's executor captures into its log
// with the operation's name. The prefix follows ocf-shellfuncs' ocf_log
// ("IPaddr2(vip)[1234]: INFO: ...") so our lines read like stock agents'.
type Logger struct {
	w      io.Writer
	prefix string
	debug  bool
}

func newLogger(w io.Writer, agent, instance string, debug bool) *Logger {
	p := agent
	if instance != "" {
		p += "(" + instance + ")"
	}
	return &Logger{w: w, prefix: fmt.Sprintf("%s[%d]", p, os.Getpid()), debug: debug}
}

func (l *Logger) log(level, format string, args ...any) {
	msg := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	fmt.Fprintf(l.w, "%s: %s: %s\n", l.prefix, level, msg)
}

// Debugf logs only when OCF_TRACE_RA or HA_debug is set.
func (l *Logger) Debugf(format string, args ...any) {
	if l.debug {
		l.log("DEBUG", format, args...)
	}
}

// Infof logs an informational line.
func (l *Logger) Infof(format string, args ...any) { l.log("INFO", format, args...) }

// Warnf logs a warning.
func (l *Logger) Warnf(format string, args ...any) { l.log("WARNING", format, args...) }

// Errorf logs an error.
func (l *Logger) Errorf(format string, args ...any) { l.log("ERROR", format, args...) }

// exitReason prints the line Pacemaker turns into the operation's exit
// reason. Pacemaker keeps only the last such line and truncates long ones.
func (l *Logger) exitReason(reason string) {
	reason = strings.ReplaceAll(reason, "\n", " ")
	fmt.Fprintf(l.w, "ocf-exit-reason:%s\n", reason)
}
