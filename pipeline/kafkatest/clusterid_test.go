package kafkatest

import "testing"

// A cluster ID starting with "-" made kafka-storage format fail about once
// in 64 cluster starts.
func TestClusterIDNeverLooksLikeAnOption(t *testing.T) {
	for i := 0; i < 10_000; i++ {
		if id := clusterID(); id[0] == '-' || len(id) != 22 {
			t.Fatalf("clusterID() = %q", id)
		}
	}
}
