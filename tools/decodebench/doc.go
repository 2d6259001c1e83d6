// Package decodebench compares the contracts module's hand-written strict
// decoder (contracts/strict.go) with github.com/go-json-experiment/json on
// the golden deploy request and on the strict decoder's own error cases.
// It is its own module, outside go.work, so that contracts stays
// standard-library only:
//
//	cd tools/decodebench && GOWORK=off go test -run ErrorQuality -v -bench . -benchtime 3000x
package decodebench
