"""A Ray cluster for the parallel parts of planning and simulation (decomposed solves,
Monte Carlo chunks): import Ray and connect, with located errors instead of tracebacks."""

from __future__ import annotations

from typing import Any

from hyperplan.errors import HyperplanError

#: what this process's Ray driver keeps quiet about (no dashboard, no worker logs on stderr)
RAY_OPTIONS = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}


def connect_ray(address: str) -> tuple[Any, bool]:
    """The ``ray`` module, connected: ``(ray, started)``; ``started`` says this call began the
    session (the caller then shuts it down). ``auto``, ``local`` or ``""``: a running local
    cluster if there is one, else a new one in this process; otherwise the cluster at
    ``address`` (``ray://host:10001``). A session already begun is used as it is.

    Raises:
        HyperplanError: Ray is not installed, or the cluster cannot be reached or started.
    """
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise HyperplanError(
            "ray is not installed; install the optional extra: pip install 'hyperplan[ray]'"
        ) from exc
    if ray.is_initialized():
        return ray, False
    try:
        if address in ("auto", "local", ""):
            try:
                ray.init(address="auto", **RAY_OPTIONS)
            except ConnectionError:
                ray.init(**RAY_OPTIONS)
        else:
            ray.init(address=address, **RAY_OPTIONS)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise HyperplanError(f"cannot connect to the Ray cluster at {address}: {exc}") from None
    return ray, True
