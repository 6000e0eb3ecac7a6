package actors

import (
	"errors"
	"log/slog"

	"github.com/opsync/opsync/internal/auth"
	"github.com/opsync/opsync/internal/keyring"
	"github.com/opsync/opsync/proto/opsyncpb"
)

// An instance's credentials at rest. The journal and snapshots keep the
// API key as its hash (a push only compares it) and the client secret
// sealed with the node set's master key (the node verifies client tokens
// with it, so it must read it back); the keys in clear exist only in the
// answer of the command that made them.

// errNoMasterKey answers a command that must seal a secret on a node
// started without a master key (a configuration fault: node.Start always
// gives one).
var errNoMasterKey = errors.New("this node has no master key to seal the client secret with")

// secretPurpose is what an instance's client secret is sealed for: the
// instance, so that a sealed secret copied into another instance's
// journal does not open there.
func secretPurpose(instanceID string) string { return "client-secret:" + instanceID }

// clearKeys are new credentials in clear, for the answer of the command
// that made them.
type clearKeys struct{ apiKey, clientSecret string }

// newKeys makes new random credentials and the event that stores them.
func (a *instanceActor) newKeys() (*opsyncpb.InstanceKeysSet, clearKeys, error) {
	if a.deps.MasterKey == nil {
		return nil, clearKeys{}, errNoMasterKey
	}
	k := clearKeys{apiKey: auth.NewKey(), clientSecret: auth.NewKey()}
	return &opsyncpb.InstanceKeysSet{
		ApiKeyHash: auth.HashKey(k.apiKey), ApiKeyPrefix: auth.KeyPrefix(k.apiKey),
		ClientSecretSealed: a.deps.MasterKey.Seal([]byte(k.clientSecret), secretPurpose(a.identity)), ClientSecretPrefix: auth.KeyPrefix(k.clientSecret),
	}, k, nil
}

// clientSecret opens the instance's client secret; nil without one (an
// instance made before keys existed).
func (a *instanceActor) clientSecret() ([]byte, error) {
	keys, _ := a.state.Keys()
	if len(keys.ClientSecretSealed) == 0 {
		return nil, nil
	}
	if a.deps.MasterKey == nil {
		return nil, errNoMasterKey
	}
	return a.deps.MasterKey.Open(keys.ClientSecretSealed, secretPurpose(a.identity))
}

// migrateKeys finishes the migration of credentials an earlier version
// stored in clear, after recovery: the state hashed the API key already;
// the client secret is sealed here, and a snapshot is taken at once, which
// trims the journal events below it that held the keys (their bytes leave
// the disk when the store compacts). It also reports, loudly, a client
// secret this node's master key does not open: the node was started with
// another key than the one of its data.
func (a *instanceActor) migrateKeys() {
	st := a.j.state
	if st.ClearKeysRead() {
		if legacy := st.LegacySecret(); legacy != "" {
			if a.deps.MasterKey == nil {
				a.j.log.Error("instance keys stay in clear: " + errNoMasterKey.Error())
				return
			}
			st.SealLegacySecret(a.deps.MasterKey.Seal([]byte(legacy), secretPurpose(a.identity)))
		}
		a.j.log.Info("instance keys stored in clear by an earlier version: hashed and sealed, snapshot taken")
		a.j.takeSnapshot()
	}
	if _, err := a.clientSecret(); err != nil {
		keys, _ := st.Keys()
		a.j.log.Error("the instance's client secret does not open with this node's master key: client tokens cannot be verified; start the node with the master key of its data",
			slog.String("sealedBy", keyring.SealedBy(keys.ClientSecretSealed)), slog.Any("err", err))
	}
}
