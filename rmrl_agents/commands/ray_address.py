"""``rmrl bench --ray ADDRESS``: the address's form checked by argparse, and the cluster's head
reached (a TCP connection and a gRPC greeting, a few seconds at most) before the benchmark starts.

Without this, a wrong address is found by ``ray.init`` after about 30 s of retries, with three
tracebacks.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import socket
from urllib.parse import urlsplit

from rmrl_agents.commands._shared import UsageError

#: how long the cluster's head may take to accept a connection
CONNECT_TIMEOUT_S = 3.0
#: Ray's own address words: a running local cluster ("auto") or a new local instance ("local")
KEYWORDS = ("auto", "local")
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")


def ray_address(text: str) -> str:
    """argparse type: "auto", "local", HOST:PORT or ray://HOST:PORT (Ray Client)."""
    if text in KEYWORDS:
        return text
    if _host_port(text) is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Ray address; give 'auto', 'local', HOST:PORT (the head's GCS port, 6379 by default) "
            "or ray://HOST:PORT (Ray Client, 10001 by default)"
        )
    return text


def _host_port(text: str) -> tuple[str, int] | None:
    rest = text.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    if not host or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    parsed = urlsplit(f"//{rest}")
    return (parsed.hostname or host), int(port)


#: HTTP/2's client connection preface and an empty SETTINGS frame (RFC 9113, 3.4 and 6.5)
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_H2_SETTINGS = 4


def _grpc_problem(address: tuple[str, int], timeout_s: float) -> str | None:
    """None if a gRPC server (Ray's head speaks gRPC) answers at ``address``, else what is wrong.

    A port that accepts connections but never answers (a silent service, a firewall that accepts
    everything) would make ``ray.init`` hang; an HTTP/2 server's first frame is SETTINGS.
    """
    with socket.create_connection(address, timeout=timeout_s) as conn:
        conn.settimeout(timeout_s)
        conn.sendall(_H2_PREFACE)
        try:
            head = conn.recv(9)
        except TimeoutError:
            return f"a connection opens, but nothing answered in gRPC within {timeout_s:g} s"
    if len(head) < 4 or head[3] != _H2_SETTINGS:
        return "the service there does not speak gRPC, so it is not a Ray head"
    return None


def check_ray_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Before any work: Ray is installed, and a gRPC server (the head) answers at HOST:PORT.

    :raises UsageError: naming the address and what to do.
    """
    if importlib.util.find_spec("ray") is None:
        raise UsageError(f"--ray {address} needs Ray: pip install 'rmrl[cluster]'")
    found = _host_port(address)
    if found is None:  # "auto" / "local": Ray finds or starts the instance itself
        return
    try:
        problem = _grpc_problem(found, timeout_s)
    except TimeoutError:
        problem = f"no answer within {timeout_s:g} s"
    except socket.gaierror as err:
        problem = f"unknown host ({err.strerror})"
    except OSError as err:
        problem = err.strerror or type(err).__name__
    if problem is None:
        return
    raise UsageError(
        f"--ray {address}: cannot reach a Ray cluster there ({problem}); start its head (ray start --head) "
        "or fix the address (the head node prints it)"
    )
