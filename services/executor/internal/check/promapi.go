package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Prometheus HTTP API's answer to an instant query
// (https://prometheus.io/docs/prometheus/latest/querying/api/):
//
//	{"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[1700000000.1,"0.02"]}]}}
//	{"status":"error","errorType":"bad_data","error":"1:5: parse error: ..."}
//
// Fields the API may add later (warnings, infos, stats) are skipped; the
// parts a verdict rests on are checked and any problem names its path.

// Sample is one value of a query's answer.
type Sample struct {
	// Series is the sample's labels as PromQL writes them, such as
	// {instance="web-01:8080"}; "" for a scalar.
	Series string
	Value  float64
}

// QueryAnswer is a decoded instant-query answer.
type QueryAnswer struct {
	// Error, when set, is the API's own error ("bad_data: parse error ...").
	Error    string
	Samples  []Sample
	Warnings []string
}

type promEnvelope struct {
	Status    *string         `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

type promData struct {
	ResultType *string         `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type promSample struct {
	Metric    map[string]string `json:"metric"`
	Value     json.RawMessage   `json:"value"`
	Histogram json.RawMessage   `json:"histogram"`
}

// DecodeQueryAnswer reads the body of an /api/v1/query answer.
func DecodeQueryAnswer(b []byte) (QueryAnswer, error) {
	var env promEnvelope
	if err := decodeObject(b, &env); err != nil {
		return QueryAnswer{}, err
	}
	switch {
	case env.Status == nil:
		return QueryAnswer{}, fmt.Errorf("status: is missing")
	case *env.Status == "error":
		msg := env.Error
		if msg == "" {
			msg = "no message"
		}
		if env.ErrorType != "" {
			msg = env.ErrorType + ": " + msg
		}
		return QueryAnswer{Error: msg, Warnings: env.Warnings}, nil
	case *env.Status != "success":
		return QueryAnswer{}, fmt.Errorf("status: must be \"success\" or \"error\", got %q", clipText(*env.Status))
	}
	if isNull(env.Data) {
		return QueryAnswer{}, fmt.Errorf("data: is missing")
	}
	var data promData
	if err := decodeObject(env.Data, &data); err != nil {
		return QueryAnswer{}, fmt.Errorf("data: %w", err)
	}
	if data.ResultType == nil {
		return QueryAnswer{}, fmt.Errorf("data.resultType: is missing")
	}
	ans := QueryAnswer{Warnings: env.Warnings}
	switch *data.ResultType {
	case "scalar":
		v, err := decodePoint("data.result", data.Result)
		if err != nil {
			return QueryAnswer{}, err
		}
		ans.Samples = []Sample{{Value: v}}
	case "vector":
		if isNull(data.Result) {
			return QueryAnswer{}, fmt.Errorf("data.result: is missing")
		}
		var samples []json.RawMessage
		if err := json.Unmarshal(data.Result, &samples); err != nil {
			return QueryAnswer{}, fmt.Errorf("data.result: must be a list of samples")
		}
		for i, raw := range samples {
			path := fmt.Sprintf("data.result[%d]", i)
			var s promSample
			if err := decodeObject(raw, &s); err != nil {
				return QueryAnswer{}, fmt.Errorf("%s: %w", path, err)
			}
			if isNull(s.Value) {
				if !isNull(s.Histogram) {
					return QueryAnswer{}, fmt.Errorf("%s: is a native histogram; query a float, such as with histogram_quantile()", path)
				}
				return QueryAnswer{}, fmt.Errorf("%s.value: is missing", path)
			}
			v, err := decodePoint(path+".value", s.Value)
			if err != nil {
				return QueryAnswer{}, err
			}
			ans.Samples = append(ans.Samples, Sample{Series: seriesName(s.Metric), Value: v})
		}
	case "matrix":
		return QueryAnswer{}, fmt.Errorf("data.resultType: is a range vector (matrix); the query must give an instant vector or a scalar, such as with rate(x[5m]) instead of x[5m]")
	case "string":
		return QueryAnswer{}, fmt.Errorf("data.resultType: is a string; the query must give a number")
	default:
		return QueryAnswer{}, fmt.Errorf("data.resultType: must be vector or scalar, got %q", clipText(*data.ResultType))
	}
	return ans, nil
}

// decodeObject decodes a JSON object, refusing other values and trailing data.
func decodeObject(b []byte, v any) error {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%s: must be a JSON %s, got a JSON %s", te.Field, jsonKind(te.Type), te.Value)
		}
		return fmt.Errorf("is not valid JSON: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("has data after the JSON object")
	}
	return nil
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String, reflect.Pointer:
		return "string"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice:
		return "list"
	}
	return t.Kind().String()
}

// decodePoint reads [<unix time>, "<value>"]; the value is a string so that
// NaN and ±Inf survive JSON.
func decodePoint(path string, b json.RawMessage) (float64, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return 0, fmt.Errorf("%s: must be [<time>, \"<value>\"]", path)
	}
	var ts float64
	if err := json.Unmarshal(pair[0], &ts); err != nil {
		return 0, fmt.Errorf("%s[0]: must be a Unix time, got %s", path, clipText(string(pair[0])))
	}
	var s string
	if err := json.Unmarshal(pair[1], &s); err != nil {
		return 0, fmt.Errorf("%s[1]: must be a number in a string, got %s", path, clipText(string(pair[1])))
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%s[1]: %q is not a number", path, clipText(s))
	}
	return v, nil
}

func isNull(b json.RawMessage) bool {
	t := bytes.TrimSpace(b)
	return len(t) == 0 || string(t) == "null"
}

// seriesName writes labels as PromQL does: {a="1", b="2"}, sorted.
func seriesName(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.Quote(m[k])
	}
	return clipText("{" + strings.Join(parts, ", ") + "}")
}

func clipText(s string) string {
	max := 120
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "..."
}

// isNaN reports a value no threshold can judge.
func isNaN(v float64) bool { return math.IsNaN(v) }
