package offsetmeta_test

import (
	"fmt"

	"github.com/sluice-dev/sluice/pipeline/offsetmeta"
)

// A partition committed at 1000 while 1001–1099 and 1105 had finished: the
// next owner starts at 1000 and skips those.
func Example() {
	meta, err := offsetmeta.Encode(1000, append(seq(1001, 1099), 1105))
	if err != nil {
		panic(err)
	}
	fmt.Println(meta, len(meta))

	finished, err := offsetmeta.Decode(meta, 1000)
	if err != nil {
		panic(err)
	}
	fmt.Println(finished.Len(), finished.Contains(1000), finished.Contains(1050), finished.Contains(1104), finished.Contains(1105))

	// Metadata someone else wrote (franz-go writes the member ID) says
	// nothing is finished above the committed offset.
	none, err := offsetmeta.Decode("kgo-3f7c1b2e-53a1-4d0e-9a1d-2c8b1f7e9a10", 1000)
	fmt.Println(none.Len(), err)
	// Output:
	// sl1:ofAiDEA 11
	// 100 false true false true
	// 0 <nil>
}

func seq(from, to int64) []int64 {
	var out []int64
	for o := from; o <= to; o++ {
		out = append(out, o)
	}
	return out
}
