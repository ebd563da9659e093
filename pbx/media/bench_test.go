package media

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// benchCall is newCall for benchmarks: a relay between two loopback phones.
func benchCall(b *testing.B) (r *Relay, a, bp *phone, portA, portB int) {
	b.Helper()
	p, err := NewPool(loopback, 30000, 30999)
	if err != nil {
		b.Fatal(err)
	}
	pa, pb := allocatePairs(b, p)
	r = NewRelay(pa, pb, Options{})
	b.Cleanup(func() { r.Close() })
	a, bp = newPhone(b, "127.0.0.1"), newPhone(b, "127.0.0.1")
	r.SetPeer(A, a.addr(), a.addr())
	r.SetPeer(B, bp.addr(), bp.addr())
	portA, portB = r.Ports()
	return r, a, bp, portA, portB
}

// throughput sends one-way RTP from phone A to phone B, through the relay
// or (the reference) directly, at most window packets in flight so that
// loopback does not drop; ns/op is per packet.
func throughput(b *testing.B, viaRelay bool) {
	_, a, bp, portA, _ := benchCall(b)
	const window = 128
	pkt := a.rtp(1)
	dst := bp.addr()
	if viaRelay {
		dst = netip.AddrPortFrom(loopback, uint16(portA))
	}
	inflight := make(chan struct{}, window)
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 2048)
		for n := 0; n < b.N; n++ {
			if err := bp.conn.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
				errc <- err
				return
			}
			if _, _, err := bp.conn.ReadFromUDPAddrPort(buf); err != nil {
				errc <- fmt.Errorf("after %d of %d packets: %w", n, b.N, err)
				return
			}
			<-inflight
		}
		errc <- nil
	}()
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for range b.N {
		inflight <- struct{}{}
		if _, err := a.conn.WriteToUDPAddrPort(pkt, dst); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

func BenchmarkThroughputDirect(b *testing.B) { throughput(b, false) }
func BenchmarkThroughputRelay(b *testing.B)  { throughput(b, true) }

// BenchmarkRecorderWriteRTP: the recorder's cost per 20 ms packet (both
// directions in turn, the clock advancing in real-time steps, file writes
// included).
func BenchmarkRecorderWriteRTP(b *testing.B) {
	t0 := time.Now()
	rec, clk := clocked(b, filepath.Join(b.TempDir(), "call.wav"), t0)
	pkts := [2][]byte{g711(0, pcmuLoud), g711(8, pcmaQuiet)}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clk.t = t0.Add(time.Duration(i/2) * 20 * time.Millisecond)
		rec.WriteRTP(Side(i%2), pkts[i%2])
		i++
	}
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
}

// roundTrip measures one packet out and its echo back, through the relay
// or (the reference) directly between the two phones.
func roundTrip(b *testing.B, viaRelay bool) {
	_, a, bp, portA, portB := benchCall(b)
	toB, toA := bp.addr(), a.addr()
	if viaRelay {
		toB, toA = netip.AddrPortFrom(loopback, uint16(portA)), netip.AddrPortFrom(loopback, uint16(portB))
	}
	pkt := a.rtp(1)
	buf := make([]byte, 2048)
	for _, c := range []*phone{a, bp} {
		if err := c.conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := a.conn.WriteToUDPAddrPort(pkt, toB); err != nil {
			b.Fatal(err)
		}
		if _, _, err := bp.conn.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := bp.conn.WriteToUDPAddrPort(pkt, toA); err != nil {
			b.Fatal(err)
		}
		if _, _, err := a.conn.ReadFromUDPAddrPort(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRoundTripDirect(b *testing.B) { roundTrip(b, false) }
func BenchmarkRoundTripRelay(b *testing.B)  { roundTrip(b, true) }

// BenchmarkRestore1000Calls: re-bind 1000 calls' relays (4000 sockets,
// 4000 goroutines) from their journaled State, as recovery does after a
// failover, from 1 or more goroutines; ns/op is for all 1000.
func BenchmarkRestore1000Calls(b *testing.B) {
	const calls = 1000
	p, err := NewPool(loopback, 40000, 40000+4*calls-1)
	if err != nil {
		b.Fatal(err)
	}
	states := make([]State, calls)
	for i := range states {
		pa, pb := allocatePairs(b, p)
		r := NewRelay(pa, pb, Options{})
		r.SetPeer(A, netip.MustParseAddrPort("198.18.0.10:4000"), netip.AddrPort{})
		r.SetPeer(B, netip.MustParseAddrPort("198.18.0.11:4000"), netip.AddrPort{})
		states[i] = r.State()
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			relays := make([]*Relay, calls)
			b.ReportAllocs()
			for b.Loop() {
				var wg sync.WaitGroup
				for w := range workers {
					wg.Go(func() {
						for i := w; i < calls; i += workers {
							var err error
							if relays[i], err = RestoreRelay(p, states[i], Options{}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				for _, r := range relays {
					if r != nil {
						r.Close()
					}
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRelayMemory reports the memory one idle call's relay holds
// (heap and goroutine stacks, 4 sockets and 4 readers), over 1000 relays.
func BenchmarkRelayMemory(b *testing.B) {
	const calls = 1000
	p, err := NewPool(loopback, 40000, 40000+4*calls-1)
	if err != nil {
		b.Fatal(err)
	}
	relays := make([]*Relay, calls)
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range relays {
			pa, pb := allocatePairs(b, p)
			relays[i] = NewRelay(pa, pb, Options{})
		}
		time.Sleep(50 * time.Millisecond) // let the readers park
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.StopTimer()
		for _, r := range relays {
			r.Close()
		}
		b.StartTimer()
	}
	used := (after.HeapInuse + after.StackInuse) - (before.HeapInuse + before.StackInuse)
	b.ReportMetric(float64(used)/calls, "B/call")
}

// BenchmarkRelayLifecycle: one call's relay from allocation to release
// (two pairs bound, four readers started and stopped), the media cost of a
// call setup.
func BenchmarkRelayLifecycle(b *testing.B) {
	p, err := NewPool(loopback, 36000, 36999)
	if err != nil {
		b.Fatal(err)
	}
	peer := netip.MustParseAddrPort("198.18.0.10:4000")
	b.ReportAllocs()
	for b.Loop() {
		pa, pb := allocatePairs(b, p)
		r := NewRelay(pa, pb, Options{})
		r.SetPeer(A, peer, netip.AddrPort{})
		r.SetPeer(B, peer, netip.AddrPort{})
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
