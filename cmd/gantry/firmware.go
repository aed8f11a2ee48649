package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/gantry-dev/gantry/firmware"
	"github.com/spf13/cobra"
	"go.bug.st/serial"
)

func newFirmwareCmd() *cobra.Command {
	var opts firmware.Options
	var speed float64
	cmd := &cobra.Command{
		Use:   "firmware",
		Short: "Run the reference firmware (a simulated rover) over serial or MQTT",
	}
	cmd.PersistentFlags().StringVar(&opts.Name, "name", "rover", "device name")
	cmd.PersistentFlags().Float64Var(&opts.TelemetryHz, "telemetry", 0, "telemetry events per second (0 = off)")
	cmd.PersistentFlags().Float64Var(&speed, "speed", 1, "clock speed-up over real time")
	rover := func() *firmware.Rover {
		o := opts
		o.Clock = firmware.ScaledClock(speed)
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
		return firmware.NewRover(o)
	}

	var usePTY bool
	var port string
	var baud int
	serialCmd := &cobra.Command{
		Use:   "serial (--pty | --port PATH)",
		Short: "Serve the protocol on a new pseudo-terminal or an existing serial port",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if usePTY == (port != "") {
				return fmt.Errorf("give exactly one of --pty or --port")
			}
			r := rover()
			defer r.Close()
			if usePTY {
				p, err := firmware.OpenPTY()
				if err != nil {
					return err
				}
				defer p.Close()
				fmt.Fprintln(cmd.OutOrStdout(), p.Path)
				return r.ServeLines(cmd.Context(), p.Master)
			}
			sp, err := serial.Open(port, &serial.Mode{BaudRate: baud})
			if err != nil {
				return fmt.Errorf("open %s: %w", port, err)
			}
			defer sp.Close()
			return r.ServeLines(cmd.Context(), closeOnCancel{sp})
		},
	}
	serialCmd.Flags().BoolVar(&usePTY, "pty", false, "create a pty pair and print the path the gateway should open")
	serialCmd.Flags().StringVar(&port, "port", "", "serial port to serve on")
	serialCmd.Flags().IntVar(&baud, "baud", 115200, "baud rate for --port")

	var mo firmware.MQTTOptions
	var broker, caFile string
	mqttCmd := &cobra.Command{
		Use:   "mqtt --broker tcp://host:1883",
		Short: "Serve the protocol as an MQTT client of a broker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tc, err := (&deviceFlags{caFile: caFile}).tlsConfig()
			if err != nil {
				return err
			}
			mo.TLSConfig = tc
			r := rover()
			defer r.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "%s on %s (topics %s/%s/...)\n", r.Name(), broker, prefixOr(mo.Prefix), r.Name())
			return r.ServeMQTT(cmd.Context(), broker, mo)
		},
	}
	mqttCmd.Flags().StringVar(&broker, "broker", "tcp://127.0.0.1:1883", "broker URL")
	mqttCmd.Flags().StringVar(&mo.Prefix, "prefix", "gantry", "topic prefix")
	mqttCmd.Flags().StringVar(&mo.ClientID, "client-id", "", "MQTT client id (default gantry-fw-<name>)")
	mqttCmd.Flags().StringVar(&mo.Username, "username", "", "MQTT username")
	mqttCmd.Flags().StringVar(&mo.Password, "password", "", "MQTT password")
	mqttCmd.Flags().StringVar(&caFile, "ca", "", "PEM file of the CA that signed the broker's certificate (ssl:// URLs)")
	mqttCmd.Flags().StringSliceVar(&mo.Fallbacks, "fallback", nil, "more broker URLs (a cluster's other nodes), tried in order when --broker is down")

	cmd.AddCommand(serialCmd, mqttCmd)
	return cmd
}

func prefixOr(p string) string {
	if p == "" {
		return "gantry"
	}
	return p
}

// closeOnCancel lets ServeLines unblock a serial port read by closing it.
type closeOnCancel struct{ serial.Port }
