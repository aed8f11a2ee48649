package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/devices"
	dmqtt "github.com/gantry-dev/gantry/devices/mqtt"
	dserial "github.com/gantry-dev/gantry/devices/serial"
	"github.com/gantry-dev/gantry/tool"
)

// deviceFlags say how to reach devices and which policy guards them.
type deviceFlags struct {
	broker, prefix     string
	username, password string
	caFile             string
	certFile, keyFile  string
	ports              []string
	baud               int
	discover           time.Duration
	timeout            time.Duration
	policy, audit      string
	dryRun             bool
}

func (f *deviceFlags) register(cmd *cobra.Command) {
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.broker, "broker", os.Getenv("GANTRY_BROKER"), "MQTT broker URL, tcp://host:1883 or ssl://host:8883 (env GANTRY_BROKER)")
	fl.StringVar(&f.prefix, "prefix", "gantry", "MQTT topic prefix")
	fl.StringVar(&f.username, "username", os.Getenv("GANTRY_MQTT_USERNAME"), "MQTT username (env GANTRY_MQTT_USERNAME)")
	fl.StringVar(&f.password, "password", os.Getenv("GANTRY_MQTT_PASSWORD"), "MQTT password (env GANTRY_MQTT_PASSWORD)")
	fl.StringVar(&f.caFile, "ca", "", "PEM file of the CA that signed the broker's certificate (TLS)")
	fl.StringVar(&f.certFile, "cert", "", "PEM client certificate for TLS client authentication")
	fl.StringVar(&f.keyFile, "key", "", "PEM key of --cert")
	fl.StringSliceVar(&f.ports, "port", nil, "serial port path of a device (repeatable)")
	fl.IntVar(&f.baud, "baud", 115200, "baud rate of --port")
	fl.DurationVar(&f.discover, "discover", 2*time.Second, "how long to wait for devices to announce themselves")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Second, "reply timeout beyond an action's stated duration")
	fl.StringVar(&f.policy, "policy", "", "YAML policy file for the guard (default: everything allowed, 20 actions/s)")
	fl.StringVar(&f.audit, "audit", "", "append an audit record of every action to this JSONL file (overrides the policy's)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "answer actions that are not safe without sending them")
}

func (f *deviceFlags) tlsConfig() (*tls.Config, error) {
	if f.caFile == "" && f.certFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.caFile != "" {
		pem, err := readSmall(f.caFile, maxPEMBytes)
		if err != nil {
			return nil, fmt.Errorf("read CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificates", f.caFile)
		}
		cfg.RootCAs = pool
	}
	if f.certFile != "" {
		certPEM, err := readSmall(f.certFile, maxPEMBytes)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		keyPEM, err := readSmall(f.keyFile, maxPEMBytes)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// maxPEMBytes bounds a certificate or key file: PEM bundles are KBs.
const maxPEMBytes = 1 << 20

// readSmall reads a file of at most max bytes, refusing larger ones
// without reading them whole.
func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}

// gateway is a hub connected to devices, and how to let go of them.
type gateway struct {
	hub     *devices.Hub
	closers []func()
}

func (g *gateway) Close() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		g.closers[i]()
	}
}

// waitMode says what connect waits for when devices are named.
type waitMode int

const (
	waitOnline  waitMode = iota // in the hub, described and online: to call them
	waitPresent                 // online, or else at least in the hub and described by the end of the discovery time: to show them
)

// connect builds the guard and the hub, and reaches the devices over the
// broker and the serial ports the flags name. With wait, it waits for the
// named devices as mode says, else for the discovery time.
func (f *deviceFlags) connect(ctx context.Context, log *slog.Logger, mode waitMode, wait ...string) (*gateway, error) {
	if f.broker == "" && len(f.ports) == 0 {
		return nil, errors.New("no devices to reach: give --broker URL (or GANTRY_BROKER) and/or --port PATH")
	}
	policy := devices.OpenPolicy()
	if f.policy != "" {
		p, err := devices.LoadPolicy(f.policy)
		if err != nil {
			return nil, err
		}
		policy = p
	}
	if f.dryRun {
		policy.DryRun = true
	}
	if f.audit != "" {
		policy.Audit = f.audit
	}
	g := &gateway{}
	var audit *devices.Audit
	if policy.Audit != "" {
		a, err := devices.OpenAudit(policy.Audit)
		if err != nil {
			return nil, err
		}
		audit = a
		g.closers = append(g.closers, func() { a.Close() })
	}
	g.hub = devices.NewHub(devices.HubOptions{Guard: devices.NewGuard(policy), Audit: audit, Logger: log})
	g.closers = append(g.closers, func() { g.hub.Close() })
	if f.broker != "" {
		tc, err := f.tlsConfig()
		if err != nil {
			g.Close()
			return nil, err
		}
		bus, err := dmqtt.Connect(ctx, g.hub, dmqtt.Options{Broker: f.broker, Prefix: f.prefix, Username: f.username,
			Password: f.password, TLSConfig: tc, Timeout: f.timeout, Logger: log})
		if err != nil {
			g.Close()
			return nil, err
		}
		g.closers = append(g.closers, func() { bus.Close() })
	}
	for _, path := range f.ports {
		p, err := dserial.Open(ctx, g.hub, path, dserial.Options{Baud: f.baud, Timeout: f.timeout, Logger: log})
		if err != nil {
			g.Close()
			return nil, err
		}
		g.closers = append(g.closers, func() { p.Close() })
	}
	if len(wait) > 0 {
		wctx, cancel := context.WithTimeout(ctx, f.discover)
		defer cancel()
		err := g.hub.Wait(wctx, wait...)
		if err != nil && mode == waitPresent && wctx.Err() != nil {
			// Not online within the discovery time: enough if they are
			// there, described (a device that went offline).
			err = presence(g.hub, err, wait...)
		}
		if err != nil {
			found := deviceNames(g.hub) // before Close empties the hub
			g.Close()
			return nil, fmt.Errorf("%w (devices found: %s)", err, found)
		}
	} else if f.broker != "" {
		settle(ctx, g.hub, f.discover)
	}
	return g, nil
}

