package journal_test

import (
	"fmt"
	"os"

	"pbxha/pbx/journal"
)

// Kinds are the caller's; End is the journal's.
const (
	kindAnswered journal.Kind = 1
	kindHold     journal.Kind = 2
)

// A PBX run that journals three calls, then the next run's recovery.
func Example() {
	dir, err := os.MkdirTemp("", "journal-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	j, _, err := journal.Open(dir, journal.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range []journal.Record{
		{CallID: "a@pbx", Kind: kindAnswered, Data: []byte("dialogs+sdp+relay ports")},
		{CallID: "b@pbx", Kind: kindAnswered, Data: []byte("...")},
		{CallID: "a@pbx", Kind: kindHold, Data: []byte("sendonly")},
		{CallID: "b@pbx", Kind: journal.End},
		{CallID: "c@pbx", Kind: kindAnswered, Data: []byte("...")},
	} {
		if err := j.Append(r); err != nil { // durable when it returns
			fmt.Println(err)
			return
		}
	}
	j.Close() // or kill -9: the records are on disk already

	j, res, err := journal.Open(dir, journal.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer j.Close()
	for _, d := range res.Damage {
		fmt.Println("dropped:", d)
	}
	for _, c := range res.Live() {
		fmt.Println("recover", c.ID, "from", len(c.Records), "records")
	}
	// Output:
	// recover a@pbx from 2 records
	// recover c@pbx from 1 records
}
