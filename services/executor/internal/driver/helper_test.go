package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// The test binary doubles as the programs the exec driver runs, so the
// tests use real processes without depending on tools of the machine.
const helperEnv = "ROLLWAVE_DRIVER_TEST_HELPER=1"

func TestMain(m *testing.M) {
	if os.Getenv("ROLLWAVE_DRIVER_TEST_HELPER") == "1" {
		os.Exit(helper(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func helper(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "helper: no mode")
		return 2
	}
	switch mode, rest := args[0], args[1:]; mode {
	case "args":
		_ = json.NewEncoder(os.Stdout).Encode(rest)
	case "env":
		_ = json.NewEncoder(os.Stdout).Encode(os.Environ())
	case "exit":
		code, _ := strconv.Atoi(rest[0])
		fmt.Println("about to fail")
		fmt.Fprintln(os.Stderr, "failing with", code)
		return code
	case "spew":
		n, _ := strconv.Atoi(rest[0])
		line := strings.Repeat("x", 99) + "\n"
		for i := 0; i < n/100; i++ {
			os.Stdout.WriteString(line)
		}
		fmt.Print("THE END")
	case "spawn":
		// Start a grandchild in the same process group, record its pid,
		// then hang.
		child := exec.Command(os.Args[0], "sleep")
		child.Env = os.Environ()
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		if err := os.WriteFile(rest[0], []byte(strconv.Itoa(child.Process.Pid)), 0o644); err != nil {
			return 4
		}
		time.Sleep(time.Hour)
	case "spawnexit":
		// Start a grandchild in the same process group, record its pid,
		// then exit successfully, leaving it behind.
		child := exec.Command(os.Args[0], "sleep")
		child.Env = os.Environ()
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		if err := os.WriteFile(rest[0], []byte(strconv.Itoa(child.Process.Pid)), 0o644); err != nil {
			return 4
		}
	case "sleep":
		time.Sleep(time.Hour)
	case "sshrun":
		// Be an executor running one ssh action, to be killed with -9.
		var a contracts.HostAction
		if err := json.Unmarshal([]byte(rest[0]), &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		out, err := SSH{OutputTail: 4096}.Run(context.Background(), a)
		fmt.Println(out.Output, err)
	default:
		fmt.Fprintln(os.Stderr, "helper: unknown mode", mode)
		return 2
	}
	return 0
}
