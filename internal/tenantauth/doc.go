// Package tenantauth authenticates the callers of the families' open APIs
// (blocks, cards): a backend presents its instance's API key, or a
// stateless access token issued for the instance in exchange for its app
// key and secret. Each family signs its tokens for a purpose of its own,
// so that a token of one API is not taken by the other.
package tenantauth
