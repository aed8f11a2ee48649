"""Side-by-side round trip of a trivial action in the executors CodeAct-style
agents use, measured in one run: a Jupyter kernel (jupyter_client +
ipykernel, the executor MINT and the original CodeAct used), smolagents'
LocalPythonExecutor (in process), and `python3 -c` per action. gantry's own
figure comes from `go test -bench BenchmarkTrivialAction ./bridge`, which
run.sh runs in the same invocation.

Usage: python3 bench/bridge/compare.py [N]
"""
import statistics
import subprocess
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
CODE = "x = 1 + 1; print(x)"


def med(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def jupyter():
    from jupyter_client.manager import start_new_kernel

    t = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3")
    start = time.perf_counter() - t
    try:
        kc.execute_interactive(CODE, output_hook=lambda m: None, timeout=30)

        def one():
            kc.execute_interactive(CODE, output_hook=lambda m: None, timeout=30)

        return med(one, N), start
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def smol():
    from smolagents.local_python_executor import LocalPythonExecutor

    ex = LocalPythonExecutor(additional_authorized_imports=[])
    ex.send_tools({})
    ex(CODE)
    return med(lambda: ex(CODE), N)


def per_process():
    return med(lambda: subprocess.run([sys.executable, "-c", CODE], capture_output=True, check=True), max(N // 10, 10))


for name, fn in [("jupyter kernel execute round trip", jupyter), ("smolagents LocalPythonExecutor", smol), ("python3 -c per action", per_process)]:
    try:
        r = fn()
        if isinstance(r, tuple):
            print("%-36s %9.1f µs   (kernel start %.0f ms)" % (name, r[0] * 1e6, r[1] * 1e3))
        else:
            print("%-36s %9.1f µs" % (name, r * 1e6))
    except Exception as e:  # a missing package is reported, not hidden
        print("%-36s unavailable: %s" % (name, e))
