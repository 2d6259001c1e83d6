// Command rollwave is Rollwave's command line: it deploys, watches and
// steers rollouts through the HTTP API, and runs the services (dev, serve).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

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
	if cmd != nil {
		if y, ok := cmd.OutOrStdout().(*yamlWriter); ok {
			_ = y.Flush()
		}
	}
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	if format := structuredOutput(cmd, root); format != "" {
		w := stderr
		if format == outputYAML {
			y := newYAMLWriter(stderr)
			defer y.Flush()
			w = y
		}
		printJSONError(w, err, code)
		return code
	}
	printError(stderr, err)
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

// structuredOutput returns json or yaml when the command line asked for it,
// so that errors come out in that form too; "" otherwise.
func structuredOutput(cmd, root *cobra.Command) string {
	if cmd == nil {
		cmd = root
	}
	f := cmd.Flags().Lookup("output")
	if f == nil {
		f = root.PersistentFlags().Lookup("output")
	}
	if f == nil {
		return ""
	}
	if v := f.Value.String(); v == outputJSON || v == outputYAML {
		return v
	}
	return ""
}

// jsonError is an error on stderr under -o json: the API's error body, with
// every problem under reasons and the exit status.
type jsonError struct {
	Code     contracts.Code         `json:"code,omitempty"`
	Message  string                 `json:"message"`
	Field    string                 `json:"field,omitempty"`
	Reasons  []contracts.FieldError `json:"reasons,omitempty"`
	ExitCode int                    `json:"exit_code"`
}

func printJSONError(w io.Writer, err error, code int) {
	var ee *exitError
	if errors.As(err, &ee) && ee.quiet {
		return // already printed as JSON
	}
	out := jsonError{Message: err.Error(), ExitCode: code}
	var ae *apiError
	var fe contracts.FieldErrors
	var ce *contracts.Error
	switch {
	case errors.As(err, &ae):
		out.Code, out.Message, out.Field, out.Reasons = ae.Body.Code, ae.Body.Message, ae.Body.Field, ae.Reasons
	case errors.As(err, &fe):
		out.Code, out.Reasons = contracts.CodeInvalid, fe
		if len(fe) == 1 {
			out.Field, out.Message = fe[0].Field, fe[0].Message
		}
	case errors.As(err, &ce):
		out.Code, out.Message, out.Field = ce.Code, ce.Message, ce.Field
	case code == exitUsage:
		out.Code = "usage"
	}
	b, mErr := json.Marshal(out)
	if mErr != nil {
		fmt.Fprintln(w, "error:", err)
		return
	}
	fmt.Fprintln(w, string(b))
}
