// Package client is the Go client of opsync: it connects to a node over the
// WebSocket client protocol (proto/opsync/v1/wire.proto), receives the
// messages of the bizTypes it registered, in oplog order, and keeps a sync
// point per bizType so that it resumes where it stopped.
//
// The API follows the SDK surface of the mobile data-sync service:
//
//	c, err := client.New(client.Options{Server: "http://127.0.0.1:8470", InstanceID: "ws_APP", StateFile: "sync.json"})
//	c.RegisterBiz("CHAT-MSG", func(m client.Message) { show(m); c.ReportMsgReceived(m) })
//	c.UpdateUserInfo("alice", sessionID)
//	c.AppToForeground() // connect, and reconnect with backoff until background or Close
//	...
//	c.Close() // saves the sync points
//
// Without UpdateUserInfo (before sign-in, and after ClearUserInfo) the
// client connects device-only: it receives its device's and the global
// bizTypes, not the user-target ones (Withheld lists those).
//
// Delivery is at least once: a message is delivered again (after a
// reconnect, or to the next process using the same state file) until it is
// reported with ReportMsgReceived. Callbacks run one at a time on one
// goroutine per Client, in delivery order.
package client
