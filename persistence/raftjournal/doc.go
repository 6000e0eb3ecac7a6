// Package raftjournal is a persistence.Store replicated by hashicorp/raft.
package raftjournal

import _ "github.com/hashicorp/raft"
