package edge

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/opsync/opsync/internal/resultcode"
)

// Push bodies are text as the source's Java server reads them: UTF-8 on
// the wire, measured in UTF-16 code units (Java's String.length()), so
// that a field the source accepts is accepted here and one it refuses is
// refused, emoji and other characters beyond the BMP counting two.

// utf16Len is s's length in UTF-16 code units (s is valid UTF-8: it was
// decoded from JSON).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// validID reports whether id can be a userId or deviceId: the linkToken
// of a push names them, so they are measured as it is (1-maxIDLen UTF-16
// code units), and a user a push could reach can connect.
func validID(id string) bool {
	return id != "" && utf8.ValidString(id) && utf16Len(id) <= maxIDLen
}

// checkUTF8 refuses a body that is not UTF-8 text: bytes that are not
// UTF-8, or a \u escape of half a surrogate pair (JSON allows it, UTF-8
// cannot hold it). Go's JSON decoder would silently turn either into
// U+FFFD, storing something other than what was sent.
func checkUTF8(body []byte) error {
	if !utf8.Valid(body) {
		return &PushError{Code: resultcode.ArgsNotUTF8, Detail: "body is not valid UTF-8 (send it as UTF-8, e.g. Java: new StringEntity(json, \"UTF-8\"))"}
	}
	if loneSurrogate(body) {
		return &PushError{Code: resultcode.ArgsNotUTF8, Detail: `body has a \u escape of an unpaired surrogate`}
	}
	return nil
}

// loneSurrogate reports whether body has a \uD800-\uDFFF escape that is
// not a high surrogate followed by a low one. Backslashes of JSON are
// inside strings only, so the scan needs no tokenizer; a body that is
// not JSON is refused by the decoder anyway.
func loneSurrogate(body []byte) bool {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		r, ok := hexEscape(body, i)
		if !ok {
			i++ // \" \\ \n ...: skip the escaped character
			continue
		}
		i += 5
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			lo, ok := hexEscape(body, i+1)
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hexEscape reads the \uXXXX escape at body[i:].
func hexEscape(body []byte, i int) (rune, bool) {
	if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range body[i+2 : i+6] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
