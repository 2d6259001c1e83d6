// Package natsembed runs a NATS server with JetStream inside the current
// process, for `rollwave dev`, the load tool and tests.
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configures the embedded server.
type Options struct {
	// Host and Port to listen on; Port -1 picks a free port.
	Host string
	Port int
	// StoreDir holds JetStream's files.
	StoreDir string
	// SyncAlways makes JetStream sync every write to disk before it
	// acknowledges it. JetStream's own default syncs every two minutes and
	// can lose acknowledged messages on power loss.
	SyncAlways bool
	// ServerName names the server in logs and monitoring.
	ServerName string
	// Logs turns the server's own logging on.
	Logs bool
}

// Start starts a server and waits until it accepts connections.
func Start(o Options) (*server.Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("natsembed: StoreDir is required")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.ServerName == "" {
		o.ServerName = "rollwave"
	}
	opts := &server.Options{
		ServerName: o.ServerName,
		Host:       o.Host,
		Port:       o.Port,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		SyncAlways: o.SyncAlways,
		// The embedding process handles signals itself.
		NoSigs: true,
		// MaxPayload stays at the server's default (1 MB): large plans go
		// to the plans object store by reference (contracts.PlanRef).
	}
	if o.Port > 0 {
		// The server itself only reports "not ready" for a busy port; name it.
		addr := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("natsembed: NATS port %d on %s is not free (another server running? pick one with --nats-port, -1 for any): %w", o.Port, o.Host, err)
		}
		_ = ln.Close()
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	if o.Logs {
		s.ConfigureLogger()
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("natsembed: NATS server on %s port %d not ready within 10s", o.Host, o.Port)
	}
	return s, nil
}
