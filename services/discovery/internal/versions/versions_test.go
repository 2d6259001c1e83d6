package versions

import (
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

var finished = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func result(mut func(*contracts.HostResult)) contracts.HostResult {
	r := contracts.HostResult{
		ActionID: "r1/0/web-01/attempt-1", Rollout: "r1", Environment: "qa", App: "web", Version: "1.2.3",
		Host: "web-01", Attempt: 1, Status: contracts.ResultSucceeded, FinishedAt: finished, Executor: "x",
	}
	if mut != nil {
		mut(&r)
	}
	return r
}

func msg(t *testing.T, typ string, data any) []byte {
	t.Helper()
	b, err := contracts.Marshal(typ, "id-1", "test", "", finished.Add(time.Minute), data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFromMessage(t *testing.T) {
	tests := []struct {
		name    string
		msg     func(t *testing.T) []byte
		want    Update
		ok      bool
		wantErr string
	}{
		{"succeeded", func(t *testing.T) []byte { return msg(t, contracts.TypeHostResult, result(nil)) },
			Update{Environment: "qa", Host: "web-01", App: "web", Version: "1.2.3", Rollout: "r1", UpdatedAt: finished}, true, ""},
		{"finish time missing falls back to envelope time", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) { r.FinishedAt = time.Time{} }))
		}, Update{Environment: "qa", Host: "web-01", App: "web", Version: "1.2.3", Rollout: "r1", UpdatedAt: finished.Add(time.Minute)}, true, ""},
		{"failed install changes nothing", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) { r.Status = contracts.ResultFailed }))
		}, Update{}, false, ""},
		{"installed but a check failed: the host runs it, unverified", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) {
				r.Status, r.Installed = contracts.ResultFailed, true
				r.Checks = []contracts.CheckResult{{Name: "healthz", Status: contracts.ResultFailed}}
			}))
		}, Update{Environment: "qa", Host: "web-01", App: "web", Version: "1.2.3", Rollout: "r1", UpdatedAt: finished, Unverified: true}, true, ""},
		{"a failed check from an executor without installed", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) {
				r.Status = contracts.ResultFailed
				r.Checks = []contracts.CheckResult{{Name: "healthz", Status: contracts.ResultFailed}}
			}))
		}, Update{Environment: "qa", Host: "web-01", App: "web", Version: "1.2.3", Rollout: "r1", UpdatedAt: finished, Unverified: true}, true, ""},
		{"an analysis measurement installs nothing", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) {
				r.Kind = contracts.ActionCheck
				r.Checks = []contracts.CheckResult{{Name: "healthz", Status: contracts.ResultSucceeded}}
			}))
		}, Update{}, false, ""},
		{"cancelled changes nothing", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) { r.Status = contracts.ResultCancelled }))
		}, Update{}, false, ""},
		{"not json", func(*testing.T) []byte { return []byte("{") }, Update{}, false, "decode result envelope"},
		{"other type", func(t *testing.T) []byte { return msg(t, contracts.TypeHostAction, result(nil)) }, Update{}, false, "type"},
		{"unknown status", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) { r.Status = "maybe" }))
		}, Update{}, false, "status"},
		{"no host", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) { r.Host = "" }))
		}, Update{}, false, "host: is required"},
		{"no version", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) { r.Version = "" }))
		}, Update{}, false, "version: is required"},
		{"no app", func(t *testing.T) []byte {
			return msg(t, contracts.TypeHostResult, result(func(r *contracts.HostResult) { r.App = "" }))
		}, Update{}, false, "app: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := FromMessage(tt.msg(t))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || ok != tt.ok || got != tt.want {
				t.Fatalf("got %+v, %v, %v; want %+v, %v", got, ok, err, tt.want, tt.ok)
			}
		})
	}
}

func FuzzFromMessage(f *testing.F) {
	ok, _ := contracts.Marshal(contracts.TypeHostResult, "id", "src", "", finished, result(nil))
	f.Add(ok)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"specversion":"1.0","type":"io.rollwave.host.result.v1","id":"a","source":"b","data":{"status":"succeeded"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, ok, err := FromMessage(b)
		if err != nil && ok {
			t.Fatal("ok with an error")
		}
		if ok && (u.Host == "" || u.App == "" || u.Version == "" || !contracts.ValidToken(u.Environment)) {
			t.Fatalf("incomplete update accepted: %+v", u)
		}
	})
}
