"""Count the results of cloudpickle's suite run against brined.cloud.

    python classify.py JUNIT_XML TESTS_DIR

A test is *not counted* when its source reaches into cloudpickle's private
module (``cloudpickle.cloudpickle`` or one of the private helpers the suite
imports from it), or when it is test_backward_compat (pickles written by
cloudpickle name cloudpickle's private reconstructors).
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PRIVATE = (
    "cloudpickle.cloudpickle",
    "_should_pickle_by_reference",
    "_make_empty_cell",
    "_extract_class_dict",
    "_whichmodule",
    "_lookup_module_and_qualname",
    "_extract_code_globals",
)


def private_tests(tests_dir: Path) -> set[str]:
    found: set[str] = set()
    for path in tests_dir.glob("*.py"):
        source = path.read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
                text = ast.get_source_segment(source, node) or ""
                if any(name in text for name in PRIVATE):
                    found.add(node.name)
    return found


def main() -> None:
    junit, tests_dir = Path(sys.argv[1]), Path(sys.argv[2])
    private = private_tests(tests_dir)
    counts = {"passed": 0, "failed": 0, "skipped": 0, "not counted": 0}
    lines: list[str] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        full = f"{case.get('classname')}::{name}"
        base = name.split("[")[0]
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        if base in private or "test_backward_compat" in (case.get("classname") or ""):
            counts["not counted"] += 1
            lines.append(f"not counted ({outcome}): {full}")
            continue
        counts[outcome] += 1
        if outcome == "failed":
            lines.append(f"FAILED: {full}")
    for line in sorted(lines):
        print(line)
    print(", ".join(f"{v} {k}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
