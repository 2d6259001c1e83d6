// Command rollwave is Rollwave's command line: it deploys, watches and
// steers rollouts through the HTTP API, and runs the services (dev, serve).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rollwave/rollwave/contracts"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs the command line and returns the exit status, printing any
// error to stderr. Tests call it in-process.
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	printError(stderr, err)
	code := exitCode(err)
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// printError writes err as "error: <field>: <message>" lines, one per
// problem when the error lists several.
func printError(w io.Writer, err error) {
	var ee *exitError
	if errors.As(err, &ee) && ee.quiet {
		return
	}
	var ae *apiError
	var fe contracts.FieldErrors
	var ce *contracts.Error
	switch {
	case errors.As(err, &ae) && len(ae.Reasons) > 0:
		for _, r := range ae.Reasons {
			fmt.Fprintln(w, "error:", fieldMessage(r.Field, r.Message))
		}
	case errors.As(err, &ae):
		fmt.Fprintln(w, "error:", fieldMessage(ae.Body.Field, ae.Body.Message))
	case errors.As(err, &fe):
		for _, f := range fe {
			fmt.Fprintln(w, "error:", fieldMessage(f.Field, f.Message))
		}
	case errors.As(err, &ce):
		fmt.Fprintln(w, "error:", fieldMessage(ce.Field, ce.Message))
	default:
		fmt.Fprintln(w, "error:", err)
	}
}

func fieldMessage(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + ": " + msg
}
