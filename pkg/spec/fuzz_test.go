package spec

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

// FuzzParse feeds arbitrary documents to Parse: it must never panic or
// hang, every error must be an invalid_request error, and whatever it
// accepts must read back the same from its own JSON.
func FuzzParse(f *testing.F) {
	seeds := []string{
		designSpec,
		"",
		"app: web\n",
		"phases: [{name: a, batch: [1, 5, \"20%\"]}]\n",
		"x-a: &a {url: u}\nchecks: {h: {http: {<<: *a, status: 200}}}\n",
		"x: &a [*a]\n",
		"a: [\n",
		"{\"app\": \"web\", \"phases\": [{\"name\": \"all\", \"batch\": \"50%\"}]}",
		"start_at: 2026-11-27T02:00:00Z\nfailure: {max_failed: 10%}\n",
		"app: !!binary aGVsbG8=\n",
		"? [a]\n: b\n",
		"version: 0x1F\nparams: {a: .nan}\n",
		"checks: {h: {http: {timeout: 1e400}}}\n",
		"driver: {sim: {seed: 18446744073709551615}}\n",
		"--- |\n  text\n",
		"\xef\xbb\xbfapp: bom\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := Parse(b)
		if err != nil {
			var fe contracts.FieldErrors
			if !errors.As(err, &fe) && !contracts.IsCode(err, contracts.CodeInvalid) {
				t.Fatalf("error %T %v is not an invalid_request error", err, err)
			}
			return
		}
		once, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("marshal accepted request: %v", err)
		}
		back, err := Parse(once)
		if err != nil {
			t.Fatalf("own JSON %s does not parse: %v", once, err)
		}
		twice, _ := json.Marshal(back)
		if string(once) != string(twice) {
			t.Fatalf("round trip changed the request:\n%s\n%s", once, twice)
		}
	})
}
