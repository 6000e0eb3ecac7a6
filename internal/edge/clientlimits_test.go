package edge

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/opsync/opsync/proto/opsyncpb"
)

func registerFrame(biz string) *opsyncpb.ClientFrame {
	return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_RegisterBiz{RegisterBiz: &opsyncpb.RegisterBiz{BizType: biz}}}
}

func unregisterFrame(biz string) *opsyncpb.ClientFrame {
	return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_UnregisterBiz{UnregisterBiz: &opsyncpb.UnregisterBiz{BizType: biz}}}
}

func openFrame(id string) *opsyncpb.ClientFrame {
	return &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Open{Open: &opsyncpb.Open{Kind: "block", Id: id}}}
}

var (
	pingFrame = &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ping{Ping: &opsyncpb.Ping{}}}
	ackFrame  = &opsyncpb.ClientFrame{Frame: &opsyncpb.ClientFrame_Ack{Ack: &opsyncpb.Ack{}}}
)

// A connection holds at most maxBizPerClient bizTypes, counting those of
// Connect and those registered since (re-registering one is free,
// unregistering makes room), at most maxOpenSources sources, and sends
// control frames within its token bucket; acks are never limited.
func TestConnLimits(t *testing.T) {
	t0 := time.Unix(1000, 0)
	connectWith := func(n int) *opsyncpb.Connect {
		c := &opsyncpb.Connect{}
		for i := range n {
			c.BizTypes = append(c.BizTypes, &opsyncpb.SyncPoint{BizType: fmt.Sprint("B", i)})
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		connect int                     // bizTypes in Connect
		frames  []*opsyncpb.ClientFrame // sent at t0, in order
		then    *opsyncpb.ClientFrame   // sent at t0 + after
		after   time.Duration
		code    int // of then's error; 0: admitted
	}{
		{"register up to the bound", 255, nil, registerFrame("NEW"), 0, 0},
		{"register past the bound", 256, nil, registerFrame("NEW"), 0, CloseBadFrame},
		{"register past the bound, all by frames", 0, registers(0, 256), registerFrame("NEW"), 0, CloseBadFrame},
		{"register one held again", 256, nil, registerFrame("B7"), 0, 0},
		{"unregister makes room", 256, []*opsyncpb.ClientFrame{unregisterFrame("B7")}, registerFrame("NEW"), 0, 0},
		{"open past the bound", 0, opens(256), openFrame("new"), 0, CloseBadFrame},
		{"the burst is allowed", 0, pings(controlBurst - 1), pingFrame, 0, 0},
		{"past the burst", 0, pings(controlBurst), pingFrame, 0, CloseRateLimited},
		{"past the burst, refilled", 0, pings(controlBurst), pingFrame, time.Second / controlPerSecond, 0},
		{"register and unregister churn", 0, churn(controlBurst), registerFrame("X"), 0, CloseRateLimited},
		{"acks are not limited", 0, pings(controlBurst), ackFrame, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newConnLimits(connectWith(tc.connect))
			for i, f := range tc.frames {
				if err := l.admit(f, t0); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			err := l.admit(tc.then, t0.Add(tc.after))
			var fe *frameError
			switch {
			case tc.code == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != 0 && (!errors.As(err, &fe) || fe.code != tc.code):
				t.Fatalf("got %v, want close %d", err, tc.code)
			}
		})
	}
}

func registers(from, n int) []*opsyncpb.ClientFrame {
	var out []*opsyncpb.ClientFrame
	for i := range n {
		out = append(out, registerFrame(fmt.Sprint("R", from+i)))
	}
	return out
}

func opens(n int) []*opsyncpb.ClientFrame {
	var out []*opsyncpb.ClientFrame
	for i := range n {
		out = append(out, openFrame(fmt.Sprint("b", i)))
	}
	return out
}

func pings(n int) []*opsyncpb.ClientFrame {
	out := make([]*opsyncpb.ClientFrame, n)
	for i := range out {
		out[i] = pingFrame
	}
	return out
}

// churn registers and unregisters one bizType, n frames in all.
func churn(n int) []*opsyncpb.ClientFrame {
	var out []*opsyncpb.ClientFrame
	for i := range n {
		if i%2 == 0 {
			out = append(out, registerFrame("X"))
		} else {
			out = append(out, unregisterFrame("X"))
		}
	}
	return out
}
