package block

import (
	"strings"
	"testing"
)

func TestParseEntity(t *testing.T) {
	cases := []struct {
		name    string
		body    string
		create  bool
		code    int
		version uint64
	}{
		{"create", `{"block_type_id":"t","source_data":"{\"a\":1}","version":"7"}`, true, 0, 7},
		{"numeric version", `{"block_type_id":"t","source_data":"{}","version":12}`, true, 0, 12},
		{"no version", `{"block_type_id":"t","source_data":"[]"}`, true, 0, 0},
		{"update without block_type_id", `{"source_data":"1"}`, false, 0, 0},
		{"create without block_type_id", `{"source_data":"{}"}`, true, CodeInvalidParam, 0},
		{"source_data an object", `{"block_type_id":"t","source_data":{"a":1}}`, true, CodeInvalidParam, 0},
		{"source_data not JSON", `{"block_type_id":"t","source_data":"{a"}`, true, CodeInvalidParam, 0},
		{"version not a number", `{"block_type_id":"t","source_data":"{}","version":"1.2"}`, true, CodeInvalidParam, 0},
		{"version negative", `{"block_type_id":"t","source_data":"{}","version":"-1"}`, true, CodeInvalidParam, 0},
		{"version zero", `{"block_type_id":"t","source_data":"{}","version":"0"}`, true, CodeInvalidParam, 0},
		{"business_id changed by an update", `{"source_data":"{}","business_id":"x"}`, false, CodeInvalidParam, 0},
		{"not JSON", `{`, true, CodeInvalidParam, 0},
		{"too large", `{"source_data":"` + strings.Repeat("x", MaxBody) + `"}`, true, CodeBodyTooLarge, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := ParseEntity([]byte(c.body), c.create)
			switch {
			case c.code != 0 && (err == nil || err.Code != c.code):
				t.Fatalf("error %v, want code %d", err, c.code)
			case c.code == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case c.code == 0 && e.Version != c.version:
				t.Fatalf("version %d, want %d", e.Version, c.version)
			}
		})
	}
}

func TestParseMessage(t *testing.T) {
	_, users, m, err := ParseMessage([]byte(`{"block_id":"blk_a","open_ids":["u1","u2"],"resource":"badge","body":"{}","version":"3"}`))
	if err != nil || len(users) != 2 || m.Type != "badge" || m.Version != 3 || string(m.Data) != "{}" {
		t.Fatalf("%v %v %+v", err, users, m)
	}
	for _, bad := range []string{`{"open_ids":["u"]}`, `{"block_id":"a/b","open_ids":["u"]}`, `{"block_id":"b","open_ids":[]}`, `{"block_id":"b","open_ids":"u"}`} {
		if _, _, _, err := ParseMessage([]byte(bad)); err == nil || err.Code != CodeInvalidParam {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
