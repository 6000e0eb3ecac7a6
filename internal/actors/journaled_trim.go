package actors

import "github.com/opsync/opsync/internal/persistence"

// Trimming below a snapshot. Recovery starts from the latest snapshot, so
// the events it covers are needed no more, except the seqs an actor keeps
// (a stream's retained entries, whose payloads backlogs read by oplog id).
// What lies between kept seqs goes too: a stream that retains one old entry
// while its clients acknowledge thousands of newer ones keeps that entry
// and the events after its latest snapshot, not every sync point since the
// entry. The key layout is unchanged (no format version): only more of the
// journal is deleted, and a journal an earlier version left untrimmed is
// trimmed at its actor's next snapshot.
//
// Each trim is one DeleteRanges (one write however many ranges). Within an
// activation a trim covers only what the previous one left: the gaps
// between kept seqs that reach above it. The first trim of an activation
// covers the whole journal below its snapshot, which also makes good a
// trim that failed before (or a journal of an earlier version).

// trimRanges returns the ranges of seqs in 1..to that are not in keep
// (ascending), leaving out those wholly at or below done (deleted by an
// earlier trim).
func trimRanges(keep []uint64, done, to uint64) []persistence.SeqRange {
	var out []persistence.SeqRange
	from := uint64(1)
	for _, k := range keep {
		if k > to {
			break
		}
		if k > from && k-1 > done {
			out = append(out, persistence.SeqRange{From: from, To: k - 1})
		}
		from = k + 1
	}
	if from <= to && to > done {
		out = append(out, persistence.SeqRange{From: from, To: to})
	}
	return out
}
