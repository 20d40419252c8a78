"""Run one command, time it and sample the memory of its whole process tree.

    python -S benchmarks/sampler.py TIMEOUT PERIOD COMMAND...   (or python -m benchmarks.sampler)

The small launcher between the bench and each measured command. On Linux a child's
``ru_maxrss`` includes the memory high-water of the process it was forked from (exec
keeps it), so forking the command straight from the (large) bench process would report
at least the bench's own RSS. This is a bare interpreter (≈ 10 MiB, standard library
only: :func:`benchmarks.measure.run_child` starts it with ``-S``, by path); it times its
only child and prints one JSON line:

- ``mem``, the figure the tables give as peak memory: the peak physical memory of the
  **process tree** (the command and every process under it, e.g. the pool workers of
  ``-j 2``): the sum of their ``Pss`` (``/proc/PID/smaps_rollup``: pages shared after a
  fork split between the processes sharing them), or ``rss_single`` if higher. Reading
  ``Pss`` makes the kernel walk each process's page tables (~50 ms per GB), so it is
  sampled only as often as keeps that under 2 % of one core (every ``PERIOD`` s for small
  processes, every few seconds for GB-sized ones; ``pss_samples`` counts the samples): a
  peak shorter than that can be missed;
- ``rss``: the peak of the tree's summed ``VmRSS`` (cheap: every ``PERIOD`` s), or
  ``rss_single`` if higher: a page shared by a forked worker and its parent counts once
  per process, so this over-counts physical memory;
- ``pss``: the sampled peak of the summed ``Pss`` alone;
- ``rss_single``: ``ru_maxrss`` from ``os.wait4``: the largest peak of any one process of
  the tree (exact, but blind to the sum);
- ``rss_upper``: the sum of every process's own peak (``VmHWM``), an upper bound of ``rss``;
- ``cpu``: user + system seconds of the whole tree (reaped workers included);
- ``seconds``, ``rc`` (the command's exit code), ``cut``, ``procs``, ``samples_period``.

It runs the command in a session of its own, and kills that session (the command and
its workers) after ``TIMEOUT`` seconds or when the launcher is told to stop.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

#: Largest share of one core spent reading ``Pss`` (a page-table walk in the kernel).
PSS_SHARE = 0.02


def field(pid: int, name: str, key: bytes):
    """One ``kB`` field of ``/proc/PID/NAME`` in bytes, or None (the process may be gone)."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def tree(root: int) -> list:
    """``root`` and every process under it, from the parent ids in ``/proc/*/stat``."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", "rb") as f:
                    s = f.read()
            except OSError:
                continue
            children.setdefault(int(s[s.rindex(b")") + 2:].split()[1]), []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


class Sampler:
    """The peaks of one process tree, sampled by a thread until :meth:`stop`."""

    def __init__(self, proc, timeout: float, period: float, t0: float):
        self.proc, self.timeout, self.period, self.t0 = proc, timeout, period, t0
        self.peak = {"rss": 0, "pss": 0, "procs": 0, "pss_samples": 0}
        self.hwm, self.cut = {}, False
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass

    def sample_once(self, pids: list) -> None:
        rss = 0
        for pid in pids:
            r = field(pid, "status", b"VmRSS:")
            h = field(pid, "status", b"VmHWM:")
            rss += r or 0
            if h:
                self.hwm[pid] = h
        self.peak["rss"] = max(self.peak["rss"], rss)
        self.peak["procs"] = max(self.peak["procs"], len(pids))

    def run(self) -> None:
        n, next_pss = 0, 0.0
        while not self.done.wait(0 if n == 0 else self.period):
            if time.perf_counter() - self.t0 > self.timeout:
                self.cut = True
                self.kill()
                return
            pids = tree(self.proc.pid)
            self.sample_once(pids)
            if time.perf_counter() >= next_pss:
                # PSS costs the kernel a walk of each process's page tables (~50 ms for 1 GB of small
                # pages): read it only as often as keeps that under PSS_SHARE of one core
                c0 = time.perf_counter()
                pss = sum(field(pid, "smaps_rollup", b"Pss:") or 0 for pid in pids)
                self.peak["pss"] = max(self.peak["pss"], pss)
                self.peak["pss_samples"] += 1
                next_pss = time.perf_counter() + (time.perf_counter() - c0) / PSS_SHARE
            n += 1

    def stop(self) -> None:
        self.done.set()
        self.thread.join()


def main(argv: list) -> int:
    timeout, period, cmd = float(argv[0]), float(argv[1]), argv[2:]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True)
    sampler = Sampler(proc, timeout, period, t0)

    def stopped(signum, frame):
        sampler.kill()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    sampler.thread.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    sampler.stop()
    peak, single = sampler.peak, usage.ru_maxrss * 1024
    sampler.hwm[proc.pid] = max(sampler.hwm.get(proc.pid, 0), single)
    print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                      "rc": os.waitstatus_to_exitcode(status), "cut": sampler.cut,
                      "mem": max(peak["pss"], single), "rss": max(peak["rss"], single), "rss_single": single,
                      "pss": peak["pss"], "rss_upper": sum(sampler.hwm.values()), "procs": peak["procs"],
                      "samples_period": period, "pss_samples": peak["pss_samples"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
