// Package dynamic pulls the dynamic data of cards from their owners'
// callbacks and hands it to the edge, which relays it to one viewer.
//
// Dynamic data is sensitive or personal and opsync must never keep it:
// this package holds it only in memory, for the time between a callback's
// answer and the Result handed to its viewer; it never logs it (log lines
// name the card and the kind of error only) and never uses it as a metric
// label. It depends on neither the actors nor the edge: the edge asks the
// card service for a viewer's plan and runs a Viewer for it.
//
// The protocol is the service's: one signed POST per pull with all the
// sources that are due (sign.go, request.go), an answer with one item per
// source (answer.go), to an http(s) target that is checked again when
// dialled (target.go).
package dynamic
