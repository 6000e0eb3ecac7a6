package actors

import "github.com/opsync/opsync/internal/auth"

// documentRoles is what a client token says of documents: its
// auth.collaboration roles (document id or "*" to role), and whether it
// has that claim at all (without it every document is open to the user as
// a writer, as before documents existed).
func documentRoles(c *auth.Claims) (map[string]string, bool) {
	if c == nil || c.Auth == nil || c.Auth.Collaboration == nil {
		return nil, false
	}
	roles := make(map[string]string, len(c.Auth.Collaboration))
	for id, g := range c.Auth.Collaboration {
		roles[id] = g.Role
	}
	return roles, true
}
