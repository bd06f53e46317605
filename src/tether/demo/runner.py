"""``tether demo``: the book's example system on one machine, with one command.

Starts, in order: the control plane, the example's routing (gateway + one VirtualService
per service), the ingress gateway, and order, shipping, invoicing and the home page,
each beside its own sidecar via ``tether run``. Waits until every proxy is SYNCED and the
home page answers through the gateway, prints the URLs and a few things to try, and on
Ctrl-C stops everything it started.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import FrameType

from tether.client.http import ControlClient
from tether.client.settings import load_token
from tether.core.errors import UsageError
from tether.demo.load import LoadGenerator
from tether.demo.supervisor import StartFailed, Supervisor, tether_argv
from tether.proxy.tls.start import ENV_JOIN_TOKEN

SERVICES = ("order", "shipping", "invoicing", "home")
START_TIMEOUT_S = 60.0


@dataclass
class DemoOptions:
    port: int = 8080
    control_port: int = 15010
    data: str | None = None
    poll_interval: int = 30
    load: bool = False
    bind: str = "127.0.0.1"
    ports_file: str | None = None


def check_port_free(bind: str, port: int, flag: str) -> None:
    """Raise UsageError naming ``flag`` if ``port`` is taken (port 0 is always fine)."""
    if port == 0:
        return
    with socket.socket() as sock:
        try:
            sock.bind((bind, port))
        except OSError as exc:
            raise UsageError(f"port {port} is in use ({exc.strerror}); choose another with {flag} PORT") from exc


def routing_yaml() -> str:
    """Return the demo's routing resources (the book's gateway and VirtualServices)."""
    return resources.files("tether.demo").joinpath("config/mesh.yaml").read_text()


class Demo:
    """One run of the demo: its processes, ports and data directory."""

    def __init__(self, options: DemoOptions, out: object = sys.stdout) -> None:
        self.options = options
        self.out = out
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if options.data:
            self.data = Path(options.data)
            self.data.mkdir(parents=True, exist_ok=True)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="tether-demo-")
            self.data = Path(self._tmp.name)
        self.logs = self.data / "logs"
        self.logs.mkdir(exist_ok=True)
        self.supervisor = Supervisor(self.logs)
        self.control_url = ""
        self.gateway_url = ""
        self.load: LoadGenerator | None = None

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)  # type: ignore[call-overload]

    def start(self) -> None:
        """Start everything and wait until it serves; raises StartFailed or UsageError."""
        opts = self.options
        check_port_free(opts.bind, opts.port, "--port")
        check_port_free(opts.bind, opts.control_port, "--control-port")
        began = time.monotonic()
        self.say(f"Starting the book's example system (logs in {self.logs})")
        control = self.supervisor.start(
            "control",
            tether_argv(
                "control", "--port", str(opts.control_port), "--bind", opts.bind, "--data", str(self.data / "control")
            ),
        )
        port = self.supervisor.wait_ports(control, START_TIMEOUT_S)["port"]
        self.control_url = f"http://{opts.bind}:{port}"
        self.say(f"  ✔ control plane        {self.control_url}")
        client = ControlClient(self.control_url, load_token(str(self.data / "control" / "admin.token")))
        client.apply([("mesh.yaml", routing_yaml())])
        self.say("  ✔ routing applied      gateway + /order /shipping /invoicing prefixes, / home")
        gateway = self.supervisor.start(
            "gateway",
            tether_argv(
                "gateway",
                "--port",
                str(opts.port),
                "--bind",
                opts.bind,
                "--admin-port",
                "0",
                "--control",
                self.control_url,
                "--access-log",
                str(self.logs / "gateway-access.log"),
                "--trace-sampling",
                "100",
            ),
            env={ENV_JOIN_TOKEN: self._join_token(client, "ingressgateway")},
        )
        for name in SERVICES:
            env = {**self._app_env(name), ENV_JOIN_TOKEN: self._join_token(client, name)}
            self.supervisor.start(name, self._run_argv(name), env=env)
        gw_port = self.supervisor.wait_ports(gateway, START_TIMEOUT_S)["outbound"]
        self.gateway_url = f"http://{opts.bind}:{gw_port}"
        for child in self.supervisor.children[2:]:
            self.supervisor.wait_ports(child, START_TIMEOUT_S)
            self.say(f"  ✔ {child.name:<21}app :{child.ports['app']}  sidecar :{child.ports['inbound']}")
        self.supervisor.wait_for(gateway, START_TIMEOUT_S, lambda: self._synced(client))
        self.supervisor.wait_for(gateway, START_TIMEOUT_S, lambda: _answers(self.gateway_url + "/"))
        self.say(f"  ✔ ingress gateway      {self.gateway_url}   (all proxies SYNCED, {time.monotonic() - began:.1f}s)")
        if opts.ports_file:
            Path(opts.ports_file).write_text(f'{{"gateway": {gw_port}, "control": {port}}}')
        if opts.load:
            self.load = LoadGenerator(self.gateway_url)
            self.load.start()

    def _run_argv(self, name: str) -> list[str]:
        flags = ["--name", name, "--control", self.control_url, "--bind", self.options.bind, "--trace-sampling", "100"]
        flags += ["--access-log", str(self.logs / f"{name}-access.log"), "--labels", f"app={name},version=v1"]
        return tether_argv("run", *flags, "--", sys.executable, "-m", f"tether.demo.{name}")

    def _join_token(self, client: ControlClient, name: str) -> str:
        """Return a join token for workload ``name`` (its sidecar's mTLS certificate), minted with the admin token."""
        return str(client.request("POST", "/v1/tokens", {"name": name, "namespace": "default"})["token"])

    def _app_env(self, name: str) -> dict[str, str]:
        return {
            "DB_PATH": str(self.data / f"{name}.db"),
            "POLL_INTERVAL": str(self.options.poll_interval),
            "ORDER_URL": "http://order/feed",
            "ACCESS_LOG": "false",
        }

    def _synced(self, client: ControlClient) -> bool:
        proxies = client.proxies().proxies
        names = {p.node.name for p in proxies if p.status == "SYNCED"}
        return {*SERVICES, "ingressgateway"} <= names

    def banner(self) -> str:
        """Return the URLs and the things to try."""
        gw, cp = self.gateway_url, self.control_url
        return f"""
Tether demo is running.

  app        {gw}/            (home page; /order/ /shipping/ /invoicing/)
  dashboard  {cp}/
  control    {cp}             (export TETHER_CONTROL={cp})
  admin token {self.data / "control" / "admin.token"}

Try this (in another terminal, with TETHER_CONTROL and TETHER_TOKEN_FILE set as above):
  1. Open {gw}/order/ and enter an order, then press "Poll" on {gw}/shipping/ and {gw}/invoicing/.
  2. tether proxy-status            every sidecar SYNCED
  3. tether apply -f examples/book/fault-injection.yaml    polling now fails; tether delete -f … to undo
  4. tether apply -f examples/book/retry.yaml               with FAILRANDOMLY order, polls still succeed
  5. curl -s {gw}/order/feed

Press Ctrl-C to stop everything."""

    def stop(self) -> None:
        """Stop the load, every child, and remove a temporary data directory."""
        if self.load is not None:
            self.load.stop()
        self.supervisor.stop_all()
        if self._tmp is not None:
            self._tmp.cleanup()


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


def run_demo(options: DemoOptions) -> int:
    """Run the demo until Ctrl-C/SIGTERM or until a process dies; return the exit status."""
    demo = Demo(options)
    stop = threading.Event()
    started = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if not started:
            raise KeyboardInterrupt  # abandon the start-up; ``finally`` stops what was started

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        demo.start()
        started = True
        demo.say(demo.banner())
        while not stop.wait(0.5):
            dead = demo.supervisor.exited()
            if dead is not None:
                demo.say(f"{dead.name} exited with {dead.proc.returncode}; stopping.\n{dead.log_tail()}")
                return 1
        demo.say("\nStopping…")
        return 0
    except StartFailed as exc:
        demo.say(f"tether demo: {exc}")
        return 1
    except KeyboardInterrupt:
        demo.say("\nInterrupted; stopping…")
        return 130
    finally:
        demo.stop()
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError):
                signal.signal(sig, handler)
