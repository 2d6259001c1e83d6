// Package contracts holds Rollwave's wire contract: the message envelope, the
// Go types of every request, event, host action, result and command, the
// subject builders, the stream and consumer definitions and the embedded JSON
// Schemas. It depends on the standard library only, so any system that
// publishes deploy requests can import it.
//
// The verification contract (verification.go) is the one a service in any
// language implements to be a nats check: it answers a VerificationRequest on
// a subject with a VerificationReply {"status":"pass"|"fail"|"inconclusive",
// "reason":"..."}; docs/VERIFICATION.md describes it, and the schemas are
// verification-request and verification-reply.
package contracts
