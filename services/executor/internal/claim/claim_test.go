package claim

import (
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

func TestDecide(t *testing.T) {
	done := Claim{State: Done, Result: &contracts.HostResult{ActionID: "a"}}
	run := func(seq, delivery uint64) Claim {
		return Claim{State: Running, Executor: "x", StreamSeq: seq, Delivery: delivery}
	}
	tests := []struct {
		name           string
		claim          Claim
		seq, delivered uint64
		want           Verdict
	}{
		{"done first delivery", done, 7, 1, Republish},
		{"done redelivery", done, 7, 3, Republish},
		{"holder died, same message redelivered", run(7, 1), 7, 2, Act},
		{"takeover of a takeover", run(7, 2), 7, 4, Act},
		{"older delivery of the held message", run(7, 2), 7, 1, Ignore},
		{"same delivery seen again", run(7, 2), 7, 2, Ignore},
		{"another message for the action", run(7, 1), 9, 1, AckDuplicate},
		{"another message redelivered", run(7, 1), 9, 3, AckDuplicate},
		{"claim without delivery info, first delivery", Claim{State: Running}, 9, 1, AckDuplicate},
		{"claim without delivery info, redelivery", Claim{State: Running}, 9, 2, Act},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decide(tt.claim, tt.seq, tt.delivered); got != tt.want {
				t.Fatalf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEncodeDecode(t *testing.T) {
	c := Claim{State: Running, Executor: "e1", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), StreamSeq: 3, Delivery: 2}
	got, err := Decode(c.Encode())
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	for _, bad := range []string{`{`, `{"state":"odd"}`, `{"state":"done"}`, `null`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s) accepted", bad)
		}
	}
}

func TestKey(t *testing.T) {
	tests := map[string]string{
		"r1/0/web-01/attempt-1":   "r1/0/web-01/attempt-1",
		"r1/0/web.example/a=1":    "r1/0/web=2Eexample/a=3D1",
		"r/0/$(rm -rf /)/attempt": "r/0/=24=28rm=20-rf=20/=29/attempt",
	}
	for in, want := range tests {
		if got := Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzKey checks that every action id maps to a valid key-value key and
// that distinct ids never share a key.
func FuzzKey(f *testing.F) {
	f.Add("r1/0/web-01/attempt-1", "r1/0/web=2E01/attempt-1")
	f.Add("a.b", "a=2Eb")
	f.Add("", "=")
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, kb := Key(a), Key(b)
		if a != "" && !validKey(ka) {
			t.Fatalf("Key(%q) = %q is not a valid key", a, ka)
		}
		if a != b && ka == kb {
			t.Fatalf("Key(%q) == Key(%q) == %q", a, b, ka)
		}
	})
}

// validKey mirrors the key rule of NATS key-value buckets.
func validKey(k string) bool {
	if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-/_=.", c)) {
			return false
		}
	}
	return true
}

func FuzzDecode(f *testing.F) {
	f.Add(Claim{State: Running, Executor: "e", StreamSeq: 1, Delivery: 1}.Encode())
	f.Add(Claim{State: Done, Result: &contracts.HostResult{ActionID: "a", Status: contracts.ResultFailed}}.Encode())
	f.Add([]byte(`{"state":"done","result":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Decode(b)
		if err != nil {
			return
		}
		if c.State == Done && c.Result == nil {
			t.Fatal("done claim without result accepted")
		}
		if _, err := Decode(c.Encode()); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}
