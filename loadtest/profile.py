"""py-spy over a benchmarked pod's measured window, and a summary of where its time went.

    python -m loadtest.bench --rs 100 --targets single --profile single:100 --no-write

records `<logs>/profile/py-spy.txt` (collapsed stacks) while the window runs;
`python -m loadtest.profile FILE [TOP]` prints the functions with the most samples, on their
own (self) and with what they call (inclusive).
py-spy samples from outside the process (`--nonblocking`: it never pauses the pod); it
takes CPU from the same 2 cores, so profiled runs are not the figures we report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

RATE = 250  # samples per second
TOP = 25


def start_py_spy(pid: int, delay: float, duration: float, out: Path) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.mkdir(parents=True, exist_ok=True)
    record = [
        spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(duration)),
        "--rate",
        str(RATE),
        "--nonblocking",
        "--format",
        "raw",
        "-o",
        str(out / "py-spy.txt"),
    ]
    # Start when the measured window does: sleep first, in the child.
    argv = ["sh", "-c", f'sleep {delay}; exec "$@"', "py-spy", *record]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish_py_spy(proc: subprocess.Popen[bytes]) -> None:
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def summarize(path: Path, top: int = TOP) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples", "", "self:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines += ["", "inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(lines)


def _short(frame: str) -> str:
    """`func (path/to/module.py:123)` → `func (module.py)`: lines apart, one function."""
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":", 1)[0].rstrip(")")
    return f"{name} ({module})" if module else name


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else TOP))
