"""`edoc serve` as an operator runs it: a real process, a real port."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography import x509

from tests.fixtures.pki import PASSPHRASE as HOME_PASSPHRASE

PASSPHRASE = "serve-test-passphrase"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A running `edoc serve` and the lines it printed."""

    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 90) -> str:
        """Wait until a printed line contains ``text``; return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"edoc serve ended ({self.proc.wait()}):\n" + "\n".join(self.lines))
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} within {timeout}s:\n" + "\n".join(self.lines))

    def wait_healthy(self, timeout: float = 120) -> None:  # two workers start slowly on a busy 2-core box
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("the service never became healthy:\n" + "\n".join(self.lines))


def _env(home: Path, passphrase: str = PASSPHRASE, *, link_port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EDOC_", "PROMETHEUS_"))}
    env.update(EDOC_HOME=str(home), EDOC_KEY_PASSPHRASE=passphrase, EDOC_AGENCY_ID="serve-agency")
    if link_port is not None:
        # a test home (make_home) links to the PKI responder's port, which is taken while the
        # responder runs; these tests are about serving, so say the links follow this port
        env["EDOC_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{link_port}"
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from edoc.cli import run; run()", "serve", *args]


@contextmanager
def serving(home: Path, *args: str, passphrase: str = PASSPHRASE, port: int | None = None,
            test_home: bool = False) -> Iterator[Served]:
    port = port or _free_port()
    env = _env(home, passphrase, link_port=port if test_home else None)
    proc = subprocess.Popen(_command("--port", str(port), *args), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield Served(proc, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_first_start_creates_home_and_one_admin_key(tmp_path):
    home = tmp_path / "home"
    with serving(home) as served:
        served.wait_for("created edoc home")
        port = served.url.rsplit(":", 1)[1]
        served.wait_for("first admin API key")
        secret = served.wait_for("edoc_").strip()
        served.wait_for("edoc serving on")
        served.wait_healthy()
        r = httpx.get(f"{served.url}/v1/keys", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200
        [admin] = r.json()
        assert admin["roles"] == ["admin"] and admin["agency"] == "serve-agency"
        # with no public URL configured, the first start links the certificates to where it serves
        assert f"public URL http://127.0.0.1:{port}" in served.lines[-1]
        issuing = x509.load_der_x509_certificate(httpx.get(f"{served.url}/pki/issuing-ca.crt").content)
        aia = issuing.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        assert [d.access_location.value for d in aia if d.access_method.dotted_string.endswith(".2")] \
            == [f"{served.url}/pki/root-ca.crt"]
    assert secret not in "".join(p.read_text(errors="ignore") for p in home.rglob("*")
                                 if p.is_file() and p.stat().st_size < 1_000_000)
    other = _free_port()
    refused = subprocess.run(_command("--port", str(other)), env=_env(home), capture_output=True,
                             text=True, timeout=60)
    # its certificates and QR codes link to the first port: another one is refused, with the fix
    assert refused.returncode == 2, refused.stderr
    assert f"public URL is {served.url}" in refused.stderr and f"--port {port}" in refused.stderr
    assert "init --public-base-url" in refused.stderr and "Traceback" not in refused.stderr
    with serving(home, port=int(port)) as again:
        again.wait_for("edoc serving on")
        again.wait_healthy()
        assert not any("first admin" in line for line in again.lines)
        r = httpx.get(f"{again.url}/v1/keys", headers={"Authorization": f"Bearer {secret}"})
        assert len(r.json()) == 1


def test_wrong_passphrase_fails_at_start_with_a_message(make_home):
    home = make_home().path
    port = _free_port()
    proc = subprocess.run(_command("--port", str(port)), env=_env(home, "wrong passphrase", link_port=port),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith("edoc: ")
    assert "Traceback" not in proc.stderr


def test_several_workers_share_the_home_and_aggregate_metrics(make_home):
    home = make_home().path
    with serving(home, "--workers", "2", passphrase=HOME_PASSPHRASE, test_home=True) as served:
        secret = served.wait_for("edoc_").strip()
        served.wait_for("edoc serving on")
        served.wait_healthy()
        with httpx.Client(base_url=served.url) as c:
            for _ in range(6):  # fresh connections, so both workers get some
                assert httpx.get(f"{served.url}/pki/root-ca.crt").status_code == 200
            assert c.get("/v1/keys", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
            text = c.get("/metrics", headers={"Authorization": f"Bearer {secret}"}).text
        assert 'edoc_http_requests_total{method="GET",route="/pki/{name}.crt",status="200"} 6.0' in text


def _workers_of(pid: int) -> set[int]:
    """The uvicorn worker processes under ``edoc serve`` (not multiprocessing's helpers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.add(int(entry.name))
    return found


def _two_workers(pid: int, *, without: int | None = None) -> set[int] | None:
    workers = _workers_of(pid)
    return workers if len(workers) == 2 and without not in workers else None


def _listening_inodes(pid: int, port: int) -> set[str]:
    """Inodes of the sockets ``pid`` holds that listen on ``port``."""
    held = set()
    for fd in (Path("/proc") / str(pid) / "fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(target[8:-1])
    listening = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
            listening.add(fields[9])
    return held & listening


def _wait(predicate, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_each_worker_listens_on_its_own_socket_and_a_dead_one_is_replaced(make_home):
    home = make_home().path
    with serving(home, "--workers", "2", passphrase=HOME_PASSPHRASE, test_home=True) as served:
        served.wait_healthy()
        port = int(served.url.rsplit(":", 1)[1])
        workers = _wait(lambda: _two_workers(served.proc.pid))
        sockets = [_wait(lambda p=p: _listening_inodes(p, port)) for p in workers]
        assert len(sockets[0] | sockets[1]) == 2  # two sockets, one each: the kernel spreads connections
        assert not _listening_inodes(served.proc.pid, port)  # the parent only holds the port

        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        replaced = _wait(lambda: _two_workers(served.proc.pid, without=victim))
        assert len(replaced - workers) == 1
        for _ in range(10):  # fresh connections: whichever worker gets them answers
            assert httpx.get(f"{served.url}/healthz", timeout=10).status_code == 200
        served.wait_for("died")
        assert len(list((home / "run").glob("worker-loads-*"))) == 1
        served.proc.send_signal(signal.SIGTERM)
        assert served.proc.wait(timeout=60) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in replaced)
    assert not list((home / "run").glob("worker-loads-*"))


def test_workers_stop_when_their_supervisor_is_killed(make_home):
    home = make_home().path
    with serving(home, "--workers", "2", passphrase=HOME_PASSPHRASE, test_home=True) as served:
        served.wait_healthy()
        workers = _wait(lambda: _two_workers(served.proc.pid))
        served.proc.kill()  # SIGKILL: no chance to stop them itself
        served.proc.wait()
        _wait(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), timeout=30)


def test_several_workers_refuse_a_port_already_served(make_home):
    home = make_home().path
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(_command("--port", str(port), "--workers", "2"), env=_env(home, HOME_PASSPHRASE, link_port=port),
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"edoc: something already answers on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr
