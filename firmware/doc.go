// Package firmware is gantry's reference device firmware: a simulated
// differential-drive rover that speaks the gantry/1 device protocol
// (docs/protocol.md) over a line transport (serial, a pty, any
// io.ReadWriter: ServeLines) and over MQTT (ServeMQTT).
//
// It is a device, not part of the gateway: it imports package protocol
// (the messages, the description, the line codec, request parsing and
// argument validation) and never package devices; only the command line
// (cmd/gantry) and tests import it. Dispatcher adds what every device
// needs on top of the protocol: handlers per action and the idempotency
// cache of the last protocol.CacheSize replies.
package firmware
