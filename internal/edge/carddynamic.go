package edge

import (
	"context"
	"errors"

	"github.com/opsync/opsync/internal/actors"
	"github.com/opsync/opsync/internal/card"
	"github.com/opsync/opsync/internal/dynamic"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// cardDynamic runs the dynamic-data pulls of the cards one connection has
// open (README "Dynamic data"). The edge is the only place dynamic data
// passes through: each pull's outcome becomes a CardDynamicData frame on
// this connection and nowhere else; nothing of it reaches an actor, a
// journal, a log line or a metric label.
type cardDynamic struct {
	s          *Server
	conn       *clientConn
	instanceID string
	userID     string
	views      *dynamic.Views
}

// cardDynamicOf is the pulls of conn; nil (which does nothing) for a
// device-only connection, which cannot see cards.
func (s *Server) cardDynamicOf(c *opsyncpb.Connect, conn *clientConn) *cardDynamic {
	if c.UserId == "" {
		return nil
	}
	return &cardDynamic{s: s, conn: conn, instanceID: c.InstanceId, userID: c.UserId, views: dynamic.NewViews()}
}

// frame starts the pulls of a card on its Open and stops them on its
// Close (the client actor handles the same frames for the card's views).
func (d *cardDynamic) frame(f *opsyncpb.ClientFrame) {
	if d == nil {
		return
	}
	switch m := f.Frame.(type) {
	case *opsyncpb.ClientFrame_Open:
		if m.Open.Kind == actors.StateKindCard {
			d.open(m.Open.Id)
		}
	case *opsyncpb.ClientFrame_Close:
		if m.Close.Kind == actors.StateKindCard {
			d.views.Stop(m.Close.Id)
		}
	}
}

// stop ends every pull of the connection (it ended).
func (d *cardDynamic) stop() {
	if d != nil {
		d.views.StopAll()
	}
}

func (d *cardDynamic) open(outTrackID string) {
	deliver := func(r dynamic.Result) { d.send(outTrackID, r) }
	err := d.views.Start(outTrackID, func() *dynamic.Viewer {
		return d.s.dynamic.View(d.userID, outTrackID, d.plan(outTrackID), deliver)
	})
	if err != nil {
		deliver(dynamic.Result{Err: err})
	}
}

// plan loads the viewer's plan from the card service, in the Viewer's
// goroutine. A card the viewer may not see (unknown, or not a recipient)
// pulls nothing and says nothing: its StateUpdate already says deleted,
// the same for both, so that ids cannot be probed.
func (d *cardDynamic) plan(outTrackID string) dynamic.PlanFunc {
	return func(ctx context.Context) (*dynamic.Plan, error) {
		ctx, cancel := context.WithTimeout(ctx, d.s.opts.RequestTimeout)
		defer cancel()
		p, e := d.s.cards.ViewPlan(ctx, d.instanceID, outTrackID, d.userID)
		switch {
		case e != nil && e.Code == card.CodeNotExist:
			return nil, nil
		case e != nil && e.Code == card.CodeSystem:
			return nil, errors.New("the card's dynamic data sources could not be looked up: open the card again")
		case e != nil:
			return nil, errors.New(e.Code + ": " + e.Msg)
		case p == nil:
			return nil, nil
		}
		plan := &dynamic.Plan{CorpID: p.CorpID, Target: dynamic.Target{CallbackURL: p.CallbackURL, APISecret: p.APISecret}}
		for _, src := range p.Sources {
			plan.Sources = append(plan.Sources, dynamic.Source{ID: src.ID, Interval: src.Interval})
		}
		return plan, nil
	}
}

// send writes one pull outcome on the connection (a closed connection
// drops it: its views are being stopped).
func (d *cardDynamic) send(outTrackID string, r dynamic.Result) {
	f := &opsyncpb.CardDynamicData{OutTrackId: outTrackID, SourceId: r.SourceID, Data: r.Data, ValueType: r.ValueType, PulledAt: r.PulledAt.UnixMilli()}
	if r.Err != nil {
		f.Error = r.Err.Error()
	}
	_ = d.conn.Send(&opsyncpb.ServerFrame{Frame: &opsyncpb.ServerFrame_Dynamic{Dynamic: f}})
}
