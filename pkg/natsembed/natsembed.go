// Package natsembed runs a NATS server with JetStream inside the current
// process, for `rollwave dev`, the load tool and tests.
package natsembed

import (
	"errors"
	"fmt"
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
		// Large enough for a plan of a few thousand hosts in one event.
		MaxPayload: 8 << 20,
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
		return nil, errors.New("natsembed: server not ready within 10s")
	}
	return s, nil
}
