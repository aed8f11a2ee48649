// Package server is gantry as a service: an HTTP API of sessions, MCP
// (over streamable HTTP and stdio), Prometheus metrics and health checks.
//
// A session is one client's task environment (an ALFWorld game) and code
// runtime (Starlark, in a worker process of its own unless
// Config.NoIsolate; CPython in the bridge's sandbox; or none for plain
// gym-style steps). A session runs one action at a time: a second gets 409.
// An action is cancelled when its client disconnects, on e-stop, and when
// the server drains past its grace period. The API is described by the
// OpenAPI 3.1 document openapi.json, served at /openapi.json.
//
// The server reaches the task packages through one small interface
// (environment, in env.go); everything else is net/http.
package server

import _ "embed"

// openAPIDoc is the OpenAPI 3.1 description of the API.
//
//go:embed openapi.json
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc...) }