// settle waits until no new device has appeared for a short while, or the
// discovery time is up: retained descriptions arrive in a burst.
func settle(ctx context.Context, hub *devices.Hub, max time.Duration) {
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	quiet := 300 * time.Millisecond
	for {
		q := time.NewTimer(quiet)
		select {
		case <-hub.Changed():
			q.Stop()
		case <-q.C:
			if len(hub.Devices()) > 0 {
				return
			}
		case <-deadline.C:
			q.Stop()
			return
		case <-ctx.Done():
			q.Stop()
			return
		}
	}
}

// presence returns nil when every device named is in the hub (a device
// joins the hub described), whatever its state, else err.
func presence(hub *devices.Hub, err error, names ...string) error {
	for _, n := range names {
		if d, ok := hub.Device(n); !ok || d.Description() == nil {
			return err
		}
	}
	return nil
}

// deviceNames lists the hub's devices with the state of those not online,
// for messages: "rover, scout (offline)".
func deviceNames(h *devices.Hub) string {
	var names []string
	for _, d := range h.Devices() {
		if st, _ := d.State(); st != devices.Online {
			names = append(names, fmt.Sprintf("%s (%s)", d.Name(), st))
			continue
		}
		names = append(names, d.Name())
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// devicesCLI is what the devices subcommands share: how to reach the
// devices (persistent flags of gantry devices) and how to log.
type devicesCLI struct {
	flags   deviceFlags
	verbose bool
}

func newDevicesCmd() *cobra.Command {
	c := &devicesCLI{}
	cmd := &cobra.Command{
		Use:   "devices",
		Short: "List, describe, call, stop and watch devices over MQTT and serial",
		Long: `devices talks to devices that speak the gantry/1 protocol (docs/protocol.md),
over an MQTT broker (--broker) or serial ports (--port), through the same
guard and audit log that agents go through.

  gantry devices --broker tcp://127.0.0.1:1883 list
  gantry devices --port /dev/ttyUSB0 describe rover
  gantry devices --broker tcp://127.0.0.1:1883 call rover drive speed=0.3 ms=800
  gantry devices --broker tcp://127.0.0.1:1883 stop`,
		// Without a subcommand: the help. A word that is no subcommand is
		// an error (cobra's "unknown command"), not the help with exit 0.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.flags.register(cmd)
	cmd.PersistentFlags().BoolVarP(&c.verbose, "verbose", "v", false, "log connections and state changes to stderr")
	cmd.AddCommand(newDevicesListCmd(c), newDevicesDescribeCmd(c), newDevicesCallCmd(c),
		newDevicesStopCmd(c), newDevicesResetCmd(c), newDevicesWatchCmd(c), newBrokerCmd())
	return cmd
}

// logger logs errors to stderr, and with --verbose connections and state
// changes too.
func (c *devicesCLI) logger() *slog.Logger {
	if c.verbose {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// cliSession names the command line's user as the caller in the audit log.
func cliSession(ctx context.Context) context.Context {
	user := os.Getenv("USER")
	if user == "" {
		user = "unknown"
	}
	return tool.WithSession(ctx, "cli:"+user)
}

// withGateway runs a command with a gateway that waits, as mode says, for
// the devices named in its arguments.
func (c *devicesCLI) withGateway(mode waitMode, run func(cmd *cobra.Command, g *gateway, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		g, err := c.flags.connect(cmd.Context(), c.logger(), mode, args...)
		if err != nil {
			return err
		}
		defer g.Close()
		return run(cmd, g, args)
	}
}

func newDevicesListCmd(c *devicesCLI) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the devices with their state and actions",
		Args:  cobra.NoArgs,
		RunE: c.withGateway(waitOnline, func(cmd *cobra.Command, g *gateway, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "DEVICE\tSTATE\tTITLE\tACTIONS")
			for _, d := range g.hub.Devices() {
				st, _ := d.State()
				title, actions := "", ""
				if desc := d.Description(); desc != nil {
					title = desc.Title
					actions = strings.Join(sortedNames(desc.Actions), " ")
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.Name(), st, title, actions)
			}
			return w.Flush()
		}),
	}
}

func newDevicesDescribeCmd(c *devicesCLI) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "describe DEVICE",
		Short: "Show a device's description: its tools with parameters, units and bounds",
		Long: `describe shows a device's description as its tools, properties and events.
It waits for the device to come online, at most --discover; a device that
announced itself and is not online by then (it went offline) is described
with its state.`,
		Args: cobra.ExactArgs(1),
		RunE: c.withGateway(waitPresent, func(cmd *cobra.Command, g *gateway, args []string) error {
			d, ok := g.hub.Device(args[0])
			if !ok || d.Description() == nil {
				return fmt.Errorf("no device %q (devices found: %s)", args[0], deviceNames(g.hub))
			}
			if asJSON {
				b, err := json.MarshalIndent(d.Description(), "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
				return nil
			}
			return printDescription(cmd.OutOrStdout(), g.hub, d)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the raw description")
	return cmd
}

// printDescription prints a device's description for people: its tools
// as prompts show them, its properties and its events.
func printDescription(out io.Writer, hub *devices.Hub, d *devices.Device) error {
	desc := d.Description()
	st, _ := d.State()
	fmt.Fprintf(out, "%s (%s), %s, %s\n%s\n\n", desc.Name, desc.Title, desc.Protocol, st, desc.Description)
	ts, err := devices.Tools(hub, d)
	if err != nil {
		return err
	}
	for _, t := range ts {
		fmt.Fprintln(out, t.Help())
	}
	if len(desc.Properties) > 0 {
		fmt.Fprintln(out, "Properties (read with get):")
		for _, n := range sortedNames(desc.Properties) {
			p := desc.Properties[n]
			unit := ""
			if p.Unit != "" {
				unit = " [" + p.Unit + "]"
			}
			fmt.Fprintf(out, "  %s: %s%s %s\n", n, p.Type, unit, p.Description)
		}
	}
	if len(desc.Events) > 0 {
		fmt.Fprintln(out, "Events:")
		for _, n := range sortedNames(desc.Events) {
			fmt.Fprintf(out, "  %s: %s\n", n, desc.Events[n].Description)
		}
	}
	return nil
}

func newDevicesCallCmd(c *devicesCLI) *cobra.Command {
	var argsJSON string
	cmd := &cobra.Command{
		Use:   "call DEVICE ACTION [name=value ...]",
		Short: "Call one action through the guard and print the result as JSON",
		Long: `call sends one action. Arguments are name=value pairs (values are JSON when
they parse as JSON, else strings) or one JSON object with --args.

  gantry devices call rover drive speed=0.3 ms=800
  gantry devices call rover get name=battery`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			callArgs, err := parseCallArgs(args[2:], argsJSON)
			if err != nil {
				return err
			}
			g, err := c.flags.connect(cmd.Context(), c.logger(), waitOnline, args[0])
			if err != nil {
				return err
			}
			defer g.Close()
			raw, err := callChecked(cliSession(cmd.Context()), g.hub, args[0], args[1], callArgs)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(raw))
			return nil
		},
	}
	cmd.Flags().StringVar(&argsJSON, "args", "", `arguments as one JSON object, e.g. '{"speed":0.3}'`)
	return cmd
}

// callChecked converts and checks the arguments as the tools do, refusals
// on record, and calls the action through the hub. describe, reset and
// names that are no action are not tools: they go to the hub as given,
// which audits and refuses.
func callChecked(ctx context.Context, hub *devices.Hub, device, action string, args map[string]any) (json.RawMessage, error) {
	reg := tool.NewRegistry()
	if err := devices.RegisterTools(reg, hub); err != nil {
		return nil, err
	}
	if t, ok := reg.Lookup(device + "." + action); ok {
		bound, err := t.Check(ctx, nil, numbersFor(t, args))
		if err != nil {
			return nil, err
		}
		args = bound
	}
	return hub.CallRaw(ctx, device, action, args)
}

func newDevicesStopCmd(c *devicesCLI) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "stop [DEVICE ...]",
		Short: "Emergency stop: halt every device (or those named) now; motion stays refused until reset",
		RunE: c.withGateway(waitOnline, func(cmd *cobra.Command, g *gateway, args []string) error {
			return broadcast(cmd.Context(), cmd.OutOrStdout(), g.hub, args, func(ctx context.Context) []devices.StopResult {
				return g.hub.EStop(cliSession(ctx), reason)
			})
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "gantry devices stop", "why, for the audit log")
	return cmd
}

func newDevicesResetCmd(c *devicesCLI) *cobra.Command {
	return &cobra.Command{
		Use:   "reset [DEVICE ...]",
		Short: "Clear the emergency stop of every device (or those named)",
		RunE: c.withGateway(waitOnline, func(cmd *cobra.Command, g *gateway, args []string) error {
			return broadcast(cmd.Context(), cmd.OutOrStdout(), g.hub, args, func(ctx context.Context) []devices.StopResult {
				return g.hub.Reset(cliSession(ctx))
			})
		}),
	}
}

func newDevicesWatchCmd(c *devicesCLI) *cobra.Command {
	return &cobra.Command{
		Use:   "watch [DEVICE ...]",
		Short: "Print events and state changes of the devices as JSON lines until interrupted",
		RunE: c.withGateway(waitOnline, func(cmd *cobra.Command, g *gateway, args []string) error {
			return watchDevices(cmd.Context(), cmd.OutOrStdout(), g.hub, args)
		}),
	}
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// parseCallArgs reads name=value pairs (JSON values where they parse) and
// an optional JSON object.
func parseCallArgs(pairs []string, jsonArgs string) (map[string]any, error) {
	args := map[string]any{}
	if jsonArgs != "" {
		dec := json.NewDecoder(strings.NewReader(jsonArgs))
		dec.UseNumber()
		if err := dec.Decode(&args); err != nil {
			return nil, fmt.Errorf("--args: %w", err)
		}
		for k, v := range args {
			args[k] = tool.FromJSON(v)
		}
	}
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("argument %q: want name=value", p)
		}
		args[name] = parseValue(value)
	}
	return args, nil
}

// parseValue reads a command-line value: a number, true/false/null, JSON,
// or else the text itself.
func parseValue(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		return tool.FromJSON(v)
	}
	return s
}

