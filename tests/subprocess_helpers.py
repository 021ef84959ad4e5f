"""Running Python in a child process against the lrcore under test (``tests/`` is on
``sys.path``, so the tests ``import subprocess_helpers``).

- :func:`lrcore_env`: the environment for the child, with the lrcore under test
  (installed, or an in-place build) first on ``PYTHONPATH``;
- :func:`interrupt_when_ready`: run a script that prints ``READY`` once it is set up,
  send it SIGINT a moment later, and time how long it takes to exit.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import lrcore


def lrcore_env():
    """A copy of ``os.environ`` whose ``PYTHONPATH`` starts with the folder holding the
    lrcore package under test, so a child Python started elsewhere imports the same one."""
    env = dict(os.environ)
    pkg_parent = os.path.dirname(os.path.dirname(lrcore.__file__))
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent, env.get("PYTHONPATH", "")])
    return env


def interrupt_when_ready(script, *, delay=0.5, timeout=30):
    """Run ``python -c script``, wait until it prints ``READY``, send SIGINT ``delay``
    seconds later (the child must still be running then) and wait for it to exit.

    Returns ``(stdout after READY, stderr, returncode, seconds from SIGINT to exit)``.  The
    child starts in a neutral directory: ``python -c`` puts the working directory first on
    ``sys.path``, and a source checkout there (without the built extension) would shadow
    lrcore.  A child still running when this returns or raises is killed.
    """
    proc = subprocess.Popen([sys.executable, "-c", script], env=lrcore_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tempfile.gettempdir())
    try:
        line = proc.stdout.readline()           # blocks until the child is set up
        assert line.strip() == "READY", line + proc.stderr.read()
        time.sleep(delay)                        # well inside the long loop by now
        assert proc.poll() is None, "the child finished before the signal"
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=timeout)
        elapsed = time.perf_counter() - t0
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out, err, proc.returncode, elapsed
