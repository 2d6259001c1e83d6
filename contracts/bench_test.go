package contracts

import (
	"os"
	"testing"
)

// BenchmarkDecodeDeployRequest decodes and validates the golden envelope,
// the planner's first step for every request.
func BenchmarkDecodeDeployRequest(b *testing.B) {
	body, err := os.ReadFile("testdata/golden/deploy-request.envelope.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDeployRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}
