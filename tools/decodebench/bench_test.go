package decodebench

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/rollwave/rollwave/contracts"
)

const golden = "../../contracts/testdata/golden/deploy-request.envelope.json"

type envelope struct {
	SpecVersion     string         `json:"specversion"`
	Type            string         `json:"type"`
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Subject         string         `json:"subject,omitempty"`
	Time            string         `json:"time"`
	DataContentType string         `json:"datacontenttype,omitempty"`
	Data            jsontext.Value `json:"data"`
}

// decodeV2 does what contracts.DecodeDeployRequest does, with
// go-json-experiment: envelope, type check, data strictly, Validate.
func decodeV2(b []byte) (contracts.DeployRequest, error) {
	var env envelope
	if err := jsonv2.Unmarshal(b, &env, jsonv2.RejectUnknownMembers(true)); err != nil {
		return contracts.DeployRequest{}, err
	}
	if env.Type != contracts.TypeDeployRequest {
		return contracts.DeployRequest{}, fmt.Errorf("type %q", env.Type)
	}
	var r contracts.DeployRequest
	if err := jsonv2.Unmarshal(env.Data, &r, jsonv2.RejectUnknownMembers(true)); err != nil {
		return r, err
	}
	return r, r.Validate()
}

func BenchmarkDecodeDeployRequest(b *testing.B) {
	body, err := os.ReadFile(golden)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("strict.go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := contracts.DecodeDeployRequest(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-json-experiment", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeV2(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// pointerOf turns a contracts field path into the JSON Pointer v2 reports.
func pointerOf(field string) string {
	if field == "" {
		return ""
	}
	p := strings.NewReplacer("[", "/", "]", "", ".", "/", `"`, "").Replace(field)
	p = strings.ReplaceAll(p, "//", "/")
	return "/" + p
}

// TestErrorQuality runs the strict decoder's own cases through both and
// reports, per case, whether go-json-experiment names the same field.
func TestErrorQuality(t *testing.T) {
	body, _ := os.ReadFile(golden)
	if _, err := decodeV2(body); err != nil {
		t.Fatalf("golden: %v", err)
	}
	same, other, accepted := 0, 0, 0
	for _, c := range cases {
		var r contracts.DeployRequest
		err := jsonv2.Unmarshal([]byte(c.in), &r, jsonv2.RejectUnknownMembers(true))
		ptr := ""
		var se *jsonv2.SemanticError
		var sx *jsontext.SyntacticError
		switch {
		case errors.As(err, &se):
			ptr = string(se.JSONPointer)
		case errors.As(err, &sx):
			ptr = string(sx.JSONPointer)
		}
		want := pointerOf(c.field)
		verdict := "same field"
		switch {
		case err == nil:
			verdict, accepted = "ACCEPTED", accepted+1
		case ptr == want:
			same++
		default:
			verdict, other = "other: "+ptr, other+1
		}
		t.Logf("%-28s want %-28q | %s | %v", c.name, want, verdict, err)
	}
	t.Logf("cases %d: same field %d, different or no field %d, accepted %d", len(cases), same, other, accepted)
	if accepted > 0 {
		t.Errorf("go-json-experiment accepted %d inputs the strict decoder refuses", accepted)
	}
}
