// Package kindtest holds the test that a tool's failure reads the same in
// every place model-written code or a model's action meets it: the
// Starlark sandbox in process and in its isolated worker, the Python
// bridge, and the agent's JSON actions. Each failure of a kind (tool.Kind)
// must raise the exception the kind names, with the tool's message, and
// keep the Go error for errors.Is. The package has no code of its own.
package kindtest
