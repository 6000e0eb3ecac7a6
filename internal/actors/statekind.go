package actors

import "sync"

// StateKind is a kind of state source a client can open (Open.kind on the
// wire): a block entity; later a card. A family registers its kind once,
// at init; the client actor then finds the source's actor by cluster kind
// and identity, and the source sends its versions through the hubs.
type StateKind struct {
	// Name is the kind on the wire ("block").
	Name string
	// ClusterKind is the cluster kind of the source actors.
	ClusterKind string
	// Identity is the cluster identity of the source id of an instance.
	Identity func(instanceID, id string) string
	// ValidID reports whether a client may name id (the edge refuses a
	// frame that names another).
	ValidID func(id string) bool
	// StreamSuffix follows the identity in the name of the source's hub
	// deliveries (HubDeliveries.stream) and of a client's link to it: a
	// kind whose actors have the identities of another kind's (a
	// document's records and its session) sets one, so that a client may
	// open both.
	StreamSuffix string
	// EndsLink: a deleted StateUpdate ends the client's link to the
	// source (a document's session ended): it is passed on whatever its
	// version, and the client opens the source anew to see it again.
	EndsLink bool
}

// Stream is the name of the deliveries of the source of identity.
func (k StateKind) Stream(identity string) string { return identity + k.StreamSuffix }

var stateKinds sync.Map // name -> StateKind

// RegisterStateKind makes a kind of state source known to clients.
func RegisterStateKind(k StateKind) { stateKinds.Store(k.Name, k) }

// LookupStateKind returns the state kind of that name.
func LookupStateKind(name string) (StateKind, bool) {
	k, ok := stateKinds.Load(name)
	if !ok {
		return StateKind{}, false
	}
	return k.(StateKind), true
}
