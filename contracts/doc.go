// Package contracts holds Rollwave's wire contract: the message envelope, the
// Go types of every request, event, host action, result and command, the
// subject builders, the stream and consumer definitions and the embedded JSON
// Schemas. It depends on the standard library only, so any system that
// publishes deploy requests can import it.
package contracts
