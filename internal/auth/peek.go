package auth

import "github.com/golang-jwt/jwt/v5"

// PeekClaims reads a token's claims WITHOUT checking its signature: only
// to learn whose key to check it with (VerifyHS256 must follow before
// anything in them is trusted).
func PeekClaims(token string) (*Claims, error) {
	if len(token) > MaxTokenLen {
		return nil, ErrMalformed
	}
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		return nil, ErrMalformed
	}
	return &c, nil
}
