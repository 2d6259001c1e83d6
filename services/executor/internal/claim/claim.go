// Package claim holds the records executors keep in the claims bucket, one
// per host action, and the pure decision of what a delivery of an action
// should do given the record it finds.
package claim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rollwave/rollwave/contracts"
)

// State of a claim.
type State string

const (
	Running State = "running"
	Done    State = "done"
)

// Claim is the value stored under an action's key.
type Claim struct {
	State    State  `json:"state"`
	Executor string `json:"executor"`
	// Instance is the executor instance that holds a running claim; its
	// heartbeat says whether the claim may be taken over.
	Instance string    `json:"instance,omitempty"`
	At       time.Time `json:"at"`
	// StreamSeq and Delivery identify the delivery the holder acts on, so
	// that an older delivery of the same message, or another message for
	// the same action, is told apart from a redelivery after the holder
	// stopped extending its lease.
	StreamSeq uint64 `json:"stream_seq,omitempty"`
	Delivery  uint64 `json:"delivery,omitempty"`
	// Result is set once the action is done.
	Result *contracts.HostResult `json:"result,omitempty"`
}

// Encode returns the stored form of c.
func (c Claim) Encode() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		// Claim has only plain fields: this cannot happen.
		panic(fmt.Sprintf("encode claim: %v", err))
	}
	return b
}

// Decode reads a stored claim.
func Decode(b []byte) (Claim, error) {
	var c Claim
	if err := json.Unmarshal(b, &c); err != nil {
		return Claim{}, fmt.Errorf("decode claim: %w", err)
	}
	switch c.State {
	case Running:
	case Done:
		if c.Result == nil {
			return Claim{}, fmt.Errorf("decode claim: state done without a result")
		}
	default:
		return Claim{}, fmt.Errorf("decode claim: unknown state %q", c.State)
	}
	return c, nil
}

// Key turns an action id into a key-value key. Letters, digits, '-', '_'
// and '/' stay as they are so keys read like action ids; every other byte,
// and '=' itself, becomes "=XX". The mapping is one to one.
func Key(actionID string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(actionID))
	for i := 0; i < len(actionID); i++ {
		c := actionID[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('=')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
	}
	return b.String()
}

// Verdict says what to do with a delivery.
type Verdict int

const (
	// Act: this delivery holds (or may take) the claim and does the work.
	Act Verdict = iota + 1
	// Republish: the action is done; publish the stored result again and
	// ack, so a lost result still reaches the scheduler.
	Republish
	// AckDuplicate: another message for the same action is being worked
	// on by a live holder; this one is redundant.
	AckDuplicate
	// Ignore: this is an older delivery of the message a newer delivery
	// holds; leave it to that holder, neither ack nor act.
	Ignore
)

func (v Verdict) String() string {
	switch v {
	case Act:
		return "act"
	case Republish:
		return "republish"
	case AckDuplicate:
		return "ack-duplicate"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("verdict(%d)", int(v))
}

// Decide says what a delivery (stream sequence seq, delivery count
// delivered) does about an existing claim. Act on a running claim means
// take it over with a compare-and-set on its revision.
func Decide(c Claim, seq, delivered uint64) Verdict {
	if c.State == Done {
		return Republish
	}
	if c.StreamSeq == 0 {
		// A claim that does not say which delivery holds it: a redelivery
		// means its holder stopped extending its lease, a first delivery
		// is a duplicate message.
		if delivered > 1 {
			return Act
		}
		return AckDuplicate
	}
	if c.StreamSeq != seq {
		// A second message for the action (published again beyond the
		// duplicate window). The message the holder works on is still
		// unacked, so if that holder died it is redelivered and taken over
		// through its own sequence.
		return AckDuplicate
	}
	if delivered > c.Delivery {
		// The server redelivered: the holder stopped extending its lease.
		return Act
	}
	return Ignore
}
