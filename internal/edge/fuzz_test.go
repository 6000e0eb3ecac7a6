package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/opsync/opsync/internal/push"
	"github.com/opsync/opsync/internal/resultcode"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// A push body either fails with one of the API's codes, or yields an entry
// within every limit that survives a round trip through JSON.
func FuzzParsePushBody(f *testing.F) {
	for _, s := range []string{
		`{"bizType":"A","linkToken":"u","thirdMsgId":"1","payload":"x"}`,
		`{"bizType":"A","linkToken":"u","thirdMsgId":"1","binaryPayload":"AAEC","validTimeEnd":1700000000000}`,
		`{"bizType":"A","linkToken":"u","thirdMsgId":"1","payload":"x","validTimeEnd":"1700000000000","osType":"iOS","appMinVersion":"1.0","appMaxVersion":"2.0"}`,
		`{}`, `[]`, `null`, `{"payload":1}`, `{"validTimeEnd":1e99}`, "{\"payload\":\"\xff\"}", ``,
		`{"bizType":"A","linkToken":"u","thirdMsgId":"1","payload":"\ud83d\ude00 \ud83d"}`,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	codes := map[string]bool{resultcode.ArgsIsNull: true, resultcode.ThirdMsgIDIsNull: true, resultcode.PayloadLong: true,
		resultcode.ThirdMsgIDLong: true, resultcode.ArgsInvalid: true, resultcode.ArgsNotUTF8: true}
	f.Fuzz(func(t *testing.T, body []byte, single bool) {
		req, err := ParsePushBody(body, single)
		if err != nil {
			var pe *PushError
			if !errors.As(err, &pe) || !codes[pe.Code] {
				t.Fatalf("error %v is not a push error with an API code", err)
			}
			return
		}
		e := req.Request(push.Specified).Entry()
		switch {
		case e.BizType == "" || e.ThirdMsgId == "" || (single && req.LinkToken == ""):
			t.Fatal("accepted without a required field")
		case (e.Payload == "") == (len(e.BinaryPayload) == 0):
			t.Fatal("accepted with not exactly one payload")
		case utf16Len(e.Payload) > maxPayloadLen || utf16Len(e.ThirdMsgId) > maxThirdMsgIDLen || utf16Len(req.LinkToken) > maxLinkTokenLen:
			t.Fatal("accepted over a length limit")
		case !utf8.Valid(body):
			t.Fatal("accepted a body that is not UTF-8")
		case strings.ContainsRune(e.Payload+e.ThirdMsgId+req.LinkToken, utf8.RuneError) && !bytes.Contains(body, []byte("\uFFFD")) &&
			!bytes.Contains(body, []byte("\ufffd")) && !bytes.ContainsRune(body, utf8.RuneError):
			t.Fatal("accepted with a replacement character the body did not send")
		case e.ValidTimeEnd < 0 || e.ValidTimeEnd > maxValidTimeEnd:
			t.Fatal("accepted an impossible validTimeEnd")
		}
		wire := map[string]any{"bizType": req.BizType, "thirdMsgId": req.ThirdMsgID, "payload": req.Payload,
			"binaryPayload": req.BinaryPayload, "osType": req.OSType, "appMinVersion": req.AppMinVersion,
			"appMaxVersion": req.AppMaxVersion, "validTimeEnd": req.ValidTimeEnd}
		if single {
			wire["linkToken"] = req.LinkToken
		}
		again, _ := json.Marshal(wire)
		req2, err := ParsePushBody(again, single)
		if err != nil {
			t.Fatalf("re-encoded body refused: %v", err)
		}
		if !proto.Equal(req2.Request(push.Specified).Entry(), e) || req2.LinkToken != req.LinkToken {
			t.Fatal("round trip changed the entry")
		}
	})
}

// A client frame either decodes into a frame within the protocol's limits,
// or fails with a close code of the protocol.
func FuzzDecodeClientFrame(f *testing.F) {
	for _, fr := range []*opsyncpb.ClientFrame{
		{Frame: &opsyncpb.ClientFrame_Connect{Connect: &opsyncpb.Connect{InstanceId: "w_A", UserId: "u", DeviceId: "d", BizTypes: []*opsyncpb.SyncPoint{{BizType: "B", OplogId: 3}}}}},
		{Frame: &opsyncpb.ClientFrame_Ack{Ack: &opsyncpb.Ack{Received: []*opsyncpb.SyncPoint{{BizType: "B", OplogId: 4}}}}},
		{Frame: &opsyncpb.ClientFrame_RegisterBiz{RegisterBiz: &opsyncpb.RegisterBiz{BizType: "B", SyncPoint: 9}}},
		{Frame: &opsyncpb.ClientFrame_UnregisterBiz{UnregisterBiz: &opsyncpb.UnregisterBiz{BizType: "B"}}},
		{Frame: &opsyncpb.ClientFrame_Ping{Ping: &opsyncpb.Ping{Nonce: 1}}},
	} {
		b, err := proto.Marshal(fr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeClientFrame(b)
		if err != nil {
			var fe *frameError
			if !errors.As(err, &fe) || fe.code < 4000 || fe.code > 4999 {
				t.Fatalf("error %v carries no protocol close code", err)
			}
			return
		}
		if fr.Frame == nil {
			t.Fatal("accepted an empty frame")
		}
		if c := fr.GetConnect(); c != nil && (c.UserId == "" || c.DeviceId == "" || !ValidInstanceID(c.InstanceId)) {
			t.Fatal("accepted a connect without identity")
		}
		if a := fr.GetAck(); a != nil && len(a.Received) > maxAcksPerFrame {
			t.Fatal("accepted an oversized ack")
		}
	})
}
