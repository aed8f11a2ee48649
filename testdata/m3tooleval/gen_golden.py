"""Regenerates calc_golden.json and literal_golden.json with CPython.

    python3 gen_golden.py   (run in this folder; written with Python 3.11)

The calculator cases are eval() as the reference calculator runs it; the
literal cases are str(ast.literal_eval(text.strip())), or null when it raises.
"""
import ast
import json
import random

FIXED_CALC = [
    "2 + (3 * 4)", "7/2", "7//2", "-7//2", "7//-2", "-7//-2", "7%3", "-7%3", "7%-3", "-7%-3",
    "7.5%2", "-7.5%2", "7.5%-2", "-7.5//2", "7.5//-2", "0.0//1", "-0.0//1", "1//-1e300",
    "5 % 0", "5.0 % 0", "5 // 0", "5.0 / 0", "0/0", "2**-1", "0**-1", "0.0**-1", "(-8)**(1/3)",
    "(-2)**0.5", "(-2)**2.0", "(-2.0)**3", "2**0.5", "10**20", "10.0**20", "10**-20", "2**1000",
    "10.0**400", "1e308*10", "-1e308*10", "1e-320", "1e-320/10", "5e-324/2", "1e16", "1e15",
    "123456789012345678", "0.1+0.2", "1/3", "2/3", "10/4*2", "1.1*3", "100 * 1.05 ** 3",
    "1.05**3", "1.1**10", "0.9**20", "3**40", "1.0000001**64", "2**64", "-2**64", "-2**2", "(-2)**2",
    "2**-2**2", "2**3**2", "~5", "~-1", "5&3", "5|3", "5^3", "1<<10", "1024>>3", "-1>>3",
    "1<<-1", "True+True", "True/2", "3*True", "round(2.675, 2)", "round(2.5)", "round(3.5)",
    "round(-2.5)", "round(0.125, 2)", "round(1234.5678, -2)", "round(1234, -2)", "round(1250, -2)",
    "round(1350, -2)", "round(-1250, -2)", "round(2.5, 0)", "round(1e300, 2)", "round(1.23456789, 4)",
    "round(5)", "round(float('inf'))", "round(float('nan'))", "round(0.5)", "round(1.5)",
    "abs(-3)", "abs(-3.5)", "abs(3+4j)", "max(1, 2)", "max(1, 2.0)", "max(2, 2.0)", "min(2.0, 2)",
    "max([1, 5, 3])", "min((4, 2, 8))", "max([])", "max([], default=0)", "min('abc')",
    "max(1, 'a')", "sum([1, 2, 3])", "sum([0.1]*10)", "sum([1, 2], 10)", "sum((1.5, 2.5))",
    "int('5')", "int(' 42 ')", "int('1_000')", "int('3.5')", "int(3.99)", "int(-3.99)",
    "float('1e3')", "float('inf')", "float('-nan')", "float(' 2.5 ')", "float('abc')", "int()",
    "pow(2, 10)", "pow(2, -1)", "pow(2.0, 0.5)", "divmod(7, 2)", "divmod(-7, 2)", "divmod(7.5, 2)",
    "1_000 + 1", "1,2", "(1,)", "()", "[1, 2] + [3]", "(1, 2) * 2", "'ab' * 3", "'a' + 'b'",
    "'a' + 1", "1 + 'a'", "[1] * 2", "3 * (4 + 5", "abc", "import os", "", " 8 / 4 ",
    "__import__('os')", "open('x')", "print(1)", "len('abc')", "lambda: 1", "[x for x in (1,2)]",
    "1 if 1 else 2", "1 < 2", "2 < 1", "1 < 2 < 3", "1 == 1.0", "1 != 1", "0.1 + 0.2 == 0.3",
    "(1+2j)*(3-4j)", "(1+2j)/(3-4j)", "1j**2", "(1+1j)**3", "(1+1j)**0.5", "2**(1j)", "1/0j",
    "3.0", "4.0", "-0.0", "0.0 * -1", "1e22", "1e21", "123e-7", "0.0001", "0.00001", "9.999999999999999e15",
    "0x1f + 0o17 + 0b11", "0x_ff", "1__0", "07", "00", "0.5e", "1e", ".5", "5.", "5.j", "1J",
    "12.5 * 4", "2*3.0", "9**0.5", "(1.1 + 2.2)", "-3 // 2", "1e3 * 2", "None", "True", "'x'",
    "\"quote's\"", "b'ab' + b'c'", "2 ** 100000", "10 ** 5000", "1 / 10**400", "10**400 / 1",
    "10**400 * 1.0", "float(10**400)", "(2**53 + 1) / 1", "(2**53 + 1) * 1.0", "2**53 + 1 == 2.0**53",
    "7 // 2.0", "-7 // 2.0", "7 % 2.5", "1e300 * 1e300 - 1e300 * 1e300", "5 - -3", "--5", "+-+5",
    "1 +", "* 2", "(1, 2", "[1, 2", "1 2", "1.2.3", "1..2", "max(1, key=abs)", "round(2.675, ndigits=2)",
    "sum([1, 2], start=5)", "abs('x')", "int('٣')", "float('١.٥')",
]

