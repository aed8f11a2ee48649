package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/tool"
)

// deviceURI is the prefix of the device resources' URIs.
const deviceURI = "gantry://devices/"

func (m *mcpState) estopDescription() string {
	d := "Emergency stop: interrupt the code running in every session of this client at once."
	if m.s.dev.hub != nil {
		d += " It also stops every device now; the guard then refuses motion until a person resets it."
	}
	return d
}

// registerDeviceTools adds the MCP sessions' device tools to reg (for the
// run_code description).
func (m *mcpState) registerDeviceTools(reg *tool.Registry) error {
	if m.s.dev.hub == nil || len(m.s.cfg.MCP.Devices) == 0 {
		return nil
	}
	names, err := m.s.sessionDevices(nil, m.s.cfg.MCP.Devices, "starlark")
	if err != nil {
		return nil // no device yet: the description lists the environment's tools only
	}
	return m.s.addDeviceTools(reg, nil, names)
}

// devicesFor returns the devices of a new MCP session of a client with
// token tok: the configured ones it may use (none when it may use none:
// its session then runs code without devices).
func (m *mcpState) devicesFor(tok *Token) []string {
	if m.s.dev.hub == nil || len(m.s.cfg.MCP.Devices) == 0 || !hasDevices(tok) {
		return nil
	}
	var out []string
	for _, want := range m.s.cfg.MCP.Devices {
		if names, err := m.s.sessionDevices(tok, []string{want}, "starlark"); err == nil {
			out = append(out, names...)
		}
	}
	return out
}

// estopResult engages the e-stop for an MCP client and reports it.
func (m *mcpState) estopResult(ctx context.Context, tok *Token, owner string) *mcp.CallToolResult {
	reason := "e-stop over MCP"
	if owner != "" {
		reason += " by " + owner
	}
	res := m.s.estopAll(ctx, tok, reason)
	var b strings.Builder
	fmt.Fprintf(&b, "Stopped %d running action(s).", res.Stopped)
	names := make([]string, 0, len(res.Devices))
	for n := range res.Devices {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := res.Devices[n]
		if a.Error != "" {
			fmt.Fprintf(&b, "\n%s: stop failed: %s", n, a.Error)
		} else {
			fmt.Fprintf(&b, "\n%s: stopped %s", n, a.Result)
		}
	}
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: b.String()}}}
}

// addDeviceResources offers each device's description as a resource
// (gantry://devices/NAME), and any device by the template, as devices come
// and go.
func (m *mcpState) addDeviceResources() {
	hub := m.s.dev.hub
	if hub == nil {
		return
	}
	m.server.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: deviceURI + "{name}", Name: "device",
		Description: "A device's description: its actions with their parameters, units and limits, the tools code calls, the guard's policy.",
		MIMEType:    "application/json"}, m.readDevice)
	m.addDeviceActionTools()
	ctx := m.s.stopActions
	listed := map[string]bool{}
	sync := func() {
		now := map[string]bool{}
		for _, d := range hub.Devices() {
			desc := d.Description()
			if desc == nil {
				continue
			}
			now[d.Name()] = true
			if !listed[d.Name()] {
				m.server.AddResource(&mcp.Resource{URI: deviceURI + d.Name(), Name: d.Name(), Title: desc.Title,
					Description: desc.Description, MIMEType: "application/json"}, m.readDevice)
			}
		}
		for n := range listed {
			if !now[n] {
				m.server.RemoveResources(deviceURI + n)
			}
		}
		listed = now
	}
	changed := hub.Changed()
	sync()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			changed = hub.Changed()
			sync()
		}
	}()
}

// readDevice reads a device resource: the device's description as
// GET /v1/devices/{name} answers it.
func (m *mcpState) readDevice(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	uri := req.Params.URI
	name, ok := strings.CutPrefix(uri, deviceURI)
	if !ok {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	var h http.Header
	if req.Extra != nil {
		h = req.Extra.Header
	}
	tok, err := m.s.tokenFromHeader(h)
	if err != nil {
		return nil, err
	}
	info, err := m.s.deviceInfo(tok, name)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return nil, mcp.ResourceNotFoundError(uri)
		}
		if errors.As(err, &ae) {
			return nil, errors.New(ae.Message)
		}
		return nil, err
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/json", Text: string(b)}}}, nil
}

// tokenFromHeader finds the token of an MCP request made over HTTP (the
// middleware checked it already); stdio has none.
func (s *Server) tokenFromHeader(h http.Header) (*Token, error) {
	if s.cfg.Tokens == nil || h == nil {
		return nil, nil
	}
	v := h.Get("Authorization")
	if len(v) > 7 {
		if t, ok := s.cfg.Tokens.lookup(v[7:]); ok {
			return t, nil
		}
	}
	return nil, errors.New("unknown bearer token")
}

// addDeviceActionTools offers each action of the MCP sessions' devices, as
// found at start, as an MCP tool of its own ("rover_drive"): a call runs
// in the MCP session's gantry session, as the same call in run_code would
// (through the guards, into the audit log, one action at a time).
func (m *mcpState) addDeviceActionTools() {
	if len(m.s.cfg.MCP.Devices) == 0 {
		return
	}
	names, err := m.s.sessionDevices(nil, m.s.cfg.MCP.Devices, "starlark")
	if err != nil {
		return
	}
	for _, name := range names {
		d, ok := m.s.dev.hub.Device(name)
		if !ok {
			continue
		}
		ts, err := devices.Tools(m.s.dev.hub, d)
		if err != nil {
			continue
		}
		for _, t := range ts {
			toolName := t.Name
			m.server.AddTool(&mcp.Tool{Name: strings.ReplaceAll(toolName, ".", "_"),
				Description: t.Signature() + ": " + t.Doc + ". The same as calling " + toolName + " in run_code.",
				InputSchema: t.JSONSchema()},
				func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
					return m.callDeviceTool(ctx, req, toolName), nil
				})
		}
	}
}

// callDeviceTool calls one device tool in the MCP session's gantry session.
func (m *mcpState) callDeviceTool(ctx context.Context, req *mcp.CallToolRequest, name string) *mcp.CallToolResult {
	args := map[string]any{}
	if len(req.Params.Arguments) > 0 {
		dec := json.NewDecoder(bytes.NewReader(req.Params.Arguments))
		dec.UseNumber()
		var raw map[string]any
		if err := dec.Decode(&raw); err != nil {
			return toolError(fmt.Errorf("%s: the arguments are not a JSON object: %v", name, err))
		}
		for k, v := range raw {
			args[k] = tool.FromJSON(v)
		}
	}
	ss, note, err := m.session(ctx, req)
	if err != nil {
		return toolError(err)
	}
	if ss.reg == nil {
		return toolError(fmt.Errorf("%s: this session has no runtime", name))
	}
	actx, end, err := m.s.begin(ctx, ss, "tool")
	if err != nil {
		return toolError(err)
	}
	v, err := ss.reg.Call(tool.WithSession(actx, ss.id), name, nil, args)
	if err != nil {
		end("error")
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{
			Text: note + tool.KindOf(err).Exception() + ": " + err.Error()}}}
	}
	end("ok")
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: note + tool.Repr(v)}}}
}
