package journal

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// A record the size the SIP side writes at answer time: both legs' dialog
// state and SDPs, about 1.5 KB.
var answerRecord = []byte(strings.Repeat("x", 1500))

// BenchmarkAppend: b.N appends shared by concurrent writers, with group
// commit and with one fsync per append (MaxBatch 1, the reference).
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []struct {
		name     string
		maxBatch int
	}{{"group", 0}, {"fsync-each", 1}} {
		for _, writers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode.name, writers), func(b *testing.B) {
				j, _, err := Open(b.TempDir(), Options{MaxBatch: mode.maxBatch})
				if err != nil {
					b.Fatal(err)
				}
				defer j.Close()
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ReportAllocs()
				b.ResetTimer()
				for w := range writers {
					wg.Go(func() {
						id := fmt.Sprintf("call-%d", w)
						for next.Add(1) <= int64(b.N) {
							if err := j.Append(Record{CallID: id, Kind: kindAnswer, Data: answerRecord}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
				b.ReportMetric(float64(b.N)/float64(j.Stats().Syncs), "appends/fsync")
			})
		}
	}
}

// BenchmarkReplay1000Calls: Replay and Open (replay + compaction) of a
// journal holding 1000 live calls of 3 records (invite, answer, re-INVITE),
// written as the calls came, not yet compacted.
func BenchmarkReplay1000Calls(b *testing.B) {
	dir := b.TempDir()
	j, _, err := Open(dir, Options{CompactBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Go(func() {
			for c := w; c < 1000; c += 50 {
				id := fmt.Sprintf("call-%04d@pbx", c)
				for _, k := range []Kind{kindInvite, kindAnswer, kindReinvite} {
					if err := j.Append(Record{CallID: id, Kind: k, Data: answerRecord}); err != nil {
						b.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
	b.Run("Replay", func(b *testing.B) {
		for range b.N {
			res, err := Replay(dir)
			if err != nil || len(res.Live()) != 1000 {
				b.Fatalf("Replay: %v", err)
			}
		}
	})
	b.Run("Open", func(b *testing.B) {
		for range b.N {
			j, res, err := Open(dir, Options{})
			if err != nil || len(res.Live()) != 1000 {
				b.Fatalf("Open: %v", err)
			}
			if err := j.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
