package client

import "testing"

// The client stops reconnecting only when the server refused the client
// itself; after any other close it reconnects after its backoff.
func TestProtocolErrorFatal(t *testing.T) {
	cases := []struct {
		code  int
		fatal bool
	}{
		{CodeBadFrame, true},
		{CodeUnauthorized, true},
		{CodeForbidden, true},
		{CodeUnknownInstance, true},
		{CodeProtocolError, true},
		{CodeConnectTimeout, false},
		{4429, false}, // too slow
		{CodeRateLimited, false},
		{CodeShed, false},
		{CodeInternal, false},
	}
	for _, c := range cases {
		if got := (&ProtocolError{Code: c.code}).Fatal(); got != c.fatal {
			t.Errorf("Fatal() of %d = %v, want %v", c.code, got, c.fatal)
		}
	}
}
