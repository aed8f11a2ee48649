package devices

import (
	"errors"
	"testing"

	"github.com/gantry-dev/gantry/protocol"
	"github.com/gantry-dev/gantry/tool"
)

// TestReplyKind: a device's error reply reaches code as the exception its
// protocol code means, and stays a DeviceError for errors.As.
func TestReplyKind(t *testing.T) {
	tests := []struct{ code, exception string }{
		{protocol.CodeBadRequest, "TypeError"},
		{protocol.CodeInvalidArgs, "TypeError"},
		{protocol.CodeOutOfRange, "ValueError"},
		{protocol.CodeUnknownAction, "NameError"},
		{protocol.CodeTimeout, "TimeoutError"},
		{protocol.CodeStopped, "InterruptedError"},
		{protocol.CodeInternal, "RuntimeError"},
		{protocol.CodeBusy, "RuntimeError"},
		{"vendor_specific", "RuntimeError"},
	}
	for _, tc := range tests {
		err := tool.NewError(replyKind(tc.code), &DeviceError{Code: tc.code, Message: "m"})
		if got := tool.Exception(err); got != tc.exception {
			t.Errorf("%s: %s, want %s", tc.code, got, tc.exception)
		}
		var de *DeviceError
		if !errors.As(err, &de) || de.Code != tc.code {
			t.Errorf("%s: errors.As lost the device error: %v", tc.code, err)
		}
	}
}
