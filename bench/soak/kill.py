# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Soak: SIGKILL the scenario module at random moments PF_KILLS times (default 50), the procedure of
test_sigkill_at_random_moments_the_reaper_restores_the_host; print how many runs the reaper restored cleanly.

Run as root from the repository with the test environment (PYTHONPATH at the venv's collections):
    PYTHONPATH=.venv/collections .venv/bin/python bench/soak/kill.py
Takes /tmp/pf-engine.lock itself unless PF_ENGINE_LOCKED=1.
"""

import fcntl
import os
import pathlib
import random
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration", "scenarios"))

from conftest import snapshot  # noqa: E402
from test_scenarios import new_run_id, settled, start_killable  # noqa: E402

SCENARIOS = ["cross_network", "external_to_published", "none_network", "published_port"]


def soak(kills, seed):
    chance = random.Random(seed)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="pf-soak-"))
    before = snapshot()
    clean = 0
    for kill in range(kills):
        scenario = chance.choice(SCENARIOS)
        delay = chance.uniform(0.0, 2.5)
        proc = start_killable(new_run_id(), workdir, scenario=scenario, count=2)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        left = settled(before)
        clean += left is None
        print("kill %2d %-22s after %.2fs: %s" % (kill + 1, scenario, delay, "clean" if left is None else left),
              flush=True)
        if left is not None:
            before = snapshot()
    return clean


def main():
    kills = int(os.environ.get("PF_KILLS", "50"))
    seed = os.environ.get("PF_KILL_SEED", str(int(time.time())))
    if os.environ.get("PF_ENGINE_LOCKED") != "1":
        lock = os.open("/tmp/pf-engine.lock", os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(lock, fcntl.LOCK_EX)
    started = time.time()
    clean = soak(kills, seed)
    print("%d of %d kills restored cleanly (seed %s, %.0fs)" % (clean, kills, seed, time.time() - started))
    return 0 if clean == kills else 1


if __name__ == "__main__":
    sys.exit(main())
