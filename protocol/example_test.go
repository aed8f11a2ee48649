package protocol_test

import (
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/protocol"
)

// A device reads requests line by line, parses each and checks its
// arguments against the action's parameters, defaults filled in.
func Example() {
	drive := protocol.ActionDesc{Params: map[string]protocol.Param{
		"speed": {Type: "number", Unit: "m/s", Minimum: ptr(-1), Maximum: ptr(1), Required: true},
		"ms":    {Type: "integer", Unit: "ms", Minimum: ptr(0), Maximum: ptr(5000), Default: 500},
	}}
	lines := protocol.NewLineReader(strings.NewReader(
		`{"id":1,"action":"drive","args":{"speed":0.5}}` + "\n" +
			`{"id":2,"action":"drive","args":{"speed":3}}` + "\n" +
			`{"id":3,"action":"drive","args":{"speed":0.5,"ms":1.5}}` + "\r\n" +
			`{"action":"drive"}` + "\n"))
	for {
		line, err := lines.Next()
		if err != nil {
			break
		}
		req, perr := protocol.ParseRequest(line)
		if perr != nil {
			fmt.Printf("%s\n", protocol.ErrorReply(nil, perr.Code, perr.Message))
			continue
		}
		args, verr := protocol.ValidateArgs(req.Action, drive, req.Args)
		if verr != nil {
			fmt.Printf("%s\n", protocol.ErrorReply(&req.ID, verr.Code, verr.Message))
			continue
		}
		fmt.Printf("%d: %s %v\n", req.ID, req.Action, args)
	}
	// Output:
	// 1: drive map[ms:500 speed:0.5]
	// {"id":2,"ok":false,"error":{"code":"out_of_range","message":"speed must be \u003c= 1, got 3"}}
	// {"id":3,"ok":false,"error":{"code":"invalid_args","message":"ms must be an integer, got 1.5"}}
	// {"id":null,"ok":false,"error":{"code":"bad_request","message":"missing \"id\""}}
}

func ptr(f float64) *float64 { return &f }

// The MQTT topics of a device, and its retained status.
func ExampleTopics() {
	req, res, evt, desc, status := protocol.Topics("lab/floor1", "rover")
	fmt.Println(req, res, evt, desc, status)
	online, err := protocol.ParseStatus([]byte(`{"state":"offline"}`))
	fmt.Println(online, err)
	name, kind, ok := protocol.SplitTopic("lab/floor1", "lab/floor1/rover/evt")
	fmt.Println(name, kind, ok)
	// Output:
	// lab/floor1/rover/req lab/floor1/rover/res lab/floor1/rover/evt lab/floor1/rover/desc lab/floor1/rover/status
	// false <nil>
	// rover evt true
}
