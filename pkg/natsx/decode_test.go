package natsx_test

import (
	"testing"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/pkg/natsx"
)

func TestDecodeJSONStrictAndTolerant(t *testing.T) {
	type query struct {
		Environment string `json:"environment"`
	}
	body := []byte(`{"environment":"qa","from_future":{"x":1}}`)
	if _, err := natsx.DecodeJSON[query]()(body); contracts.AsError(err).Field != "from_future" {
		t.Fatalf("strict: %v", err)
	}
	v, err := natsx.DecodeJSONTolerant[query]()(body)
	if err != nil || v.(query).Environment != "qa" {
		t.Fatalf("tolerant: %+v, %v", v, err)
	}
	if _, err := natsx.DecodeJSONTolerant[query]()([]byte(`{"environment":1}`)); contracts.AsError(err).Field != "environment" {
		t.Fatalf("tolerant type error: %v", err)
	}
}
