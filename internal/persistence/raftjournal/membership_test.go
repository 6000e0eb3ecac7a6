package raftjournal

import (
	"testing"
)

// Status shows the group; a member removed through a follower (forwarded
// to the leader) leaves the configuration, and added back as a voter it
// catches up with what was written meanwhile.
func TestMembership(t *testing.T) {
	c := newCluster(t, t.TempDir(), 3, nil)
	defer c.close()
	leader, follower := c.leader(), c.follower()
	var other *testNode
	for _, n := range c.nodes {
		if n != leader && n != follower {
			other = n
		}
	}
	st, err := follower.store.Status(bg)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "Follower" || st.LeaderID != leader.id() || st.LeaderAddr != leader.raftAddr() || len(st.Servers) != 3 {
		t.Fatalf("follower status = %+v", st)
	}
	for _, s := range st.Servers {
		if s.Suffrage != "Voter" {
			t.Fatalf("server %+v is not a voter", s)
		}
	}

	if err := follower.store.RemoveServer(bg, other.id()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two servers", func() bool {
		st, err := leader.store.Status(bg)
		return err == nil && len(st.Servers) == 2
	})
	c.stop(other.i)
	// Two of two voters form the majority now.
	for seq := uint64(1); seq <= 20; seq++ {
		if err := follower.store.Append(bg, "m", seq, [][]byte{[]byte("x")}); err != nil {
			t.Fatal(err)
		}
	}

	c.start(other.i)
	if err := follower.store.AddVoter(bg, other.id(), other.raftAddr()); err != nil {
		t.Fatal(err)
	}
	st, err = leader.store.Status(bg)
	if err != nil || len(st.Servers) != 3 {
		t.Fatalf("leader status after AddVoter = %+v, %v", st, err)
	}
	c.converge()
	if err := other.store.ReadBarrier(bg); err != nil {
		t.Fatal(err)
	}
	if _, _, h := journalOf(t, other, "m"); h != 20 {
		t.Fatalf("re-added node: highest %d, want 20", h)
	}
	if st, _ := other.store.Status(bg); st.AppliedIndex == 0 || st.LastIndex == 0 || st.CommitIndex == 0 {
		t.Fatalf("re-added node status %+v", st)
	}
}
