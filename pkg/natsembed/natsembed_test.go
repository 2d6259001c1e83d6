package natsembed

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

func TestBusyPortIsNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = Start(Options{Port: port, StoreDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "NATS port "+strconv.Itoa(port)) || !strings.Contains(err.Error(), "not free") {
		t.Fatalf("busy port: %v", err)
	}
}

func TestStartsOnAFreePort(t *testing.T) {
	s, err := Start(Options{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	if !s.JetStreamEnabled() {
		t.Fatal("JetStream is off")
	}
}
