package actors

import "strings"

// Cluster kinds.
const (
	KindStream   = "stream"
	KindInstance = "instance"
)

// UserStream is the cluster identity of a user's stream in an instance.
// Instance ids never contain '/', so the id is unambiguous even when the
// user id does.
func UserStream(instanceID, userID string) string { return instanceID + "/u/" + userID }

// DeviceStream is the cluster identity of a device's stream in an instance.
func DeviceStream(instanceID, deviceID string) string { return instanceID + "/d/" + deviceID }

// GlobalStream is the cluster identity of a global bizType's stream.
func GlobalStream(instanceID, bizType string) string { return instanceID + "/g/" + bizType }

// StreamInstance is the instance of a stream identity.
func StreamInstance(identity string) string {
	instance, _, _ := strings.Cut(identity, "/")
	return instance
}

// JournalID is the journal an actor of kind with identity writes. It is
// derived from the cluster identity, never from the PID, so that every
// activation, on any node, finds the same journal.
func JournalID(kind, identity string) string { return kind + ":" + identity }

// ParseJournalID splits a journal id into kind and identity.
func ParseJournalID(id string) (kind, identity string, ok bool) {
	return strings.Cut(id, ":")
}
