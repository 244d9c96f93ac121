"""`pybp info`: what this installation is (version, backends, the C
build, Python and the machine), as text or as JSON.

info() returns the facts as a dict; the C backend's facts come from
pybp.backends.c_facts().
"""

import platform
from typing import Any, Dict

from .. import __version__, backends
from .common import json_line, say


def _cpu_model():
    """The CPU's model name from /proc/cpuinfo (Linux), else None."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    for key in ("model name", "Model", "cpu model", "Hardware", "Processor", "cpu"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return None


def info():
    """The facts `pybp info` prints, as a dict."""
    facts: Dict[str, Any] = {
        "pybp": __version__,
        "default_backend": backends.DEFAULT,
        "available_backends": backends.available(),
        "dtypes": (["float64", "float32"] if "c" in backends.available()
                   else ["float64"]),
        "requested_backend": backends.REQUESTED,
    }
    facts.update(backends.c_facts())
    facts.update({
        "python": (f"{platform.python_implementation()} "
                   f"{platform.python_version()}"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu": _cpu_model(),
    })
    return facts


def cmd_info(args, out, err):
    facts = info()
    if args.json:
        say(out, json_line(facts))
        return 0
    rows = [
        ("pybp version", facts["pybp"]),
        ("default backend", facts["default_backend"]
         + ("" if facts["requested_backend"] == "auto"
            else f" (PYBP_BACKEND={facts['requested_backend']})")),
        ("available backends", ", ".join(facts["available_backends"])),
        ("element types", ", ".join(facts["dtypes"])
         + ("" if "float32" in facts["dtypes"] else " (float32 needs the C backend)")),
    ]
    if facts["c_unavailable"]:
        rows.append(("C backend", "unavailable: " + facts["c_unavailable"]))
    else:
        rows.append(("C library", facts["c_version"] or "unknown"))
        rows.append(("C compiler", facts["c_compiler"] or "unknown"))
        if facts["c_isa"]:
            supported = ", ".join(facts["c_isa_supported"] or [])
            rows.append(("instruction set",
                         f"{facts['c_isa']} (this CPU and build: {supported})"))
    rows.append(("C compile flags", " ".join(facts["c_flags"])
                 if facts["c_flags"] is not None else "unknown"))
    if facts["c_note"]:
        rows.append(("note", facts["c_note"]))
    rows += [("python", facts["python"]), ("platform", facts["platform"]),
             ("machine", facts["machine"]),
             ("processor", facts["processor"] or "unknown"),
             ("cpu", facts["cpu"] or "unknown")]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        say(out, f"{key + ':':<{width + 1}}  {value}")
    return 0
