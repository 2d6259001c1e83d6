package scheduler

import (
	"fmt"

	"github.com/rollwave/rollwave/contracts"
	"github.com/rollwave/rollwave/services/scheduler/internal/inbound"
)

// maxReorderSteps bounds the step ids of a reorder command; a plan has far
// fewer steps.
const maxReorderSteps = 1000

// maxHostLen bounds the host of exclude: a DNS name is at most 253 bytes.
const maxHostLen = 255

// checkControlTargets bounds what a control command names beyond the
// fields inbound.Command checks: the host of exclude and the steps of
// reorder. Whether they exist is the state machine's question.
func checkControlTargets(cmd contracts.ControlCommand) error {
	if len(cmd.Host) > maxHostLen {
		return contracts.Invalid("host", "must be at most %d bytes, got %d", maxHostLen, len(cmd.Host))
	}
	if len(cmd.Steps) > maxReorderSteps {
		return contracts.Invalid("steps", "must list at most %d steps, got %d", maxReorderSteps, len(cmd.Steps))
	}
	for i, s := range cmd.Steps {
		if len(s) > inbound.MaxStepLen {
			return contracts.Invalid(fmt.Sprintf("steps[%d]", i), "must be at most %d bytes, got %d", inbound.MaxStepLen, len(s))
		}
	}
	return nil
}
