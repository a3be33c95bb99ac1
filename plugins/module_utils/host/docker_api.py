# Copyright (c) 2026, dockernet.packetflow contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Docker daemon: the shared module options (doc fragment dockernet.packetflow.docker), the one
connect-and-ping, and Engine: the few read-only calls a flow makes, over the engine's HTTP API with
a socket of the standard library (importing the Docker SDK alone takes a quarter of a second, and
http.client, with the email and ssl modules it imports, a few hundredths more)."""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import socket
import types
import urllib.parse

HAS_DOCKER = importlib.util.find_spec("docker") is not None
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
# The addresses Engine speaks to itself; the SDK gets every other form (ssh://, https://, no scheme).
_PLAIN = re.compile(r"(unix://(/[^?#]+)|tcp://([^/:?#@]+):(\d+)/?)$")


def sdk():
    """The Docker SDK module, imported on first use."""
    import docker  # pylint: disable=import-outside-toplevel

    return docker


def docker_options(**more):
    """argument_spec entries docker_host and timeout, plus the module's own options."""
    spec = dict(docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST), timeout=dict(type="int", default=10))
    spec.update(more)
    return spec


def connect(docker_host, timeout, docker_mod=None):
    """A client (docker_mod.DockerClient, the SDK's by default) that answered a ping; RuntimeError
    naming the address when none does."""
    docker_mod = docker_mod or sdk()
    try:
        client = docker_mod.DockerClient(base_url=docker_host or DEFAULT_DOCKER_HOST, timeout=timeout)
        client.ping()
    except MissingSDK:
        raise
    except Exception as exc:
        raise RuntimeError("Docker is not reachable at %s (is dockerd running?): %s" % (docker_host, exc)) from exc
    return client


class MissingSDK(RuntimeError):
    """docker_host needs the Docker SDK, which is not installed."""


class EngineError(RuntimeError):
    """An error answer of the engine, as "404 Not Found: No such container: x"."""


class Engine:
    """The engine's API at unix:///path or tcp://host:port, read-only, shaped like the SDK's client
    where a flow uses it: ping, info, version, containers.get/list, networks.get/list."""

    def __init__(self, match, timeout):
        self.socket_path, self.host, self.port = match.group(2), match.group(3), match.group(4)
        self.timeout = timeout
        self.containers = _Containers(self)
        self.networks = _Networks(self)

    def get(self, path, **query):
        """GET path (query values that are dicts go as JSON); the decoded answer."""
        if query:
            path += "?" + urllib.parse.urlencode(
                {k: json.dumps(v) if isinstance(v, dict) else v for k, v in query.items()}
            )
        status, reason, headers, body = self._exchange(path)
        if status >= 400:
            try:
                message = json.loads(body).get("message")
            except ValueError:
                message = body.decode("utf-8", "replace").strip()
            raise EngineError("%s %s: %s" % (status, reason, message))
        if headers.get("content-type", "").startswith("application/json"):
            return json.loads(body)
        return body.decode("utf-8", "replace")

    def _exchange(self, path):
        """GET path as HTTP/1.0 (the engine answers without chunks and closes); (status, reason,
        headers with lower-case names, body)."""
        if self.socket_path:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.socket_path)
            except OSError:
                sock.close()
                raise
        else:
            sock = socket.create_connection((self.host, int(self.port)), timeout=self.timeout)
        with sock:
            sock.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, self.host or "localhost")).encode("ascii"))
            answer = b"".join(iter(functools.partial(sock.recv, 65536), b""))
        head, dummy, body = answer.partition(b"\r\n\r\n")
        lines = head.decode("iso-8859-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith("HTTP/") or not status_line[1].isdigit():
            raise EngineError("the engine at %s sent no HTTP answer: %r" % (self.socket_path or self.host, answer[:80]))
        fields = (line.partition(":") for line in lines[1:])
        headers = {name.strip().lower(): value.strip() for name, dummy, value in fields}
        return int(status_line[1]), (status_line + [""])[2], headers, body

    def ping(self):
        return self.get("/_ping") == "OK"

    def info(self):
        return self.get("/info")

    def version(self):
        return self.get("/version")


def _filters(filters):
    """The SDK's filters ({key: value or [values]}) as the API takes them ({key: [values]})."""
    return {key: value if isinstance(value, list) else [value] for key, value in filters.items()}


class _Object:
    """A container or network: its inspect (or list) attrs, id and name."""

    def __init__(self, attrs):
        self.attrs = attrs
        self.id = attrs["Id"]
        self.name = attrs["Name"].lstrip("/")


class _Container(_Object):
    @property
    def status(self):
        return self.attrs["State"]["Status"]


class _Containers:
    def __init__(self, engine):
        self.engine = engine

    def get(self, ref):
        return _Container(self.engine.get("/containers/%s/json" % urllib.parse.quote(ref, safe="")))

    def list(self, all=False, filters=None):  # pylint: disable=redefined-builtin
        """The containers (running ones unless all), inspected; one removed meanwhile is left out."""
        query = {"all": "1"} if all else {}
        if filters:
            query["filters"] = _filters(filters)
        found = []
        for item in self.engine.get("/containers/json", **query):
            try:
                found.append(self.get(item["Id"]))
            except EngineError as exc:
                if not str(exc).startswith("404 "):
                    raise
        return found


class _Networks:
    def __init__(self, engine):
        self.engine = engine

    def get(self, ref):
        return _Object(self.engine.get("/networks/%s" % urllib.parse.quote(ref, safe="")))

    def list(self, filters=None):
        query = {"filters": _filters(filters)} if filters else {}
        return [_Object(attrs) for attrs in self.engine.get("/networks", **query)]


def _reader_client(base_url, timeout):
    """An Engine for unix:// and tcp://host:port, else the SDK's client."""
    match = _PLAIN.match(base_url)
    if match:
        return Engine(match, timeout)
    if not HAS_DOCKER:
        raise MissingSDK(
            "docker_host %s needs the Docker SDK for Python (pip install docker), which is not installed; "
            "install it or give a unix:// or tcp://host:port address" % base_url
        )
    return sdk().DockerClient(base_url=base_url, timeout=timeout)


# What a run that only reads from the engine passes to connect() as docker_mod.
READER = types.SimpleNamespace(DockerClient=_reader_client)
