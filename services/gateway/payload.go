package gateway

import (
	"fmt"
	"net/http"

	"github.com/nats-io/nats.go"

	"github.com/rollwave/rollwave/contracts"
)

// fitsPayload refuses a deploy request whose message would exceed the NATS
// server's max_payload (1 MB by default), naming the limit, instead of
// handing the broker a publish it will refuse. A request that lists many
// thousands of hosts by hand hits it; selectors (group, label) do not.
func fitsPayload(nc *nats.Conn, m *nats.Msg) error {
	limit := nc.MaxPayload()
	if size := int64(m.Size() - len(m.Subject)); limit > 0 && size > limit {
		return &httpError{status: http.StatusRequestEntityTooLarge, err: &contracts.Error{Code: codeTooLarge,
			Message: fmt.Sprintf("the deploy request is %d bytes as a NATS message, above the server's max_payload of %d bytes: select hosts by group or label instead of listing them", size, limit)}}
	}
	return nil
}
