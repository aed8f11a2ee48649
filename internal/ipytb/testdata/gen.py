"""Runs cells in IPython 8 (colours off, as MINT's PythonREPL did) and
records, for every cell that raised, the exception, its frames in the
cells and what IPython printed."""
import json, sys, inspect, re
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils import io

def nullrepr(value, repr=None): return ""

cases = json.load(open(sys.argv[1]))
out = []
for case in cases:
    InteractiveShell.clear_instance()
    sh = InteractiveShell.instance(user_ns={}, colors="NoColor")
    results = []
    for c in case["cells"]:
        sh.last_exc = None
        with io.capture_output() as cap:
            r = sh.run_cell(c, store_history=True)
        ex = r.error_in_exec or r.error_before_exec
        rec = {"stdout": cap.stdout}
        if ex is not None and not isinstance(ex, SyntaxError):
            frames = []
            tb = ex.__traceback__
            while tb is not None:
                f = tb.tb_frame
                m = re.match(r"<ipython-input-(\d+)-", f.f_code.co_filename) or re.search(r"ipykernel_\d+/\d+\.py", f.f_code.co_filename)
                cellname = sh.compile.format_code_name(f.f_code.co_filename)
                if cellname:
                    cell = int(cellname[1].strip("[]").split("]")[0].lstrip("In["))
                    name = f.f_code.co_name
                    args = ""
                    if name != "<module>":
                        a, va, kw, loc = inspect.getargvalues(f)
                        args = inspect.formatargvalues(a, va, kw, loc, formatvalue=nullrepr)
                    frames.append({"cell": cell, "line": tb.tb_lineno, "func": name, "args": args})
                tb = tb.tb_next
            rec.update({"type": type(ex).__name__, "message": str(ex), "frames": frames})
        results.append(rec)
    out.append({"name": case["name"], "cells": case["cells"], "results": results})
json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
