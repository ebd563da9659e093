package groupcommit

import (
	"reflect"
	"testing"
)

func TestDrain(t *testing.T) {
	cases := []struct {
		name    string
		queued  []int
		closeCh bool
		max     int
		want    []int
		left    int
	}{
		{"empty queue", nil, false, 0, []int{0}, 0},
		{"everything queued", []int{1, 2, 3}, false, 0, []int{0, 1, 2, 3}, 0},
		{"capped", []int{1, 2, 3}, false, 2, []int{0, 1}, 2},
		{"closed channel", []int{1}, true, 0, []int{0, 1}, 0},
	}
	for _, c := range cases {
		ch := make(chan int, 8)
		for _, v := range c.queued {
			ch <- v
		}
		if c.closeCh {
			close(ch)
		}
		buf := make([]int, 5, 8) // stale contents must not leak into the batch
		got := Drain(ch, 0, buf, c.max)
		if !reflect.DeepEqual(got, c.want) || len(ch) != c.left {
			t.Errorf("%s: got %v with %d left, want %v with %d left", c.name, got, len(ch), c.want, c.left)
		}
	}
}
