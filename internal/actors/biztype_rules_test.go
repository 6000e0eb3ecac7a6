package actors

import (
	"strings"
	"testing"
)

// The source recommends upper case and '-' but enforces neither (its own
// sample registers "bizType"): letters of either case, digits, '-' and '_'
// are accepted, up to 30 characters, and nothing else.
func TestValidBizType(t *testing.T) {
	for _, tc := range []struct {
		biz  string
		want bool
	}{
		{"DEVICE-LOCK", true},
		{"bizType", true},
		{"chat_msg-2", true},
		{"A", true},
		{strings.Repeat("a", 30), true},
		{"", false},
		{strings.Repeat("a", 31), false},
		{"bad.biz", false},
		{"with space", false},
		{"ÄRGER", false},
		{"a/b", false},
	} {
		if got := ValidBizType(tc.biz); got != tc.want {
			t.Errorf("ValidBizType(%q) = %v, want %v", tc.biz, got, tc.want)
		}
	}
}
