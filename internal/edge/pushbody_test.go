package edge

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opsync/opsync/internal/resultcode"
)

// Limits count UTF-16 code units as the source's Java does; text that is
// not UTF-8 is refused rather than stored with replacement characters.
func TestParsePushBodyText(t *testing.T) {
	const emoji = "😀" // one rune, two UTF-16 code units, four bytes
	body := func(field, value string) []byte {
		f := map[string]string{"bizType": "A", "linkToken": "u", "thirdMsgId": "m", "payload": "p"}
		f[field] = value
		var b strings.Builder
		b.WriteString("{")
		sep := ""
		for _, k := range []string{"bizType", "linkToken", "thirdMsgId", "payload"} {
			fmt.Fprintf(&b, "%s%q:\"%s\"", sep, k, f[k])
			sep = ","
		}
		b.WriteString("}")
		return []byte(b.String())
	}
	for _, tc := range []struct {
		name string
		body []byte
		code string // "" : accepted
	}{
		{"payload of 4096 BMP characters", body("payload", strings.Repeat("字", 4096)), ""},
		{"payload of 2048 emoji: 4096 code units", body("payload", strings.Repeat(emoji, 2048)), ""},
		{"payload of 2049 emoji", body("payload", strings.Repeat(emoji, 2049)), resultcode.PayloadLong},
		{"payload of 4000 characters, 1000 of them emoji", body("payload", strings.Repeat("a", 3000)+strings.Repeat(emoji, 1000)), resultcode.PayloadLong},
		{"thirdMsgId of 50 emoji", body("thirdMsgId", strings.Repeat(emoji, 50)), ""},
		{"thirdMsgId of 51 emoji", body("thirdMsgId", strings.Repeat(emoji, 51)), resultcode.ThirdMsgIDLong},
		{"linkToken of 51 emoji", body("linkToken", strings.Repeat(emoji, 51)), resultcode.ArgsInvalid},
		{"linkToken of 100 Chinese characters", body("linkToken", strings.Repeat("用", 100)), ""},
		{"bizType of 16 emoji", body("bizType", strings.Repeat(emoji, 16)), resultcode.ArgsInvalid},
		{"an escaped surrogate pair", body("payload", `\ud83d\ude00`), ""},
		{"an escaped backslash before u", body("payload", `\\ud800`), ""},
		{"Latin-1 é", body("payload", "caf\xe9"), resultcode.ArgsNotUTF8},
		{"a truncated UTF-8 sequence", body("payload", "\xe5\xad"), resultcode.ArgsNotUTF8},
		{"invalid UTF-8 in an unknown field", []byte("{\"bizType\":\"A\",\"linkToken\":\"u\",\"thirdMsgId\":\"m\",\"payload\":\"p\",\"x\":\"\xff\"}"), resultcode.ArgsNotUTF8},
		{"a lone high surrogate", body("payload", `a\ud83d`), resultcode.ArgsNotUTF8},
		{"a high surrogate before a letter escape", body("payload", `\ud83d\u0041`), resultcode.ArgsNotUTF8},
		{"a lone low surrogate", body("payload", `\uDE00x`), resultcode.ArgsNotUTF8},
		{"an empty body", []byte(""), resultcode.ArgsIsNull},
		{"a blank body", []byte(" \r\n"), resultcode.ArgsIsNull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := ParsePushBody(tc.body, true)
			if err != nil {
				if code, _ := pushCode(err); code != tc.code {
					t.Fatalf("got %v, want %q", err, tc.code)
				}
				return
			}
			if tc.code != "" {
				t.Fatalf("accepted, want %s", tc.code)
			}
			if strings.ContainsRune(req.Payload+req.ThirdMsgID+req.LinkToken, '\uFFFD') {
				t.Fatalf("accepted with a replacement character: %q", req.Payload)
			}
		})
	}
}

// A userId or deviceId is measured as the linkToken that names it.
func TestValidID(t *testing.T) {
	for id, ok := range map[string]bool{"": false, "u": true, strings.Repeat("u", 100): true, strings.Repeat("u", 101): false,
		strings.Repeat("用", 100): true, strings.Repeat("😀", 50): true, strings.Repeat("😀", 51): false, "\xff": false} {
		if validID(id) != ok {
			t.Errorf("validID(%q) = %v, want %v", id, !ok, ok)
		}
	}
}

func TestUTF16Len(t *testing.T) {
	for s, n := range map[string]int{"": 0, "abc": 3, "字": 1, "😀": 2, "a😀字": 4, "\U0010FFFF": 2} {
		if got := utf16Len(s); got != n {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, n)
		}
	}
}

// The push APIs answer 200 with the code unless strict statuses are asked
// for; the source's codes are 200 either way.
func TestPushStatus(t *testing.T) {
	for _, tc := range []struct {
		code           string
		source, strict int
	}{
		{resultcode.Success, 200, 200},
		{resultcode.PayloadLong, 200, 200},
		{resultcode.SystemError, 200, 200},
		{resultcode.ArgsInvalid, 200, http.StatusBadRequest},
		{resultcode.ArgsNotUTF8, 200, http.StatusBadRequest},
		{resultcode.InstanceNotFound, 200, http.StatusNotFound},
		{resultcode.Unauthorized, 200, http.StatusUnauthorized},
	} {
		if s, st := pushStatus(tc.code, false), pushStatus(tc.code, true); s != tc.source || st != tc.strict {
			t.Errorf("%s: %d / %d strict, want %d / %d", tc.code, s, st, tc.source, tc.strict)
		}
	}
}
