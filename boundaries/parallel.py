"""Run independent tasks in a process pool or on a Dask cluster, with a progress bar, whatever order they finish in.

Dask is imported only when a scheduler is asked for (``pip install 'boundaries[cluster]'``).
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import socket
import time

from .errors import InputError, option

#: Seconds to wait for a Dask scheduler before giving up.
CONNECT_TIMEOUT = 10

#: A scheduler address: an optional protocol, a host (a name, an IPv4 address or a bracketed
#: IPv6 one) and a port; ``local`` is the other accepted value.
_ADDRESS_RE = re.compile(r"^(?:(?P<protocol>tcp|tls|ws|wss)://)?"
                         r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
                         r":(?P<port>[0-9]{1,5})$")

#: Clients opened by :func:`connect` in this process, by the scheduler they were asked for.
_OPEN: dict = {}

#: Process pools of :func:`run_tasks` open in this process (what :func:`stop_workers` stops).
_POOLS: set = set()

#: Seconds a worker told to stop (SIGTERM) has before it is killed.
STOP_GRACE_S = 5.0

# Task arguments of these types are sent with each task; any other argument every
# task shares (the same object) is sent to the cluster once.
_SMALL = (str, bytes, int, float, bool, type(None))


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InputError(f"{option('scheduler')} needs Dask's distributed scheduler: pip install 'boundaries[cluster]'") from None
    return distributed


def check_scheduler(scheduler: str) -> tuple[str, str, int] | None:
    """Refuse a malformed scheduler address at once; ``(protocol, host, port)``, or None for ``local``.

    Raises
    ------
    InputError
        Not ``local`` nor ``[protocol://]host:port`` with a port from 1 to 65535.
    """
    if scheduler == "local":
        return None
    found = _ADDRESS_RE.match(scheduler) if isinstance(scheduler, str) else None
    if found is None or not 0 < int(found["port"]) < 65536:
        shown = ascii(scheduler) if isinstance(scheduler, str) else type(scheduler).__name__
        raise InputError(f"{option('scheduler')} {shown} is not a Dask scheduler address: give "
                         "tcp://host:port (port 1 to 65535, e.g. tcp://127.0.0.1:8786) or 'local'")
    return found["protocol"] or "tcp", found["host"].strip("[]"), int(found["port"])


def _probe(scheduler: str, host: str, port: int) -> None:
    """Wait up to :data:`CONNECT_TIMEOUT` s for a scheduler's first bytes on a plain TCP connection.

    A Dask scheduler speaks first (its handshake): a port that accepts connections
    and stays silent would otherwise hang the client for ever. A refused connection
    is tried again until the time is up (the scheduler may be starting).
    """
    deadline = time.monotonic() + CONNECT_TIMEOUT
    problem = "no answer"
    while (left := deadline - time.monotonic()) > 0:
        try:
            with socket.create_connection((host, port), timeout=left) as sock:
                sock.settimeout(max(deadline - time.monotonic(), 0.01))
                if sock.recv(1):
                    return
                problem = "the connection was closed without a Dask handshake"
                break
        except ConnectionRefusedError:
            problem = "connection refused"
            time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))
        except TimeoutError:
            problem = f"accepted the connection but sent nothing in {CONNECT_TIMEOUT} s"
            break
        except OSError as exc:
            problem = f"{type(exc).__name__}: {exc}"
            break
    raise InputError(f"cannot reach the Dask scheduler at {ascii(scheduler)} ({problem}); start it, "
                     f"or check {option('scheduler')}")


@contextlib.contextmanager
def connect(scheduler: str, jobs: int = 1):
    """A Dask client on ``scheduler`` for the duration, reused by nested calls.

    Parameters
    ----------
    scheduler : str
        The scheduler's address (``tcp://host:8786``), or ``"local"``: a
        ``LocalCluster`` of ``jobs`` single-threaded worker processes, started here
        and stopped on exit.
    jobs : int
        Workers of the ``"local"`` cluster; unused with an address (the cluster
        has its own workers).

    Yields
    ------
    distributed.Client
        While the block runs, :func:`run_tasks` with the same ``scheduler`` uses this
        client instead of opening another.

    Raises
    ------
    InputError
        ``distributed`` is not installed, the address is malformed
        (:func:`check_scheduler`), or the scheduler did not answer within
        :data:`CONNECT_TIMEOUT` seconds.
    """
    if scheduler in _OPEN:
        yield _OPEN[scheduler]
        return
    where = check_scheduler(scheduler)
    distributed = _distributed()
    if where is not None and where[0] == "tcp":  # TLS and websockets wait for the client to speak
        _probe(scheduler, where[1], where[2])
    with contextlib.ExitStack() as stack:
        if scheduler == "local":
            # any free port for its web server (8787 may be taken); workers' messages (warnings on
            # cancelling the rest after an error; on a loaded machine, a heartbeat missed while the
            # cluster closes, logged as an ERROR with a traceback) would clutter stderr: a task's
            # failure reaches us as its exception, not through these logs
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=max(1, jobs), threads_per_worker=1, processes=True, dashboard_address=":0",
                silence_logs=logging.CRITICAL))
            target = cluster
        else:
            target = scheduler
        try:
            client = distributed.Client(target, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, ValueError, TypeError) as exc:  # TimeoutError is an OSError
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} ({type(exc).__name__}: {exc}); "
                             f"start it, or check {option('scheduler')}") from None
        stack.enter_context(client)
        _OPEN[scheduler] = client
        stack.callback(_OPEN.pop, scheduler, None)
        yield client


def run_tasks(func, tasks: list, jobs: int = 1, progress=None, already_done: int = 0, scheduler: str | None = None,
              weights: list[int] | None = None):
    """Yield ``func(*task)`` for each task, as it finishes: in ``jobs`` processes when > 1, or on a Dask cluster.

    Results come back in completion order; callers put them back in their own
    order, so the output never depends on ``jobs`` or ``scheduler``.

    Parameters
    ----------
    func : callable
        A module-level function (it runs in forked worker processes, or in Dask
        workers, which import it by name: they need ``boundaries`` installed).
    tasks : list of tuple
        The arguments of each call, in the order they should start (largest first).
    jobs : int
        Worker processes; 1 runs the tasks here, in order. With ``scheduler="local"``,
        the workers of the local cluster.
    progress : callable, optional
        ``progress(total)`` returns a context manager with ``update(n)``.
    already_done : int
        Units of work settled before these tasks, counted in the bar's total.
    weights : list of int, optional
        Units of work of each task (default 1 each): the bar advances by a task's
        weight when it finishes (e.g. a département's communes).
    scheduler : str, optional
        A Dask scheduler address (``tcp://host:8786``) or ``"local"`` (see
        :func:`connect`): each task becomes one Dask future, submitted in order.
        Arguments shared by every task (the same object, e.g. the outlines) are sent
        to the cluster once.

    Yields
    ------
    object
        ``func(*task)``, for each task.

    Raises
    ------
    InputError
        ``scheduler`` is given but ``distributed`` is missing or the scheduler is
        unreachable.
    Exception
        Whatever a task raised, of the same class (e.g. :class:`~boundaries.errors.PartitionError`);
        the tasks not yet finished are cancelled.
    """
    weights = [1] * len(tasks) if weights is None else [int(w) for w in weights]
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(progress(already_done + sum(weights))) if progress else None
        if bar is not None and already_done:
            bar.update(already_done)
        if scheduler and tasks:
            results = _on_cluster(stack, func, tasks, jobs, scheduler)
        elif jobs > 1 and len(tasks) > 1:
            from concurrent.futures import as_completed

            pool = stack.enter_context(_process_pool(min(jobs, len(tasks))))
            futures = {pool.submit(func, *t): i for i, t in enumerate(tasks)}
            results = ((futures[f], f.result()) for f in as_completed(futures))
        else:
            results = ((i, func(*t)) for i, t in enumerate(tasks))
        for i, result in results:
            if bar is not None:
                bar.update(weights[i])
            yield result


def _ignore_interrupts() -> None:
    """In a worker: leave Ctrl-C to the parent, which stops the workers itself.

    A worker that took the SIGINT of its process group could die holding the pool's
    queue lock, and the parent then waited for it for ever (seen once with ``-j 2``).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _process_pool(workers: int):
    """A pool of forked workers: shut down in order when the block ends well, stopped at once otherwise.

    Otherwise is an interrupt, a task's error or the caller dropping the results: the
    tasks not started are cancelled and the running ones stopped (:func:`stop_workers`),
    so nothing runs on, or hangs, after the command has said it stopped.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_ignore_interrupts)
    _POOLS.add(pool)
    try:
        yield pool
    except BaseException:
        _stop(pool)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        _POOLS.discard(pool)


def _stop(pool) -> None:
    """Cancel a pool's waiting tasks and end its workers: SIGTERM, then SIGKILL after :data:`STOP_GRACE_S`."""
    # the executor keeps no public list of its processes; without one there is nothing to end
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    # its feeder thread may be blocked writing a task to workers about to go: no one must wait for it
    with contextlib.suppress(Exception):
        pool._call_queue.cancel_join_thread()
    for w in workers:
        with contextlib.suppress(Exception):
            w.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for w in workers:
        with contextlib.suppress(Exception):
            w.join(max(0.0, deadline - time.monotonic()))
            if w.is_alive():
                w.kill()
                w.join(1.0)


def stop_workers() -> None:
    """End the workers of every process pool this process has open (a command interrupted by Ctrl-C).

    The pools stop themselves when the exception reaches them; this is for an
    interrupt that lands between two results, while :func:`run_tasks`' generator is
    suspended and would be closed only when it is collected.
    """
    for pool in list(_POOLS):
        _stop(pool)
        _POOLS.discard(pool)


def _on_cluster(stack: contextlib.ExitStack, func, tasks: list, jobs: int, scheduler: str):
    """Submit one future per task (in order) on the scheduler's cluster; ``(task index, result)`` as they finish."""
    distributed = _distributed()
    client = stack.enter_context(connect(scheduler, jobs))
    first = tasks[0]
    shared = [i for i, a in enumerate(first)
              if len(tasks) > 1 and not isinstance(a, _SMALL) and all(t[i] is a for t in tasks[1:])]
    sent = {i: client.scatter(first[i], hash=False) for i in shared}
    # one future per task, not batches: a batch would run whole on one worker
    futures = [client.submit(func, *(sent.get(i, a) for i, a in enumerate(t)), pure=False) for t in tasks]
    # runs before a client opened here is closed: on a reused client, drop what is left
    stack.callback(client.cancel, futures + list(sent.values()))
    index = {f.key: i for i, f in enumerate(futures)}
    return ((index[f.key], f.result()) for f in distributed.as_completed(futures, loop=client.loop))
