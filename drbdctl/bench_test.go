package drbdctl

import "testing"

func benchParse(b *testing.B, file string, f Format) {
	in := readTestdata(b, file)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in, f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseEvents2(b *testing.B) {
	benchParse(b, "drbd9/events2-now-3node-sync.txt", FormatEvents2)
}
func BenchmarkParseStatusJSON(b *testing.B) { benchParse(b, "drbd9/status-sync.json", FormatJSON) }
func BenchmarkParseProcDRBD(b *testing.B) {
	benchParse(b, "drbd84/sync-target/proc_drbd.txt", FormatProc)
}

func BenchmarkParseStatusText(b *testing.B) {
	benchParse(b, "drbd84/sync-target/drbdsetup_status.txt", FormatStatus)
}