OPS = ["+", "-", "*", "/", "//", "%", "**"]


def rand_num(rng):
    k = rng.random()
    if k < 0.45:
        return str(rng.randint(-20, 200))
    if k < 0.8:
        return repr(round(rng.uniform(-100, 100), rng.randint(0, 4)))
    if k < 0.9:
        return str(rng.randint(0, 10**rng.randint(1, 30)))
    return rng.choice(["0", "0.0", "1", "-1", "2", "0.5", "1e10", "1e-5", "3j", "1.5e300"])


def rand_expr(rng, depth=0):
    if depth > 3 or rng.random() < 0.3:
        n = rand_num(rng)
        return "(" + n + ")" if n.startswith("-") and rng.random() < 0.5 else n
    op = rng.choice(OPS)
    left = rand_expr(rng, depth + 1)
    right = rand_expr(rng, depth + 1)
    if op == "**":
        right = str(rng.randint(-3, 5)) if rng.random() < 0.7 else repr(round(rng.uniform(-2, 3), 2))
        right = "(" + right + ")"
    if rng.random() < 0.3:
        return "(" + left + " " + op + " " + right + ")"
    if rng.random() < 0.1:
        return "-" + "(" + left + op + right + ")"
    return left + " " + op + " " + right


def calc(expr):
    try:
        v = eval(expr)
        s = repr(v)
        str(v)
        return s, type(v).__name__
    except BaseException:
        return repr("Failed to evaluate expression: " + expr), "str"


