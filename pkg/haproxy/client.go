// Package haproxy talks to HAProxy's runtime API (the "stats socket"): it
// drains, re-enables and weighs servers of a backend and reads their
// current sessions. One command goes per connection, in HAProxy's
// non-interactive mode: the server answers and closes.
package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// State is an administrative state of a server.
type State string

const (
	// Ready takes traffic again.
	Ready State = "ready"
	// Drain takes no new connections but lets current ones finish.
	Drain State = "drain"
	// Maint takes no traffic at all.
	Maint State = "maint"
)

// Valid reports whether s is one of the states HAProxy accepts.
func (s State) Valid() bool { return s == Ready || s == Drain || s == Maint }

// Errors a command can end with; compare with errors.Is.
var (
	ErrNoBackend = errors.New("no such backend")
	ErrNoServer  = errors.New("no such server")
	// ErrCommand is any other answer HAProxy gives instead of success,
	// such as a permission denied on a socket of level user.
	ErrCommand = errors.New("haproxy refused the command")
)

// DefaultTimeout bounds one command when the context has no deadline.
const DefaultTimeout = 5 * time.Second

// maxAnswer bounds what is read of one answer; a show stat of a few
// thousand servers fits.
const maxAnswer = 8 << 20

// Client sends commands to one runtime API socket.
type Client struct {
	network, address string
}

// New returns a client of the socket at addr: a unix socket path (absolute,
// or "unix:" and a path) or a TCP "host:port" (or "tcp:host:port").
func New(addr string) (*Client, error) {
	switch {
	case strings.HasPrefix(addr, "unix:"):
		addr = strings.TrimPrefix(addr, "unix:")
		if addr == "" {
			return nil, fmt.Errorf("haproxy socket %q: empty unix socket path", "unix:")
		}
		return &Client{network: "unix", address: addr}, nil
	case strings.HasPrefix(addr, "/"):
		return &Client{network: "unix", address: addr}, nil
	}
	addr = strings.TrimPrefix(addr, "tcp:")
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("haproxy socket %q: want an absolute unix socket path or host:port", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("haproxy socket %q: port must be 1-65535", addr)
	}
	return &Client{network: "tcp", address: addr}, nil
}

// String names the socket for messages.
func (c *Client) String() string { return c.network + ":" + c.address }

// proxyName is what HAProxy takes as a backend or server name; anything
// else (spaces, ';', '/', new lines) could change the command line.
var proxyName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,127}$`)

// CheckName returns an error unless name can be a backend or server name.
func CheckName(what, name string) error {
	if !proxyName.MatchString(name) {
		return fmt.Errorf("haproxy %s %q: must be 1-127 letters, digits, '_', '.', ':' or '-'", what, name)
	}
	return nil
}

func checkServer(backend, server string) error {
	if err := CheckName("backend", backend); err != nil {
		return err
	}
	return CheckName("server", server)
}

// SetState sets the administrative state of backend/server.
func (c *Client) SetState(ctx context.Context, backend, server string, state State) error {
	if err := checkServer(backend, server); err != nil {
		return err
	}
	if !state.Valid() {
		return fmt.Errorf("haproxy state %q: must be one of ready, drain, maint", state)
	}
	return c.set(ctx, fmt.Sprintf("set server %s/%s state %s", backend, server, state))
}

// SetWeight sets the weight of backend/server (0-256).
func (c *Client) SetWeight(ctx context.Context, backend, server string, weight int) error {
	if err := checkServer(backend, server); err != nil {
		return err
	}
	if weight < 0 || weight > 256 {
		return fmt.Errorf("haproxy weight %d: must be 0-256", weight)
	}
	return c.set(ctx, fmt.Sprintf("set server %s/%s weight %d", backend, server, weight))
}

// set sends a command whose success is an empty answer.
func (c *Client) set(ctx context.Context, cmd string) error {
	out, err := c.Command(ctx, cmd)
	if err != nil {
		return err
	}
	return setAnswer(cmd, out)
}

// setAnswer turns the answer to a set command into an error: an empty
// answer is success, anything else says what went wrong.
func setAnswer(cmd, out string) error {
	msg := strings.TrimSpace(out)
	switch {
	case msg == "":
		return nil
	case strings.HasPrefix(msg, "No such backend"):
		return fmt.Errorf("%s: %w", cmd, ErrNoBackend)
	case strings.HasPrefix(msg, "No such server"):
		return fmt.Errorf("%s: %w", cmd, ErrNoServer)
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i] // "Unknown command" lists every command after
	}
	return fmt.Errorf("%s: %w: %s", cmd, ErrCommand, msg)
}

// Servers returns the servers of backend with their current sessions,
// from "show stat".
func (c *Client) Servers(ctx context.Context, backend string) ([]ServerStat, error) {
	if err := CheckName("backend", backend); err != nil {
		return nil, err
	}
	// Type 4 is servers; -1 is every server of the backend.
	cmd := fmt.Sprintf("show stat %s 4 -1", backend)
	out, err := c.Command(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(strings.TrimSpace(out), "No such") || strings.TrimSpace(out) == "" {
		// 2.6 answers an unknown backend with nothing but the header;
		// some versions say so.
		return nil, fmt.Errorf("%s: %w", cmd, ErrNoBackend)
	}
	stats, err := ParseStat(out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	var mine []ServerStat
	for _, s := range stats {
		if s.Backend == backend {
			mine = append(mine, s)
		}
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("%s: %w (or it has no servers)", cmd, ErrNoBackend)
	}
	return mine, nil
}

// Server returns the stat of backend/server.
func (c *Client) Server(ctx context.Context, backend, server string) (ServerStat, error) {
	if err := checkServer(backend, server); err != nil {
		return ServerStat{}, err
	}
	all, err := c.Servers(ctx, backend)
	if err != nil {
		return ServerStat{}, err
	}
	for _, s := range all {
		if s.Server == server {
			return s, nil
		}
	}
	return ServerStat{}, fmt.Errorf("show stat %s: %s/%s: %w", backend, backend, server, ErrNoServer)
}

// Command sends one command line and returns HAProxy's whole answer. It
// dials, writes and reads under ctx (DefaultTimeout when ctx has no
// deadline).
func (c *Client) Command(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\n\r;") {
		return "", fmt.Errorf("haproxy command %q: one command, without new lines or ';'", cmd)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.network, c.address)
	if err != nil {
		return "", fmt.Errorf("haproxy socket %s: %w", c, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// Closing the connection unblocks a read when ctx ends first.
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", fmt.Errorf("haproxy socket %s: send %q: %w", c, cmd, ctxErr(ctx, err))
	}
	b, err := io.ReadAll(io.LimitReader(conn, maxAnswer+1))
	if err != nil {
		return "", fmt.Errorf("haproxy socket %s: read answer to %q: %w", c, cmd, ctxErr(ctx, err))
	}
	if len(b) > maxAnswer {
		return "", fmt.Errorf("haproxy socket %s: answer to %q is over %d bytes", c, cmd, maxAnswer)
	}
	return string(b), nil
}

// ctxErr names the context's end as the cause: the connection's deadline
// is the context's, and may fire a moment before the context sees it.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}
