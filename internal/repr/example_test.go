package repr_test

import (
	"fmt"

	"github.com/gantry-dev/gantry/internal/repr"
)

// The same wrong argument, as a tool tells model code and as a device's
// schema tells the gateway.
func Example() {
	v := 3.0
	fmt.Printf("speed must be <= %s, got %s (%s)\n", repr.Float(1), repr.Float(v), repr.PyType(v))
	fmt.Printf("speed must be <= %s, got %s (%s)\n", repr.Number(1), repr.Number(v), repr.JSONType(v))
	fmt.Println(repr.Shorten(`{"id": 1, "action": "drive", "args": {"speed": 0.5}}`, 20))
	// Output:
	// speed must be <= 1.0, got 3.0 (float)
	// speed must be <= 1, got 3 (number)
	// {"id": 1, "action": ...
}
