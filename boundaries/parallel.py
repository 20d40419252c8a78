"""Run independent tasks in a process pool, with a progress bar, whatever order they finish in."""

from __future__ import annotations

import contextlib


def run_tasks(func, tasks: list, jobs: int = 1, progress=None, already_done: int = 0):
    """Yield ``func(*task)`` for each task, as it finishes: in ``jobs`` processes when > 1.

    Results come back in completion order; callers put them back in their own
    order, so the output never depends on ``jobs``.

    Parameters
    ----------
    func : callable
        A module-level function (it runs in forked worker processes).
    tasks : list of tuple
        The arguments of each call.
    jobs : int
        Worker processes; 1 runs the tasks here, in order.
    progress : callable, optional
        ``progress(total)`` returns a context manager with ``update(n)``.
    already_done : int
        Units of work settled before these tasks, counted in the bar's total.
    """
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(progress(already_done + len(tasks))) if progress else None
        if bar is not None and already_done:
            bar.update(already_done)
        if jobs > 1 and len(tasks) > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed

            pool = stack.enter_context(ProcessPoolExecutor(
                max_workers=min(jobs, len(tasks)), mp_context=multiprocessing.get_context("fork")))
            results = (f.result() for f in as_completed([pool.submit(func, *t) for t in tasks]))
        else:
            results = (func(*t) for t in tasks)
        for result in results:
            if bar is not None:
                bar.update(1)
            yield result
