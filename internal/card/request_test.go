package card

import (
	"strings"
	"testing"
)

func TestParseCreateIntervals(t *testing.T) {
	body := func(src string) []byte {
		return []byte(`{"outTrackId":"c1","cardTemplateId":"t","openDynamicDataConfig":{"dynamicDataSourceConfigs":[` + src + `]}}`)
	}
	cases := []struct {
		src     string
		code    string
		seconds int64
	}{
		{`{"dynamicDataSourceId":"s"}`, "", 0},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"ONCE"}}`, "", 0},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"INTERVAL","interval":6,"timeUnit":"SECONDS"}}`, "", 6},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"INTERVAL","interval":"30"}}`, "", 30},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"interval","interval":2,"timeUnit":"minutes"}}`, "", 120},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"INTERVAL","interval":5}}`, CodeIntervalInvalid, 0},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"INTERVAL"}}`, CodeIntervalInvalid, 0},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"INTERVAL","interval":31,"timeUnit":"DAYS"}}`, CodeIntervalInvalid, 0},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"INTERVAL","interval":"6.5"}}`, CodeInvalid, 0},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"INTERVAL","interval":10,"timeUnit":"WEEKS"}}`, CodeInvalid, 0},
		{`{"dynamicDataSourceId":"s","pullConfig":{"pullStrategy":"SOMETIMES"}}`, CodeInvalid, 0},
		{`{"dynamicDataSourceId":""}`, CodeInvalid, 0},
		{`{"dynamicDataSourceId":"s"},{"dynamicDataSourceId":"s"}`, CodeInvalid, 0},
	}
	for _, c := range cases {
		card, e := ParseCreate(body(c.src))
		switch {
		case c.code != "" && (e == nil || e.Code != c.code):
			t.Errorf("%s: %v, want %s", c.src, e, c.code)
		case c.code == "" && e != nil:
			t.Errorf("%s: %v", c.src, e)
		case c.code == "" && card.DynamicSources[0].IntervalSeconds != c.seconds:
			t.Errorf("%s: %d seconds, want %d", c.src, card.DynamicSources[0].IntervalSeconds, c.seconds)
		}
	}
}

func TestParseRefusals(t *testing.T) {
	cases := map[string]string{
		`{"outTrackId":"c1"}`:                                            "cardTemplateId",
		`{"cardTemplateId":"t"}`:                                         "outTrackId",
		`{"outTrackId":"a/b","cardTemplateId":"t"}`:                      "outTrackId",
		`{"outTrackId":"c1","cardTemplateId":"t","cardData":[]}`:         "cardData",
		`{"outTrackId":"c1","cardTemplateId":"t","privateData":{"":{}}}`: "userId",
		`not json`: "JSON",
		`[1]`:      "object",
		"{\"outTrackId\":\"c1\",\"cardTemplateId\":\"\xff\"}": "UTF-8",
	}
	for body, want := range cases {
		if _, e := ParseCreate([]byte(body)); e == nil || e.Code != CodeInvalid || !strings.Contains(e.Msg, want) {
			t.Errorf("%s: %v, want param.invalid naming %s", body, e, want)
		}
	}
}

func TestSpaces(t *testing.T) {
	r := &DeliverRequest{OpenSpaceID: "dtv1.card//im_robot.u1;IM_GROUP.g;one_box.b;doc.d;co_feed.x;im_single.u2"}
	r.Top = &struct {
		UserIDs []string `json:"userIds"`
	}{UserIDs: []string{"u3", "u4"}}
	spaces, e := r.Spaces()
	if e != nil {
		t.Fatal(e)
	}
	want := []struct {
		typ   string
		users string
		fails bool
	}{{"IM_ROBOT", "u1", false}, {"IM_GROUP", "", true}, {"ONE_BOX", "u3,u4", false}, {"DOC", "", true}, {"CO_FEED", "", true}, {"IM_SINGLE", "u2", false}}
	if len(spaces) != len(want) {
		t.Fatalf("%d spaces", len(spaces))
	}
	for i, w := range want {
		s := spaces[i]
		if s.SpaceType() != w.typ || strings.Join(s.Users, ",") != w.users || (s.Fail != "") != w.fails {
			t.Errorf("space %d: %+v, want %+v", i, s, w)
		}
	}
	for _, bad := range []string{"", "im_robot.u", "dtv1.card//", "dtv1.card//im_robot", "dtv1.card//.u"} {
		if _, e := (&DeliverRequest{OpenSpaceID: bad}).Spaces(); e == nil || e.Code != CodeInvalid {
			t.Errorf("openSpaceId %q: %v", bad, e)
		}
	}
}

func TestCheckCallbackURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://203.0.113.10/cb": true, "http://198.51.100.7:8080/x": true,
		"ftp://203.0.113.10/": false, "https://": false, "//203.0.113.10/": false, "https://u:p@203.0.113.10/": false,
		"http://127.0.0.1/": false, "http://[::1]/": false, "http://10.0.0.1/": false, "http://192.168.1.1/": false,
		"http://169.254.169.254/latest": false, "http://0.0.0.0/": false, "http://100.64.0.1/": false, "http://[fe80::1]/": false,
		"http://[::ffff:127.0.0.1]/": false, "http://localhost:8080/": false,
		// A name is checked when a pull dials it (internal/dynamic), not at
		// registration: a node without DNS registers it.
		"https://callbacks.example.com/cb": true,
	} {
		if e := CheckCallbackURL(raw, false); (e == nil) != ok {
			t.Errorf("%s: %v, want ok=%v", raw, e, ok)
		}
	}
	if e := CheckCallbackURL("http://127.0.0.1:9/cb", true); e != nil {
		t.Errorf("loopback with private targets allowed: %v", e)
	}
	if e := CheckCallbackURL("file:///etc/passwd", true); e == nil {
		t.Error("a file URL was allowed")
	}
}