def main():
    rng = random.Random(14)
    exprs = list(FIXED_CALC)
    for _ in range(3000):
        exprs.append(rand_expr(rng))
    out = []
    for e in exprs:
        r, t = calc(e)
        out.append({"expression": e, "result": r, "type": t})
    with open("calc_golden.json", "w") as f:
        json.dump(out, f, indent=0, ensure_ascii=False)

    lits = [
        "1", "1.50", "'abc'", '"abc"', "(1, 2)", "[1, 2]", "{'a': 1}", "{1, 2}", "set()", "True", "None",
        "hello world", "1050\n", "  42  ", "-5", "+5", "--5", "-(5)", "-(-5)", "1+2j", "-1-2j", "1.5+0j",
        "2j+1", "1+2", "1+-2j", "(1+2j)", "[1+2j]", "-(1+2j)", "1+2j+3j", "...", "Ellipsis",
        "b'ab'", "b'\\xff'", "'a' 'b'", "'a' b'b'", "f'x'", "r'\\n'", "'\\n'", "'\\x41'", "'\\101'",
        "'\\u00e9'", "'\\N{BULLET}'", "'\\q'", "'''multi\nline'''", "'unterminated", "1,", "1, 2", "(1,)",
        "()", "[]", "{}", "{1: 2, 1.0: 3}", "{True: 1, 1: 2}", "{[1]: 2}", "{(1, [2]): 3}", "[1, 2,]",
        "[1,\n2]", "1\n2", "1 # comment", "# only", "", "1e400", "-1e400", "0x10", "0o17", "0b101",
        "1_000", "1__000", "07", "00", "0.0", "-0.0", "1e16", "1e-5", "123456789.123456789",
        "0.1", "3.3000000000000003", "[1.0, 2.50]", "{'T': 1, 'A': 2}", "('A', 3)", "[('A', 3)]",
        "x", "print(1)", "[1][0]", "1 if 1 else 0", "1 < 2", "not True", "{**{}}", "[*[]]",
        "{'a': 1, 'a': 2}", "{1, 1.0, True}", "{0, False}", "\"it's\"", "'say \"hi\"'",
        "'both \\' \"'", "'tab\\there'", "'\\x00'", "'é'", "'\\u200b'", "'\\U0001f600'",
        "[[[[1]]]]", "(((1)))", "-True", "+None", "1_0.5", "1.", ".5", "5j", "1e5j", "0j", "-0j",
        "(-0.0-0j)", "1.5e300*2", "[1, 2] + [3]", "'a' + 'b'", "set([1])", "frozenset()", "\\\n1",
        "1 \\\n", "(1\n,\n2)", "  1", "\t1", "1.5.", "[1 2]", "{1: }", "{:1}", "'''a'''", '"""b"""',
        "u'x'", "U'x'", "R'\\d'", "rb'\\d'", "Rb'x'", "bR'x'", "b'é'", "'\\\n'", "-0", "-0x10",
    ]
    rng = random.Random(15)

    def rand_value(d=0):
        k = rng.random()
        if d > 2 or k < 0.5:
            return rng.choice([
                rng.randint(-10**6, 10**6), rng.uniform(-1e6, 1e6), rng.random() * 1e-7,
                rng.choice(["abc", "it's", 'say "x"', "tab\t", "é", "\u2028", "", "A-B"]),
                True, False, None, complex(rng.randint(-5, 5), rng.randint(-5, 5)),
                b"by\x00tes", 10**rng.randint(15, 25), float(rng.randint(0, 10**17)),
            ])
        if k < 0.65:
            return [rand_value(d + 1) for _ in range(rng.randint(0, 3))]
        if k < 0.8:
            return tuple(rand_value(d + 1) for _ in range(rng.randint(0, 3)))
        if k < 0.9:
            return {rng.choice(["a", "b", 1, 2.5, (1, 2)]): rand_value(d + 1) for _ in range(rng.randint(0, 3))}
        return {rng.randint(0, 5) for _ in range(rng.randint(0, 3))}

    for _ in range(1500):
        lits.append(repr(rand_value()))
    out = []
    for text in lits:
        try:
            v = ast.literal_eval(text.strip())
            res = str(v)
            if isinstance(v, (set, frozenset)) or "{" in res and isinstance(v, (list, tuple, dict)) and any(isinstance(x, set) for x in (v if not isinstance(v, dict) else v.values())):
                res = None if len(v) > 1 and isinstance(v, set) else res
                if res is None:
                    out.append({"text": text, "str": None, "set": True})
                    continue
        except BaseException:
            res = None
        out.append({"text": text, "str": res})
    with open("literal_golden.json", "w") as f:
        json.dump(out, f, indent=0, ensure_ascii=False)


main()


