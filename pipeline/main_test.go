package pipeline_test

import (
	"testing"

	"github.com/sluice-dev/sluice/pipeline/kafkatest"
)

// TestMain lets kafkatest.NewFakeProcess re-run this binary as a broker.
func TestMain(m *testing.M) { kafkatest.Main(m) }
