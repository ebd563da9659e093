package sipp

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pbxha/internal/sipptest"
	"pbxha/internal/testenv"
)

// The TestPerf* tests are the benchmarks of docs/benchmarks/pbx.md. They
// run only with PBXHA_BENCH=1 (make bench) and print "BENCH ..." lines.

func perf(t *testing.T) {
	t.Helper()
	if os.Getenv("PBXHA_BENCH") != "1" {
		t.Skip("benchmark: run with PBXHA_BENCH=1 (make bench)")
	}
	testenv.RequireTool(t, "sipp", "kamailio", "sqlite3")
}

func report(t *testing.T, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	fmt.Println("BENCH " + line)
	t.Log(line)
}

// registerLoad sends total authenticated REGISTERs for users (cycling) to
// addr as fast as the target answers (at most 200 in flight) and returns
// the counts and how long it took.
func registerLoad(t *testing.T, addr string, users []string, total int) (ok, failed int, elapsed time.Duration) {
	t.Helper()
	dir := t.TempDir()
	var lines []string
	for _, u := range users {
		lines = append(lines, u+";"+sipptest.AuthField(u)+";127.0.0.1:5070")
	}
	inf := injection(t, dir, "users.csv", lines)
	start := time.Now()
	s := sipptest.Start(t, dir, 5*time.Minute, addr, "-sf", scenario("register.xml"), "-inf", inf,
		"-i", "127.0.0.1", "-p", fmt.Sprint(freePorts(t, 1)), "-m", fmt.Sprint(total),
		"-r", "50000", "-l", "200", "-recv_timeout", "10s")
	_ = s.Wait() // failures are counted below
	elapsed = time.Since(start)
	ok, failed = sipptest.Counts(s.Output())
	return ok, failed, elapsed
}

// startKamailio runs Kamailio 5.6 in the foreground with the reference
// registrar configuration, users in its SQLite subscriber table (WAL, like
// the pbx's database) and usrloc writing through (db_mode=1).
func startKamailio(t *testing.T, users []string, children int) (addr string, pid int) {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "kamailio.db")
	var sql strings.Builder
	for _, f := range []string{"standard", "auth_db", "usrloc"} {
		b, err := os.ReadFile("/usr/share/kamailio/db_sqlite/" + f + "-create.sql")
		if err != nil {
			t.Fatal(err)
		}
		sql.Write(b)
	}
	sql.WriteString("PRAGMA journal_mode=WAL;\nBEGIN;\n")
	for _, u := range users {
		fmt.Fprintf(&sql, "INSERT INTO subscriber(username, domain, password) VALUES('%s', '127.0.0.1', 'pw%s');\n", u, u)
	}
	sql.WriteString("COMMIT;\n")
	cmd := exec.Command("sqlite3", db)
	cmd.Stdin = strings.NewReader(sql.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kamailio db: %v\n%s", err, out)
	}
	port := freePorts(t, 1)
	tmpl, err := os.ReadFile("kamailio/kamailio.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("@PORT@", fmt.Sprint(port), "@DB@", db, "@CHILDREN@", fmt.Sprint(children)).Replace(string(tmpl))
	cfgPath := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	k := exec.Command("kamailio", "-f", cfgPath, "-DD", "-E", "-w", dir, "-P", filepath.Join(dir, "kamailio.pid"))
	logf, err := os.Create(filepath.Join(dir, "kamailio.log"))
	if err != nil {
		t.Fatal(err)
	}
	k.Stdout, k.Stderr = logf, logf
	if err := k.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		k.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { k.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			k.Process.Kill()
			<-done
		}
		logf.Close()
	})
	addr = fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitOptions(addr, 10*time.Second); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "kamailio.log"))
		t.Fatalf("kamailio not answering: %v\n%s", err, tail(string(b), 2000))
	}
	return addr, k.Process.Pid
}

// waitOptions sends OPTIONS until addr answers 200.
func waitOptions(addr string, limit time.Duration) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	deadline := time.Now().Add(limit)
	for i := 0; time.Now().Before(deadline); i++ {
		fmt.Fprintf(c, "OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKprobe%d\r\nFrom: <sip:probe@%s>;tag=p\r\n"+
			"To: <sip:%s>\r\nCall-ID: probe%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			addr, local, i, local, addr, i)
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 2048)
		if n, err := c.Read(buf); err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
			return nil
		}
	}
	return fmt.Errorf("no 200 to OPTIONS within %s", limit)
}

// sampler records the peak goroutine count of this process.
type sampler struct {
	mu   sync.Mutex
	peak int
	stop chan struct{}
	done chan struct{}
}

func sample() *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.mu.Lock()
				s.peak = max(s.peak, runtime.NumGoroutine())
				s.mu.Unlock()
			}
		}
	}()
	return s
}

func (s *sampler) end() int {
	close(s.stop)
	<-s.done
	return s.peak
}

// memory is the Go heap in use after a collection and the process RSS
// (which includes SQLite's page cache).
type memory struct{ heap, rss uint64 }

func measure() memory {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memory{heap: ms.HeapAlloc, rss: rss()}
}

func rss() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func perItem(before, after memory, n int) string {
	return fmt.Sprintf("heap %.1f KiB, RSS %.1f KiB", float64(int64(after.heap)-int64(before.heap))/float64(n)/1024,
		float64(int64(after.rss)-int64(before.rss))/float64(n)/1024)
}

