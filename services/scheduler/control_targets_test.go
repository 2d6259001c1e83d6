package scheduler

import (
	"strings"
	"testing"

	"github.com/rollwave/rollwave/contracts"
)

func TestCheckControlTargets(t *testing.T) {
	many := make([]string, maxReorderSteps+1)
	for i := range many {
		many[i] = "s"
	}
	tests := []struct {
		cmd   contracts.ControlCommand
		field string
	}{
		{contracts.ControlCommand{Host: "web-01", Steps: []string{"a", "b"}}, ""},
		{contracts.ControlCommand{Host: strings.Repeat("h", maxHostLen+1)}, "host"},
		{contracts.ControlCommand{Steps: many}, "steps"},
		{contracts.ControlCommand{Steps: []string{"a", strings.Repeat("s", 201)}}, "steps[1]"},
	}
	for _, tt := range tests {
		err := checkControlTargets(tt.cmd)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.cmd.Host, err)
			}
			continue
		}
		if !contracts.IsCode(err, contracts.CodeInvalid) || contracts.AsError(err).Field != tt.field {
			t.Errorf("want invalid %s, got %v", tt.field, err)
		}
	}
}
