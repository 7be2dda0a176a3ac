#!/usr/bin/python3
"""Renders every chat template in shared/templates with Python jinja2, the way
HF transformers' apply_chat_template does, and writes the expected outputs to
tests/fixtures/templates/<template>.json for tests/test_chat_template.cpp.

Environment replicated from transformers (utils/chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
extensions=[loopcontrols]), a tojson filter that is json.dumps with
ensure_ascii=False and no key sorting, raise_exception() and strftime_now()
(pinned here to 26 Jul 2024 so fixtures are reproducible).

Usage: /usr/bin/python3 scripts/gen_template_fixtures.py [shared_dir]
"""
import copy
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

FIXED_NOW = datetime.datetime(2024, 7, 26, 10, 30, 0)


class RaisedByTemplate(jinja2.exceptions.TemplateError):
    pass


def make_env():
    def raise_exception(message):
        raise RaisedByTemplate(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return FIXED_NOW.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a location",
            "parameters": {
                "type": "object",
                "properties": {
                    "location": {"type": "string", "description": "City name, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
                    "days": {"type": "array", "items": {"type": "integer"}, "description": "Forecast days"},
                },
                "required": ["location"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the web for <html> & 'quoted' \"text\"",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "The query"},
                    "limit": {"type": ["integer", "string"], "description": "Max results", "default": 5, "minimum": 1},
                },
                "required": ["query"],
            },
        },
    },
]

SPECIAL = "Tell me about <b>tags</b> & \"quotes\" 'single' — café 日本語\n  indented line\t tab  "


def conversations():
    sys_msg = {"role": "system", "content": "You are a helpful assistant.\n"}
    u1 = {"role": "user", "content": "Hello! How are you?"}
    a1 = {"role": "assistant", "content": "  I'm fine, thanks. How can I help?  "}
    u2 = {"role": "user", "content": SPECIAL}
    a2 = {"role": "assistant", "content": "<think>hidden reasoning</think>Here you go: {\"a\": 1}"}
    base = {"bos_token": "<s>", "eos_token": "</s>"}

    cases = []

    def add(name, messages, agp, **extra):
        ctx = {"messages": copy.deepcopy(messages), "add_generation_prompt": agp}
        ctx.update(base)
        ctx.update(copy.deepcopy(extra))
        cases.append((name, ctx))

    add("system_user_gen", [sys_msg, u1], True)
    add("multi_turn_gen", [u1, a1, u2], True)
    add("multi_turn_assistant_end", [u1, a1, u2, a2], False)
    add("system_multi_turn_no_gen", [sys_msg, u1, a1, u2, a2], False)
    add("single_user_no_gen", [u2], False)
    add("bad_alternation", [u1, u2], True)

    call_dict = {
        "id": "call12345",
        "type": "function",
        "function": {"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}},
    }
    call_str = copy.deepcopy(call_dict)
    call_str["function"]["arguments"] = json.dumps(call_dict["function"]["arguments"])
    tool_result = {"role": "tool", "tool_call_id": "call12345", "name": "get_weather",
                   "content": "{\"temperature\": 22, \"condition\": \"sunny\"}"}
    tail = [{"role": "assistant", "content": "It is 22°C and sunny in Paris."}, {"role": "user", "content": "Thanks!"}]
    q = {"role": "user", "content": "What's the weather in Paris?"}
    add("tools_dict_args", [sys_msg, q, {"role": "assistant", "content": "", "tool_calls": [call_dict]}, tool_result] + tail,
        True, tools=TOOLS)
    add("tools_string_args", [q, {"role": "assistant", "content": None, "tool_calls": [call_str]}, tool_result] + tail,
        True, tools=TOOLS)
    add("tools_no_calls", [sys_msg, q], True, tools=TOOLS)
    return cases


def extra_vars_for(template_name):
    # firefunction reads `functions` and `datetime` instead of `tools`.
    if "firefunction" in template_name:
        return {"functions": json.dumps([t["function"] for t in TOOLS], indent=2), "datetime": "2024-07-26"}
    return {}


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shared = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("LOOKAHEAD_SHARED_DIR", os.path.join(root, "..", "shared"))
    tdir = os.path.join(shared, "templates")
    out_dir = os.path.join(root, "tests", "fixtures", "templates")
    os.makedirs(out_dir, exist_ok=True)
    env = make_env()
    for fname in sorted(os.listdir(tdir)):
        if not fname.endswith(".jinja"):
            continue
        name = fname[: -len(".jinja")]
        with open(os.path.join(tdir, fname), encoding="utf-8") as f:
            source = f.read()
        template = env.from_string(source)
        cases = []
        for case_name, ctx in conversations():
            ctx = dict(ctx)
            ctx.update(extra_vars_for(name))
            entry = {"name": case_name, "context": ctx}
            try:
                entry["expected"] = template.render(**copy.deepcopy(ctx))
            except RaisedByTemplate as e:
                entry["error"] = str(e)
                entry["raised"] = True
            except Exception as e:  # noqa: BLE001 - any template failure is an expected error
                entry["error"] = f"{type(e).__name__}: {e}"
                entry["raised"] = False
            cases.append(entry)
        with open(os.path.join(out_dir, name + ".json"), "w", encoding="utf-8") as f:
            json.dump({"template": fname, "jinja2_version": jinja2.__version__, "cases": cases}, f,
                      ensure_ascii=False, indent=1)
            f.write("\n")
        summary = ", ".join(c["name"] + ("!" if "error" in c else "") for c in cases)
        print(f"{name}: {summary}")


if __name__ == "__main__":
    main()