// numbersFor reads the command-line text given to a number parameter as
// Python's float() reads it, so that nan and inf reach the argument check
// (which refuses them as not finite) instead of passing as text.
func numbersFor(t *tool.Tool, args map[string]any) map[string]any {
	for _, p := range t.Params {
		s, ok := args[p.Name].(string)
		if !ok || p.Type != tool.Float && p.Type != tool.Int {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil || errors.Is(err, strconv.ErrRange) {
			args[p.Name] = f
		}
	}
	return args
}

// broadcast runs a stop or reset and prints each device's answer; with
// names, only those devices are kept in the hub first.
func broadcast(ctx context.Context, out io.Writer, hub *devices.Hub, names []string, run func(context.Context) []devices.StopResult) error {
	if len(names) > 0 {
		keep := map[string]bool{}
		for _, n := range names {
			keep[n] = true
		}
		for _, d := range hub.Devices() {
			if !keep[d.Name()] {
				hub.Remove(d.Name())
			}
		}
	}
	results := run(ctx)
	if len(results) == 0 {
		return errors.New("no devices found")
	}
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			fmt.Fprintf(out, "%s: FAILED: %v\n", r.Device, r.Err)
			continue
		}
		b, _ := json.Marshal(r.Result)
		fmt.Fprintf(out, "%s: %s\n", r.Device, b)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d devices did not confirm", failed, len(results))
	}
	return nil
}

// watchDevices prints events and state changes as JSON lines.
func watchDevices(ctx context.Context, out io.Writer, hub *devices.Hub, names []string) error {
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
	}
	var mu sync.Mutex
	enc := json.NewEncoder(out)
	emit := func(v any) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(v)
	}
	watched := map[*devices.Device]func(){}
	states := map[*devices.Device]devices.State{}
	defer func() {
		for _, cancel := range watched {
			cancel()
		}
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, d := range hub.Devices() {
			if len(keep) > 0 && !keep[d.Name()] {
				continue
			}
			if _, ok := watched[d]; !ok {
				name := d.Name()
				watched[d] = d.Subscribe(func(ev devices.Event) {
					emit(map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "device": name, "event": ev.Event, "ts": ev.TS, "data": ev.Data})
				})
			}
			st, err := d.State()
			if prev, seen := states[d]; !seen || prev != st {
				rec := map[string]any{"time": time.Now().UTC().Format(time.RFC3339Nano), "device": d.Name(), "state": st.String()}
				if err != nil {
					rec["reason"] = err.Error()
				}
				emit(rec)
				states[d] = st
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-hub.Changed():
		}
	}
}