def harness_golden():
    """prompts.json: every task's prompt in the three formats, built from
    tasks.json by the prompt layout README.md describes; json_errors.json:
    Python's json.loads error text for malformed actions; convert.json:
    int(s), else float(s), else s, for text arguments and answers."""
    tasks = json.load(open("../../m3tooleval/data/tasks.json"))
    heads = {
        "text": (
            "You can use the tools by outputing the tool name followed by its arguments, delimited by commas.\n"
            "You should begin your tool invocation with 'Action:' and end it with 'End Action'.\n"
            "Example: 'Action: tool_name, argument_1 End Action'\n"
            "You can only invoke one tool at a time.\n"
        ),
        "json": (
            "You can use the tools by outputing a JSON object with the following fields:\n"
            "  - 'tool': the name of the tool\n"
            "  - 'args': a list of arguments to the tool\n"
            "You should begin your tool invocation with 'Action:' and end it with 'End Action'.\n"
            "Example: 'Action: {\"tool\": \"tool_name\", \"args\": [\"argument_1\"]} End Action'\n"
            "You can only invoke one tool at a time.\n"
        ),
        "code": (
            "You can use the tools by outputing a block of Python code that invoke the tools.\n"
            "You may use for-loops, if-statements, and other Python constructs when necessary.\n"
            "Be sure to print the final answer at the end of your code.\n"
            "You should begin your tool invocation with 'Action:' and end it with 'End Action'.\n"
            "Example: 'Action:\ntool_name(argument_1)\nEnd Action'\n"
        ),
    }
    out = {}
    for t in tasks:
        tools = "You have access to the following tools:\n" + "".join(
            "[%d] %s: %s\n    Signature: %s\n" % (i + 1, tl["name"], tl["description"], tl["signature"])
            for i, tl in enumerate(t["tools"]))
        for fmt, head in heads.items():
            out[t["name"] + "|" + fmt] = (
                tools + "\n" + head + "\nNow, let's get started!\n\n" + "Instruction: " + t["instruction"]
                + "\nYou can optionally express your thoughts using natural language before your action. For example, 'Thought: I want to use tool_name to do something. Action: <your action to call tool_name> End Action'."
                + "\nNote that your output should always contain either 'Action:' or 'Answer:', but not both."
                + "\nWhen you are done, output the result using 'Answer: your answer'"
                + "\nPlease ONLY output the answer (e.g., single number), without any other text.")
    with open("prompts.json", "w") as f:
        json.dump(out, f, indent=0, ensure_ascii=False)

    bad = ['', ' ', '{', '}', '[', '[1,', '[1 2]', '{"tool": }', '{"tool" "x"}', "{'tool': 'x'}", '{"tool": "x",}',
           '[1,]', '{"a": 1} x', '"abc', '"a\\qb"', '"\\u12"', '"a\nb"', 'nul', 'tru', '-', '01', '1.', '.5',
           '{"tool": "x", "args": [1, 2}', '{"tool":\n "x"\n ,\n', '\n\n  {"a" 1}', 'NaN x', '[-Infinity, Infin]',
           '{"é": "ü", "x"}', '[1] [2]', '{"a": [1, {"b": }]}', '1e', '1e+', '-x', '"\\', '"\\u00e9\\ud83d\\ude00" 1']
    errs = []
    for b in bad:
        try:
            v = json.loads(b)
            errs.append({"text": b, "ok": True, "str": str(v)})
        except json.JSONDecodeError as e:
            errs.append({"text": b, "ok": False, "error": str(e)})
    good = ['{"tool": "view", "args": []}', '{"tool": "x", "args": [1, 2.0, 1e5, -0.0, "s", true, null, [1], {"k": 1}]}',
            '  {"args": 5, "tool": "a", "tool": "b"}  ', '[NaN, Infinity, -Infinity]', '123456789012345678901234567890',
            '"\\u00e9\\ud83d\\ude00"', '{"a": {"b": {"c": []}}}', '0', '-0', '1E2', '1.5e-3']
    for g in good:
        errs.append({"text": g, "ok": True, "str": str(json.loads(g))})
    with open("json_errors.json", "w") as f:
        json.dump(errs, f, indent=0, ensure_ascii=False)

    def conv(s):
        try:
            return int(s)
        except ValueError:
            try:
                return float(s)
            except ValueError:
                return s
    texts = ["1", " 1 ", "-1", "+1", "1_000", "1__0", "_1", "1.5", "1.", ".5", "1e3", "1E-3", "inf", "-Infinity",
             "nan", "NaN", "1_0.5", "0x10", "010", "00", "1 2", "", "abc", "1.5.2", "٣", "١.٥", "１２", "\u20071",
             "1e400", "-0.0", "12345678901234567890", "3.0", "2023-12-25", "\"A\"", "True", "None", "1j", "e5", "1e", "+-1",
             "1_", "1._5", "1.5_0", "0_0", "٣_٣"]
    with open("convert.json", "w") as f:
        json.dump([{"text": t, "repr": repr(conv(t)), "type": type(conv(t)).__name__} for t in texts], f, indent=0, ensure_ascii=False)


harness_golden()
