package windows

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// FuzzParse feeds WindowInput JSON, as the calendar's add endpoint
// receives it, through strict decoding and Parse.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`{"environment":"production","start":"2026-12-24T00:00:00Z","end":"2026-12-27T00:00:00Z","reason":"holidays"}`,
		`{"environment":"qa","start":"2026-10-25T02:30","end":"2026-10-25T02:30:00","timezone":"Europe/Berlin"}`,
		`{"environment":"qa","start":"2026-03-29","end":"2026-03-30","timezone":"Asia/Beirut"}`,
		`{"environment":"qa","start":"2026-03-29T02:30","end":"2026-03-30","timezone":"Europe/Berlin"}`,
		`{"environment":"qa","kind":"reservation","start":"x","end":""}`,
		`{"environment":"qa","start":"0000-01-01T00:00:00+01:00","end":"9999-12-31T23:59:59-01:00"}`,
		`{"environment":"qa","timezone":"Local"}`,
		`{"bogus":1}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in contracts.WindowInput
		if err := contracts.DecodeStrict(b, &in); err != nil {
			if contracts.AsError(err).Code != contracts.CodeInvalid {
				t.Fatalf("decode error is not invalid_request: %v", err)
			}
			return
		}
		w, err := Parse(in, func() string { return "win-0123456789ab" })
		if err != nil {
			var fe contracts.FieldErrors
			if !errors.As(err, &fe) || len(fe) == 0 || fe[0].Field == "" {
				t.Fatalf("error does not name a field: %v", err)
			}
			return
		}
		if !w.End.After(w.Start) || !contracts.ValidToken(w.Environment) || w.Kind != contracts.WindowFreeze {
			t.Fatalf("invalid window accepted: %+v", w)
		}
		if w.Start.Location() != time.UTC || w.End.Location() != time.UTC {
			t.Fatalf("instants not in UTC: %+v", w)
		}
		raw, err := json.Marshal(w)
		if err != nil {
			t.Fatalf("window does not encode: %v", err)
		}
		var back contracts.Window
		if err := json.Unmarshal(raw, &back); err != nil || !back.Start.Equal(w.Start) || !back.End.Equal(w.End) {
			t.Fatalf("window does not round-trip: %v", err)
		}
		// Admission at the start blocks and at the end allows.
		if a := Admit([]contracts.Window{w}, w.Environment, w.Start); a.Allowed || !a.Until.Equal(w.End) {
			t.Fatalf("admission at start = %+v", a)
		}
		if a := Admit([]contracts.Window{w}, w.Environment, w.End); !a.Allowed {
			t.Fatalf("admission at end = %+v", a)
		}
	})
}
