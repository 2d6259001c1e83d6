package chains

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func member(pos int, id string, st State) Member {
	return Member{Chain: "c", Position: pos, State: st,
		Request: contracts.DeployRequest{ID: id, App: strings.TrimPrefix(id, "c-"), Version: "1.0.0", Environment: "prod"}}
}

func TestDecide(t *testing.T) {
	chain := []Member{member(0, "c-db", Requested), member(1, "c-api", Waiting), member(2, "c-web", Waiting)}
	for _, tc := range []struct {
		name    string
		rollout string
		state   contracts.State
		want    []Update
		request string
		reject  []string
	}{
		{"completed requests the next", "c-db", contracts.StateCompleted,
			[]Update{{"c-db", Completed}, {"c-api", Requested}}, "c-api", nil},
		{"failed stops the rest", "c-db", contracts.StateFailed,
			[]Update{{"c-db", Ended}, {"c-api", Stopped}, {"c-web", Stopped}}, "", []string{"c-api", "c-web"}},
		{"rolled back stops the rest", "c-db", contracts.StateRolledBack,
			[]Update{{"c-db", Ended}, {"c-api", Stopped}, {"c-web", Stopped}}, "", []string{"c-api", "c-web"}},
		{"a waiting member's end changes nothing", "c-api", contracts.StateRejected, nil, "", nil},
		{"not terminal", "c-db", contracts.StateRunning, nil, "", nil},
		{"not a member", "other", contracts.StateCompleted, nil, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Decide(chain, tc.rollout, tc.state, "why")
			if !reflect.DeepEqual(e.Updates, tc.want) {
				t.Fatalf("updates %v, want %v", e.Updates, tc.want)
			}
			if got := ""; e.Request != nil {
				got = e.Request.ID
				if got != tc.request {
					t.Fatalf("request %s, want %s", got, tc.request)
				}
			} else if tc.request != "" {
				t.Fatalf("no request, want %s", tc.request)
			}
			var rejected []string
			for _, r := range e.Reject {
				rejected = append(rejected, r.ID)
			}
			if !reflect.DeepEqual(rejected, tc.reject) {
				t.Fatalf("rejected %v, want %v", rejected, tc.reject)
			}
			if tc.reject != nil && e.Reason != "not rolled out: c-db of db@1.0.0 ended "+string(tc.state)+", which stops the applications after it (why)" {
				t.Fatalf("reason %q", e.Reason)
			}
		})
	}
	// The last member completing ends the chain.
	done := []Member{member(0, "c-db", Completed), member(1, "c-api", Requested)}
	if e := Decide(done, "c-api", contracts.StateCompleted, ""); e.Request != nil || !reflect.DeepEqual(e.Updates, []Update{{"c-api", Completed}}) {
		t.Fatalf("last: %+v", e)
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []contracts.DeployRequest{member(0, "c-db", "").Request, member(1, "c-api", "").Request}
	for range 2 { // creating again changes nothing
		if err := s.Create(ctx, "c", reqs); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Apply(ctx, "EVENTS", 7, []Update{{"c-db", Completed}, {"c-api", Requested}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "c", reqs); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Of(ctx, "c-api")
	if err != nil || len(got) != 2 || got[0].State != Completed || got[1].State != Requested || got[1].Request.App != "api" || got[1].Position != 1 {
		t.Fatalf("chain %+v %v", got, err)
	}
	if none, err := s.Of(ctx, "other"); err != nil || none != nil {
		t.Fatalf("not a member: %v %v", none, err)
	}
	if seq, err := s.Cursor(ctx, "EVENTS"); err != nil || seq != 7 {
		t.Fatalf("cursor %d %v", seq, err)
	}
}
