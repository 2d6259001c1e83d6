package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The repository's canary examples deploy in a real `rollwave dev` as the
// README says: `deploy --wait` exits 0 when canary.yaml completes, and 1
// when canary-fails.yaml's analysis fails and the rollout rolls itself
// back, on the sample's real local processes.
func TestCanaryExamplesExitByOutcome(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rollwave binary")
	}
	exe := buildRollwave(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, data, api := startDev(ctx, t, exe)
	t.Cleanup(func() { stopSampleApps(t, data) })

	deploy := func(example string) (int, string) {
		cmd := exec.CommandContext(ctx, exe, "deploy", "-f", filepath.Join("..", "..", "examples", example), "--wait", "--timeout", "90s")
		cmd.Env = append(os.Environ(), "ROLLWAVE_API=http://"+api, "NO_COLOR=1")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, string(out)
		case errors.As(err, &exit):
			return exit.ExitCode(), string(out)
		}
		t.Fatalf("deploy %s: %v\n%s", example, err, out)
		return 0, ""
	}
	if code, out := deploy("canary.yaml"); code != 0 {
		t.Fatalf("canary.yaml: exit %d\n%s", code, out)
	}
	if code, out := deploy("canary-fails.yaml"); code != 1 {
		t.Fatalf("canary-fails.yaml: exit %d, want 1 (rolled back)\n%s", code, out)
	}
}