// cpuSeconds is the CPU time (user+system) used so far by pid and its
// direct children (Kamailio's worker processes), from /proc.
func cpuSeconds(pid int) float64 {
	pids := []int{pid}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				pids = append(pids, c)
			}
		}
	}
	var ticks float64
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		// Fields after the command (which may hold spaces): utime is the 14th field overall.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		ticks += u + s
	}
	return ticks / 100 // USER_HZ
}

// TestPerfRegister: durable authenticated REGISTER/s, 1000 users, pbx and
// Kamailio alternately with the same sipp scenario, three rounds each. The
// machine is shared, so each round also reports the CPU time each server
// spent per REGISTER, which other load disturbs much less than the rate.
// PBXHA_CPUPROFILE=FILE writes a CPU profile of the pbx's first round.
func TestPerfRegister(t *testing.T) {
	perf(t)
	const total = 20000
	users := exts(10000, 1000)
	p := startPBX(t, users)
	kam, kamPID := startKamailio(t, users, 1) // db_sqlite has no busy timeout: more children get SQLITE_BUSY (500)
	before := measure()
	ok, failed, _ := registerLoad(t, p.addr, users, len(users)) // warm-up: every user bound once
	report(t, "pbx memory per registration right after binding 1000 users (%d ok/%d failed; sipgo keeps each UDP transaction 32 s): %s",
		ok, failed, perItem(before, measure(), len(users)))
	time.Sleep(35 * time.Second) // let sipgo's transactions expire (Timer J)
	report(t, "pbx memory per registration at rest (1000 bindings, their nonces still tracked): %s", perItem(before, measure(), len(users)))
	registerLoad(t, kam, users, len(users))
	self := os.Getpid()
	for round := 1; round <= 3; round++ {
		var rates, cpu [2]float64
		for i, target := range []struct {
			name, addr string
			pid        int
		}{{"pbx", p.addr, self}, {"kamailio", kam, kamPID}} {
			var s *sampler
			stopProfile := func() {}
			if i == 0 {
				s = sample()
				if f := os.Getenv("PBXHA_CPUPROFILE"); f != "" && round == 1 {
					stopProfile = cpuProfile(t, f)
				}
			}
			c0 := cpuSeconds(target.pid)
			ok, failed, el := registerLoad(t, target.addr, users, total)
			stopProfile()
			cpu[i] = (cpuSeconds(target.pid) - c0) / float64(ok) * 1e6
			rates[i] = float64(ok) / el.Seconds()
			extra := ""
			if s != nil {
				extra = fmt.Sprintf(", peak goroutines %d", s.end())
			}
			report(t, "round %d %-8s REGISTER/s %.0f (%d ok, %d failed in %.2fs), CPU %.0f us/REGISTER%s",
				round, target.name, rates[i], ok, failed, el.Seconds(), cpu[i], extra)
			if failed != 0 && target.name == "pbx" {
				t.Errorf("pbx: %d failed registrations", failed)
			}
		}
		report(t, "round %d pbx/kamailio: rate %.2fx (goal >= 1.5x), CPU per REGISTER %.2fx", round, rates[0]/rates[1], cpu[0]/cpu[1])
	}
}

func cpuProfile(t *testing.T, path string) func() {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// TestPerfCalls: call setups/s through the pbx with the RTP relay (every
// call allocates and anchors two port pairs; no audio is played so that
// sipp's per-call pcap threads do not eat the two cores).
func TestPerfCalls(t *testing.T) {
	perf(t)
	p := startPBX(t, []string{"100", "200"})
	for _, rate := range []int{200, 350, 500, 600} {
		const seconds = 10
		hold := 500 * time.Millisecond
		s := sample()
		r := runCalls(t, p, rate*seconds, rate, hold, false)
		report(t, "calls at -r %d: %d ok, %d failed, %.0f setups/s (caller ran %.2fs incl. %v hold), peak goroutines %d",
			rate, r.ok, r.failed, float64(r.ok)/(r.elapsed-hold).Seconds(), r.elapsed.Seconds(), hold, s.end())
		if r.failed != 0 {
			t.Errorf("-r %d: %d failed calls: %s", rate, r.failed, tail(r.errs, 600))
		}
	}
}

// TestPerfCallMemory: memory and goroutines per active call, with 300
// calls up at once (RTP flowing) on a fresh pbx.
func TestPerfCallMemory(t *testing.T) {
	perf(t)
	p := startPBX(t, []string{"100", "200"})
	const held = 300
	before := measure()
	goBefore := runtime.NumGoroutine()
	done := make(chan struct{})
	var r callRun
	go func() {
		defer close(done)
		r = runCalls(t, p, held, 100, 8*time.Second, true)
	}()
	var during memory
	var goDuring int
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if n := len(p.status(t).Calls); n >= held {
			during, goDuring = measure(), runtime.NumGoroutine()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	<-done
	if r.failed != 0 {
		t.Errorf("held calls: %d failed: %s", r.failed, tail(r.errs, 600))
	}
	if goDuring == 0 {
		t.Fatal("never saw all calls up at once")
	}
	report(t, "memory per active call (%d calls up): %s; goroutines per call %.1f",
		held, perItem(before, during, held), float64(goDuring-goBefore)/held)
}
