package tool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
)

func TestKindOf(t *testing.T) {
	errOwn := errors.New("gripper jammed")
	tests := []struct {
		name string
		err  error
		kind Kind
		exc  string
	}{
		{"nil", nil, Failed, "RuntimeError"},
		{"plain", errOwn, Failed, "RuntimeError"},
		{"arg type", &ArgError{Tool: "t", Param: "x", Msg: "must be an int, got str"}, ArgType, "TypeError"},
		{"arg value", fmt.Errorf("wrapped: %w", &ArgError{Tool: "t", Param: "x", Msg: "must be >= 0, got -1", Value: true}), ArgValue, "ValueError"},
		{"not found", &NotFoundError{Name: "nope"}, NotFound, "NameError"},
		{"offline", fmt.Errorf("rover.drive: %w", NewError(Offline, errors.New("device offline"))), Offline, "ConnectionError"},
		{"refused", Errorf(Refused, "refused by policy: %w", errOwn), Refused, "PermissionError"},
		{"timeout kind", Errorf(Timeout, "no reply"), Timeout, "TimeoutError"},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), Timeout, "TimeoutError"},
		{"os deadline", fmt.Errorf("x: %w", os.ErrDeadlineExceeded), Timeout, "TimeoutError"},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), Cancelled, "InterruptedError"},
		{"kind wins over context", Errorf(Refused, "stopped: %w", context.Canceled), Refused, "PermissionError"},
		{"internal", Errorf(Internal, "result cannot be sent"), Internal, "RuntimeError"},
		{"code error", &CodeError{Type: "ConnectionError", Cause: NewError(Offline, errOwn)}, Offline, "ConnectionError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KindOf(tt.err); got != tt.kind {
				t.Errorf("KindOf = %s, want %s", got, tt.kind)
			}
			if got := Exception(tt.err); got != tt.exc {
				t.Errorf("Exception = %s, want %s", got, tt.exc)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	errOwn := errors.New("gripper jammed")
	err := fmt.Errorf("arm.grip: %w", Errorf(Refused, "refused: %w", errOwn))
	if !errors.Is(err, Refused) || !errors.Is(err, errOwn) || errors.Is(err, Offline) {
		t.Errorf("errors.Is: Refused %v, cause %v, Offline %v", errors.Is(err, Refused), errors.Is(err, errOwn), errors.Is(err, Offline))
	}
	if err.Error() != "arm.grip: refused: gripper jammed" {
		t.Errorf("message: %q", err)
	}
	// Two sentinels of one kind stay apart.
	a, b := NewError(Offline, errors.New("a")), NewError(Offline, errors.New("b"))
	if errors.Is(a, b) || !errors.Is(a, a) || !errors.Is(a, Offline) {
		t.Error("sentinels of one kind are confused")
	}
	if NewError(Offline, nil) != nil {
		t.Error("NewError(k, nil) is not nil")
	}
	if !errors.Is(&ArgError{Value: true}, ArgValue) || errors.Is(&ArgError{}, ArgValue) || !errors.Is(&NotFoundError{}, NotFound) {
		t.Error("ArgError or NotFoundError does not match its kind")
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range Kinds() {
		got, ok := ParseKind(k.String())
		if !ok || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, ok)
		}
		if k.Exception() == "" || k.Doc() == "" || fmt.Sprint(k) != k.String() {
			t.Errorf("kind %d: exception %q, doc %q, printed %q", k, k.Exception(), k.Doc(), fmt.Sprint(k))
		}
	}
	if _, ok := ParseKind("nonsense"); ok {
		t.Error("ParseKind accepted nonsense")
	}
	if Kind(200).Exception() != "RuntimeError" {
		t.Error("an unknown kind is not a RuntimeError")
	}
}
