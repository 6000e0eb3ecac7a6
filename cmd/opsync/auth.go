package main

import (
	"flag"
	"net/http"
	"os"
	"path/filepath"

	"github.com/opsync/opsync/internal/edge"
	"github.com/opsync/opsync/internal/node"
)

// adminAuth is how a command authenticates to the admin API: --admin-token
// (env OPSYNC_ADMIN_TOKEN), else the token file of a local node's data
// directory (--data, default ./opsync-data) when it can be read.
type adminAuth struct {
	token    *secretFlag
	data     *string
	operator *string
}

func adminFlags(fs *flag.FlagSet) *adminAuth {
	a := adminReadFlags(fs)
	a.operator = fs.String("operator", os.Getenv("OPSYNC_OPERATOR"), "operator named in the operation log (env OPSYNC_OPERATOR; default admin)")
	return a
}

// adminReadFlags declares the token flags only, for commands that change
// nothing (and may use --operator for something else).
func adminReadFlags(fs *flag.FlagSet) *adminAuth {
	empty := ""
	return &adminAuth{
		token:    newSecretFlag(fs, "admin-token", "OPSYNC_ADMIN_TOKEN", "admin API `token` (env OPSYNC_ADMIN_TOKEN; default: the token file in --data)"),
		data:     fs.String("data", node.DefaultDataDir, "data directory of a local node, whose admin-token file is used when no token is given"),
		operator: &empty,
	}
}

// adminTokenFlag declares --admin-token alone, for a command whose --data
// means something else: without a token it reads the token file of the
// default data directory.
func adminTokenFlag(fs *flag.FlagSet) *adminAuth {
	data, empty := node.DefaultDataDir, ""
	return &adminAuth{
		token:    newSecretFlag(fs, "admin-token", "OPSYNC_ADMIN_TOKEN", "admin API `token` (env OPSYNC_ADMIN_TOKEN; default: the token file in "+data+")"),
		data:     &data,
		operator: &empty,
	}
}

// resolve returns the admin token, "" when none is known.
func (a *adminAuth) resolve() string {
	if t := a.token.get(); t != "" {
		return t
	}
	t, err := node.ReadAdminToken(filepath.Join(*a.data, node.AdminTokenFile))
	if err != nil {
		return ""
	}
	return t
}

// option adds the admin token and the operator to a request.
func (a *adminAuth) option() reqOption {
	token := a.resolve()
	return func(r *http.Request) {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		if *a.operator != "" {
			r.Header.Set(edge.OperatorHeader, *a.operator)
		}
	}
}

// withAdminToken adds an admin token to a request.
func withAdminToken(token string) reqOption {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// withAPIKey adds an instance's push API key to a request.
func withAPIKey(key string) reqOption {
	return func(r *http.Request) { r.Header.Set(edge.APIKeyHeader, key) }
}

// unauthorizedHint explains a 401 of the admin API.
const unauthorizedHint = " (give the admin token with --admin-token or OPSYNC_ADMIN_TOKEN, or --data DIR of the node)"

// hintFor adds a hint to an HTTP error the user can fix.
func hintFor(status int) string {
	if status == http.StatusUnauthorized {
		return unauthorizedHint
	}
	return ""
}
