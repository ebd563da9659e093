package drbdvm

import (
	"bufio"
	"strings"
	"testing"
)

func TestReadAnswer(t *testing.T) {
	tests := []struct {
		name, id, stream string
		want             Result
		wantErr          bool
	}{
		{name: "plain", id: "1",
			stream: "OUT 1\naGVsbG8K\nERR 1\nEND 1 0\n",
			want:   Result{Stdout: "hello\n"}},
		{name: "stdout wrapped over lines, stderr, status", id: "2",
			stream: "OUT 2\naGVs\nbG8K\nERR 2\nb29w\ncwo=\nEND 2 3\n",
			want:   Result{Stdout: "hello\n", Stderr: "oops\n", Status: 3}},
		{name: "late answer of an older command skipped", id: "5",
			stream: "OUT 4\nc3RhbGUK\nERR 4\nEND 4 137\nOUT 5\r\nbmV3Cg==\r\nERR 5\r\nEND 5 0\r\n",
			want:   Result{Stdout: "new\n"}},
		{name: "noise before the answer ignored", id: "1",
			stream: "READY\ngarbage\nOUT 1\nERR 1\nEND 1 1\n",
			want:   Result{Status: 1}},
		{name: "stream ends early", id: "1", stream: "OUT 1\naGVsbG8K\n", wantErr: true},
		{name: "bad base64", id: "1", stream: "OUT 1\n!!!\nERR 1\nEND 1 0\n", wantErr: true},
		{name: "bad status", id: "1", stream: "OUT 1\nERR 1\nEND 1 x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAnswer(bufio.NewReader(strings.NewReader(tt.stream)), tt.id)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
