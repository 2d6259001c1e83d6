package check

import (
	"math"
	"strings"
	"testing"
)

func TestDecodeQueryAnswer(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []Sample
		wantAPI string // the API's own error
		wantErr string // a decoding problem
	}{
		{name: "vector", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"app","instance":"h:1"},"value":[1700000000.5,"0.02"]}]}}`,
			want: []Sample{{Series: `{instance="h:1", job="app"}`, Value: 0.02}}},
		{name: "empty vector", body: `{"status":"success","data":{"resultType":"vector","result":[]}}`},
		{name: "scalar", body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}`, want: []Sample{{Value: 3}}},
		{name: "NaN and Inf", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]},{"metric":{},"value":[1,"+Inf"]}]}}`,
			want: []Sample{{Series: "{}", Value: math.NaN()}, {Series: "{}", Value: math.Inf(1)}}},
		{name: "unknown fields skipped", body: `{"status":"success","warnings":["w"],"infos":["i"],"data":{"resultType":"scalar","result":[1,"1"],"stats":{}}}`, want: []Sample{{Value: 1}}},
		{name: "API error", body: `{"status":"error","errorType":"bad_data","error":"1:4: parse error: unexpected"}`, wantAPI: "bad_data: 1:4: parse error: unexpected"},
		{name: "not JSON", body: `<html>`, wantErr: "must be a JSON object"},
		{name: "list", body: `[]`, wantErr: "must be a JSON object"},
		{name: "trailing data", body: `{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}} {}`, wantErr: "has data after"},
		{name: "no status", body: `{"data":{}}`, wantErr: "status: is missing"},
		{name: "status type", body: `{"status":1}`, wantErr: "status: must be a JSON string, got a JSON number"},
		{name: "odd status", body: `{"status":"partial"}`, wantErr: `status: must be "success" or "error", got "partial"`},
		{name: "no data", body: `{"status":"success"}`, wantErr: "data: is missing"},
		{name: "no result type", body: `{"status":"success","data":{"result":[]}}`, wantErr: "data.resultType: is missing"},
		{name: "matrix", body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`, wantErr: "range vector"},
		{name: "string", body: `{"status":"success","data":{"resultType":"string","result":[1,"x"]}}`, wantErr: "is a string"},
		{name: "odd result type", body: `{"status":"success","data":{"resultType":"table","result":[]}}`, wantErr: `must be vector or scalar, got "table"`},
		{name: "result not a list", body: `{"status":"success","data":{"resultType":"vector","result":{}}}`, wantErr: "data.result: must be a list"},
		{name: "no result", body: `{"status":"success","data":{"resultType":"vector"}}`, wantErr: "data.result: is missing"},
		{name: "sample without value", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}`, wantErr: "data.result[0].value: is missing"},
		{name: "histogram sample", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}}`, wantErr: "data.result[0]: is a native histogram"},
		{name: "value not a pair", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}}`, wantErr: "data.result[0].value: must be [<time>"},
		{name: "value a number", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,0.5]}]}}`, wantErr: "data.result[0].value[1]: must be a number in a string"},
		{name: "value not numeric", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}`, wantErr: `data.result[0].value[1]: "abc" is not a number`},
		{name: "time not a number", body: `{"status":"success","data":{"resultType":"scalar","result":["now","1"]}}`, wantErr: "data.result[0]: must be a Unix time"},
		{name: "metric labels type", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}}`, wantErr: "data.result[0]: metric: must be a JSON string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans, err := DecodeQueryAnswer([]byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ans.Error != tt.wantAPI {
				t.Fatalf("API error %q, want %q", ans.Error, tt.wantAPI)
			}
			if len(ans.Samples) != len(tt.want) {
				t.Fatalf("samples %+v, want %+v", ans.Samples, tt.want)
			}
			for i, s := range ans.Samples {
				w := tt.want[i]
				if s.Series != w.Series || !(s.Value == w.Value || math.IsNaN(s.Value) && math.IsNaN(w.Value)) {
					t.Fatalf("sample %d = %+v, want %+v", i, s, w)
				}
			}
		})
	}
}

func TestJudge(t *testing.T) {
	two := QueryAnswer{Samples: []Sample{{Series: `{instance="a"}`, Value: 0.001}, {Series: `{instance="b"}`, Value: 0.05}}}
	for _, tt := range []struct {
		ans     QueryAnswer
		op      string
		th      float64
		status  string
		message string
	}{
		{QueryAnswer{}, "<=", 0.01, "inconclusive", "no samples"},
		{QueryAnswer{Samples: []Sample{{Value: math.NaN()}}}, "<=", 0.01, "inconclusive", "the scalar is NaN"},
		{two, "<=", 0.1, "succeeded", ""},
		{two, "<=", 0.01, "failed", `{instance="b"} = 0.05, want <= 0.01`},
		{two, ">", 0.01, "failed", `{instance="a"} = 0.001, want > 0.01`},
	} {
		status, msg := judge(tt.ans, tt.op, tt.th)
		if string(status) != tt.status || !strings.Contains(msg, tt.message) {
			t.Errorf("judge(%+v %s %v) = %s %q, want %s %q", tt.ans, tt.op, tt.th, status, msg, tt.status, tt.message)
		}
	}
}

func FuzzDecodeQueryAnswer(f *testing.F) {
	for _, s := range []string{
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1,"0.5"]}]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1,"NaN"]}}`,
		`{"status":"error","errorType":"bad_data","error":"x"}`,
		`{"status":"success","data":{"resultType":"matrix","result":[]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{}]}]}}`,
		`{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ans, err := DecodeQueryAnswer(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if ans.Error != "" && len(ans.Samples) > 0 {
			t.Fatalf("an API error with samples: %+v", ans)
		}
		// Whatever decodes can be judged without panicking.
		_, _ = judge(ans, "<=", 1)
	})
}
