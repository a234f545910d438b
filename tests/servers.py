"""Real servers on loopback for mhqa's tests: a Chroma server (`chroma run`)
and an nginx reverse proxy in front of it (token check, optional TLS).

Plain functions and context managers, usable from pytest fixtures::

    from tests.servers import chroma_server, nginx_proxy, make_http_client

    with chroma_server(tmp_path / "chroma") as srv:            # srv.url, srv.port, srv.process
        with nginx_proxy(srv.port, "s3cret", tmp_path / "ngx", tls=True) as px:
            client = make_http_client(px.host, px.port, ssl=True, token="s3cret",
                                      verify=px.ca_path, timeout=5.0)
            ...
        srv.stop()                                              # "server down" tests

Everything listens on 127.0.0.1 only. Child processes run in their own process
group, get SIGTERM if this process dies (PR_SET_PDEATHSIG) and are killed at
interpreter exit, so no orphans are left behind.

Run ``python tests/servers.py`` for a self-check that also measures start-up and
failure times (see tests/SERVERS.md).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import ssl as _ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

REPO_ROOT = Path(__file__).resolve().parent.parent
NGINX_TEMPLATE = REPO_ROOT / "mhqa" / "resources" / "nginx-chroma.conf"
NGINX_DEFAULT_PATH = "/usr/sbin/nginx"
LOOPBACK = "127.0.0.1"
HEARTBEAT_PATH = "/api/v2/heartbeat"
# Tokens are matched by an nginx regex, so keep them regex-inert.
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")

__all__ = [
    "ServerError",
    "ToolNotFound",
    "NginxNotFound",
    "ChromaNotFound",
    "ServerStartError",
    "ChromaServer",
    "NginxProxy",
    "TlsFiles",
    "free_port",
    "find_chroma",
    "find_nginx",
    "chroma_server",
    "start_chroma_server",
    "nginx_proxy",
    "render_nginx_conf",
    "nginx_check_config",
    "make_tls_material",
    "make_http_client",
    "auth_headers",
    "blackhole_port",
    "silent_server",
]


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
class ServerError(RuntimeError):
    """Base class for harness errors."""


class ToolNotFound(ServerError):
    """A required executable (nginx, chroma, openssl) is not installed."""


class NginxNotFound(ToolNotFound):
    pass


class ChromaNotFound(ToolNotFound):
    pass


class ServerStartError(ServerError):
    """A server process exited early or did not become ready in time."""


# --------------------------------------------------------------------------
# Process helpers
# --------------------------------------------------------------------------
_LIVE: "set[subprocess.Popen]" = set()
_LIVE_LOCK = threading.Lock()


# Children get SIGTERM when this process dies (PR_SET_PDEATHSIG), so a killed
# test run leaves no servers behind. Preferably via util-linux `setpriv` (no
# Python code between fork and exec); else a prctl() call in preexec_fn.
_SETPRIV = shutil.which("setpriv")
try:
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None
except OSError:  # pragma: no cover
    _LIBC = None


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def _spawn(cmd: List[str], log_path: Path, env: Optional[Dict[str, str]] = None,
           cwd: Optional[Path] = None) -> subprocess.Popen:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")
    try:
        log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.flush()
        preexec = None
        if sys.platform.startswith("linux"):
            if _SETPRIV:
                cmd = [_SETPRIV, "--pdeathsig", "TERM", "--", *cmd]
            elif _LIBC is not None:
                preexec = _set_pdeathsig
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(cwd) if cwd else None,
            start_new_session=True,  # own process group -> killpg reaches workers
            preexec_fn=preexec,
        )
    finally:
        log.close()
    with _LIVE_LOCK:
        _LIVE.add(proc)
    return proc


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # pgid == pid thanks to start_new_session
    except (ProcessLookupError, PermissionError):
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass


def _stop_process(proc: Optional[subprocess.Popen], timeout: float = 10.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL it. Idempotent."""
    if proc is None:
        return
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        _signal_group(proc, signal.SIGCONT)  # in case it was paused (SIGSTOP)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # Also kill leftovers of the group (e.g. nginx workers) even if the leader exited.
    _signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass
    with _LIVE_LOCK:
        _LIVE.discard(proc)


@atexit.register
def _kill_leftovers() -> None:
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for p in procs:
        _stop_process(p, timeout=3.0)


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (tiny race: callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _ssl_context(verify: Union[bool, str, os.PathLike, _ssl.SSLContext, None]) -> Union[bool, _ssl.SSLContext]:
    if verify is None or verify is True:
        return True
    if verify is False:
        return False
    if isinstance(verify, _ssl.SSLContext):
        return verify
    p = os.fspath(verify)
    if os.path.isdir(p):
        return _ssl.create_default_context(capath=p)
    return _ssl.create_default_context(cafile=p)


def _http_probe(url: str, verify: Any = True, headers: Optional[Dict[str, str]] = None,
                timeout: float = 1.0) -> Optional[int]:
    """Status code of GET url, or None if no HTTP answer."""
    import httpx

    try:
        r = httpx.get(url, verify=_ssl_context(verify), headers=headers or {},
                      timeout=timeout, trust_env=False)
        return r.status_code
    except httpx.HTTPError:
        return None


# --------------------------------------------------------------------------
# Chroma server
# --------------------------------------------------------------------------
def find_chroma() -> Path:
    """The `chroma` CLI next to the running interpreter (the venv's bin/)."""
    exe = Path(sys.executable).parent / "chroma"
    if exe.exists():
        return exe
    found = shutil.which("chroma")
    if found:
        return Path(found)
    raise ChromaNotFound(f"`chroma` executable not found next to {sys.executable} or on PATH "
                         "(pip install chromadb==1.5.9 into the venv)")


@dataclass
class ChromaServer:
    """A `chroma run` process on 127.0.0.1. `stop()` / `start()` for down/up tests."""

    data_dir: Path
    port: int
    host: str = LOOPBACK
    startup_timeout: float = 30.0
    process: Optional[subprocess.Popen] = None
    startup_seconds: Optional[float] = None  # last measured: spawn -> heartbeat OK
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.log_path = self.data_dir / "chroma.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> "ChromaServer":
        """(Re)start on the same port and data dir; waits for the heartbeat."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, NO_COLOR="1", ANONYMIZED_TELEMETRY="False")
        cmd = [str(find_chroma()), "run", "--path", str(self.data_dir),
               "--host", self.host, "--port", str(self.port)]
        t0 = time.monotonic()
        self.process = _spawn(cmd, self.log_path, env=env, cwd=self.data_dir)
        deadline = t0 + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                rc = self.process.returncode
                _stop_process(self.process)
                raise ServerStartError(f"chroma run exited with {rc} before answering on port "
                                       f"{self.port}; log {self.log_path}:\n{_tail(self.log_path)}")
            if _http_probe(self.url + HEARTBEAT_PATH, timeout=1.0) == 200:
                self.startup_seconds = time.monotonic() - t0
                return self
            time.sleep(0.05)
        _stop_process(self.process)
        raise ServerStartError(f"chroma run did not answer {HEARTBEAT_PATH} within "
                               f"{self.startup_timeout}s; log {self.log_path}:\n{_tail(self.log_path)}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL). Safe to call twice."""
        _stop_process(self.process, timeout)

    def restart(self) -> "ChromaServer":
        self.stop()
        return self.start()

    def pause(self) -> None:
        """SIGSTOP: the port stays open but nothing answers (a hung server)."""
        if self.running:
            _signal_group(self.process, signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            _signal_group(self.process, signal.SIGCONT)


def start_chroma_server(data_dir: Union[str, Path], port: Optional[int] = None,
                        startup_timeout: float = 30.0) -> ChromaServer:
    """Start a Chroma server (caller must `.stop()` it). Retries on a port race."""
    attempts = 1 if port else 3
    last: Optional[Exception] = None
    for _ in range(attempts):
        srv = ChromaServer(Path(data_dir), port or free_port(), startup_timeout=startup_timeout)
        try:
            return srv.start()
        except ServerStartError as e:
            last = e
            if "in use" not in str(e).lower():
                raise
    assert last is not None
    raise last


@contextlib.contextmanager
def chroma_server(data_dir: Union[str, Path], port: Optional[int] = None,
                  startup_timeout: float = 30.0) -> Iterator[ChromaServer]:
    """`chroma run --path data_dir --host 127.0.0.1 --port PORT`; log in data_dir/chroma.log."""
    srv = start_chroma_server(data_dir, port, startup_timeout)
    try:
        yield srv
    finally:
        srv.stop()


# --------------------------------------------------------------------------
# TLS material
# --------------------------------------------------------------------------
@dataclass
class TlsFiles:
    ca_cert: Path   # give this to clients (chroma_server_ssl_verify / httpx verify)
    ca_key: Path
    cert: Path      # server certificate, SAN = IP:127.0.0.1, DNS:localhost
    key: Path


def make_tls_material(directory: Union[str, Path],
                      hosts: tuple = ("127.0.0.1", "localhost"),
                      days: int = 7) -> TlsFiles:
    """A throw-away CA plus a server certificate signed by it (EC P-256, openssl CLI).

    A real CA + leaf (rather than one self-signed leaf) also satisfies strict
    verification (Python >= 3.13 sets VERIFY_X509_STRICT). Reused if present.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(d / "ca.crt", d / "ca.key", d / "server.crt", d / "server.key")
    if all(p.exists() for p in (files.ca_cert, files.ca_key, files.cert, files.key)):
        return files
    openssl = shutil.which("openssl")
    if not openssl:
        raise ToolNotFound("openssl not found (apt-get install -y openssl)")
    san = ",".join(("IP:" if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]+:[0-9a-fA-F:]*", h) else "DNS:") + h
                   for h in hosts)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(args: List[str]) -> None:
        r = subprocess.run([openssl] + args, cwd=d, capture_output=True, text=True)
        if r.returncode != 0:
            raise ServerError(f"openssl {' '.join(args)} failed:\n{r.stderr}")

    run(["req", "-x509", *ec, "-keyout", str(files.ca_key), "-out", str(files.ca_cert),
         "-days", str(days), "-subj", "/CN=mhqa test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-addext", "subjectKeyIdentifier=hash"])
    csr = d / "server.csr"
    run(["req", *ec, "-keyout", str(files.key), "-out", str(csr), "-subj", f"/CN={hosts[0]}"])
    ext = d / "server.ext"
    ext.write_text(f"subjectAltName={san}\n"
                   "basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\n"
                   "subjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid,issuer\n")
    run(["x509", "-req", "-in", str(csr), "-CA", str(files.ca_cert), "-CAkey", str(files.ca_key),
         "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", str(days),
         "-extfile", str(ext), "-out", str(files.cert)])
    for p in (files.ca_key, files.key):
        p.chmod(0o600)
    csr.unlink(missing_ok=True)
    return files


# --------------------------------------------------------------------------
# nginx
# --------------------------------------------------------------------------
def find_nginx() -> Path:
    """/usr/sbin/nginx, else `nginx` on PATH; NginxNotFound otherwise."""
    for cand in (os.environ.get("MHQA_NGINX"), NGINX_DEFAULT_PATH, shutil.which("nginx")):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return Path(cand)
    raise NginxNotFound(f"nginx not found at {NGINX_DEFAULT_PATH} or on PATH "
                        "(Debian: apt-get update && apt-get install -y nginx)")


def render_nginx_conf(template: str, *, listen: Union[str, int], upstream: str, token: str,
                      reader_token: Optional[str] = None,
                      tls: bool = True, cert: Union[str, Path, None] = None,
                      key: Union[str, Path, None] = None) -> str:
    """Fill the placeholders of mhqa/resources/nginx-chroma.conf.

    `token` is the maintainer token (every request), `reader_token` the reader token
    (only the read requests the config lists; a random one when None).
    tls=False turns it into a plain-HTTP variant of the same file: `listen X ssl;`
    becomes `listen X;` and every `ssl_*` directive is dropped.
    """
    reader_token = reader_token or "rdr_" + os.urandom(16).hex()
    for value in (token, reader_token):
        if not TOKEN_RE.match(value):
            raise ValueError("tokens must match [A-Za-z0-9_-]+ (they are used inside an nginx regex)")
    if token == reader_token:
        raise ValueError("the reader and maintainer tokens must differ")
    text = template
    if tls:
        if cert is None or key is None:
            raise ValueError("tls=True needs cert and key")
        text = text.replace("@CERT@", str(cert)).replace("@KEY@", str(key))
    else:
        text = re.sub(r"(?m)^(\s*listen\s+\S+)\s+ssl\b", r"\1", text)
        text = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("ssl_")) + "\n"
    text = (text.replace("@LISTEN@", str(listen))
                .replace("@UPSTREAM@", upstream)
                .replace("@MAINTAINER_TOKEN@", token)
                .replace("@READER_TOKEN@", reader_token))
    # Placeholders only matter outside comments.
    code = "\n".join(l.split("#", 1)[0] for l in text.splitlines())
    left = sorted(set(re.findall(r"@[A-Z]+@", code)))
    if left:
        raise ValueError(f"unsubstituted placeholders in nginx config: {left}")
    return text


def _nginx_main_conf(workdir: Path, include: Path) -> str:
    """Minimal main config wrapping the drop-in; everything lives in workdir."""
    tmp = workdir / "tmp"
    user = ""
    if os.geteuid() == 0:
        # Workers would otherwise run as nobody and could not write temp files
        # (large request bodies) below a private test directory.
        import grp
        import pwd
        user = (f"user {pwd.getpwuid(os.geteuid()).pw_name} "
                f"{grp.getgrgid(os.getegid()).gr_name};\n")
    return (
        f"# generated by tests/servers.py\n"
        f"{user}"
        f"worker_processes 1;\n"
        f"pid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} info;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{\n"
        f"    access_log {workdir / 'access.log'};\n"
        f"    client_body_temp_path {tmp / 'body'};\n"
        f"    proxy_temp_path {tmp / 'proxy'};\n"
        f"    fastcgi_temp_path {tmp / 'fastcgi'};\n"
        f"    uwsgi_temp_path {tmp / 'uwsgi'};\n"
        f"    scgi_temp_path {tmp / 'scgi'};\n"
        f"    include {include};\n"
        f"}}\n"
    )


def nginx_check_config(main_conf: Union[str, Path], workdir: Union[str, Path]) -> str:
    """`nginx -t` on a main config; returns its output, raises ServerError if invalid."""
    workdir = Path(workdir)
    r = subprocess.run([str(find_nginx()), "-t", "-p", str(workdir), "-c", str(main_conf),
                        "-e", str(workdir / "error.log")],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    if r.returncode != 0:
        raise ServerError(f"nginx -t failed for {main_conf}:\n{out}")
    return out


def auth_headers(token: str, style: str = "bearer") -> Dict[str, str]:
    """Headers carrying the token: style 'bearer' (Authorization) or 'x-chroma-token'."""
    if style == "bearer":
        return {"Authorization": f"Bearer {token}"}
    if style in ("x-chroma-token", "x_chroma_token", "header"):
        return {"X-Chroma-Token": token}
    raise ValueError(f"unknown token style {style!r}")


@dataclass
class NginxProxy:
    host: str
    port: int
    tls: bool
    token: str                        # the maintainer token: every request
    upstream_port: int
    workdir: Path
    conf_path: Path                   # main config (wraps site_conf_path)
    site_conf_path: Path              # rendered nginx-chroma.conf
    process: Optional[subprocess.Popen] = None
    ca_path: Optional[Path] = None    # CA certificate for clients (tls only)
    cert_path: Optional[Path] = None
    key_path: Optional[Path] = None
    startup_seconds: Optional[float] = None
    reader_token: Optional[str] = None  # only the read requests the config lists

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def verify(self) -> Union[bool, str]:
        """What to pass as chroma_server_ssl_verify / httpx verify."""
        return str(self.ca_path) if self.ca_path else True

    @property
    def error_log(self) -> Path:
        return self.workdir / "error.log"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def headers(self, token: Optional[str] = None, style: str = "bearer") -> Dict[str, str]:
        return auth_headers(self.token if token is None else token, style)

    def client(self, token: Optional[str] = None, style: str = "bearer", timeout: float = 5.0,
               **kw: Any) -> Any:
        """A chromadb HttpClient through this proxy (see make_http_client)."""
        return make_http_client(self.host, self.port, ssl=self.tls,
                                token=self.token if token is None else token,
                                token_style=style, verify=self.ca_path if self.tls else None,
                                timeout=timeout, **kw)

    def stop(self, timeout: float = 10.0) -> None:
        _stop_process(self.process, timeout)


@contextlib.contextmanager
def nginx_proxy(upstream_port: int, token: str, workdir: Union[str, Path], tls: bool = False, *,
                reader_token: Optional[str] = None,
                port: Optional[int] = None, upstream_host: str = LOOPBACK,
                template: Union[str, Path, None] = None,
                startup_timeout: float = 15.0) -> Iterator[NginxProxy]:
    """nginx (foreground, `-p workdir`) on 127.0.0.1:port proxying to upstream_port.

    Requests need `Authorization: Bearer <token>` or `X-Chroma-Token: <token>`, else 401.
    `token` is the maintainer token; `reader_token` (random when None) may make only the
    read requests listed in the config, else 403.
    With tls=True a CA + server certificate are generated in workdir/tls and the
    proxy serves https; `proxy.ca_path` is the CA file for clients.
    Raises NginxNotFound when nginx is not installed.
    """
    nginx = find_nginx()
    workdir = Path(workdir).resolve()
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    tpl = Path(template) if template else NGINX_TEMPLATE
    tls_files = make_tls_material(workdir / "tls") if tls else None
    reader_token = reader_token or "rdr_" + os.urandom(16).hex()

    attempts = 1 if port else 3
    proxy: Optional[NginxProxy] = None
    for attempt in range(attempts):
        p = port or free_port()
        site = workdir / "nginx-chroma.conf"
        site.write_text(render_nginx_conf(
            tpl.read_text(), listen=f"{LOOPBACK}:{p}", upstream=f"{upstream_host}:{upstream_port}",
            token=token, reader_token=reader_token, tls=tls, cert=tls_files.cert if tls_files else None,
            key=tls_files.key if tls_files else None))
        site.chmod(0o600)
        main = workdir / "nginx.conf"
        main.write_text(_nginx_main_conf(workdir, site))
        proxy = NginxProxy(LOOPBACK, p, tls, token, upstream_port, workdir, main, site,
                           ca_path=tls_files.ca_cert if tls_files else None,
                           cert_path=tls_files.cert if tls_files else None,
                           key_path=tls_files.key if tls_files else None, reader_token=reader_token)
        t0 = time.monotonic()
        proxy.process = _spawn([str(nginx), "-p", str(workdir), "-c", str(main),
                                "-e", str(proxy.error_log), "-g", "daemon off;"],
                               workdir / "nginx.stdout.log", cwd=workdir)
        err: Optional[str] = None
        deadline = t0 + startup_timeout
        while time.monotonic() < deadline:
            if proxy.process.poll() is not None:
                err = (f"nginx exited with {proxy.process.returncode}; "
                       f"{proxy.error_log}:\n{_tail(proxy.error_log)}")
                break
            # 401 without a token proves that *our* config answers on that port.
            if _http_probe(proxy.url + HEARTBEAT_PATH, verify=proxy.ca_path or True,
                           timeout=1.0) == 401:
                proxy.startup_seconds = time.monotonic() - t0
                break
            time.sleep(0.05)
        else:
            err = f"nginx did not answer within {startup_timeout}s:\n{_tail(proxy.error_log)}"
        if err is None:
            break
        proxy.stop()
        if "in use" in err and attempt + 1 < attempts:
            continue
        raise ServerStartError(err)
    assert proxy is not None
    try:
        yield proxy
    finally:
        proxy.stop()


# --------------------------------------------------------------------------
# chromadb HttpClient with timeouts
# --------------------------------------------------------------------------
_PATCH_LOCK = threading.Lock()


class _HttpxWithDefaults:
    """Stands in for the `httpx` module inside chromadb.api.fastapi while a client
    is constructed: httpx.Client(timeout=None, ...) gets our timeout instead, and a
    CA path string becomes an SSLContext (httpx 0.28 deprecates verify=<str>)."""

    def __init__(self, httpx_mod: Any, timeout: Any, verify: Any) -> None:
        self._httpx = httpx_mod
        self._timeout = timeout
        self._verify = verify

    def __getattr__(self, name: str) -> Any:
        return getattr(self._httpx, name)

    def Client(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (mirrors httpx)
        kwargs["timeout"] = self._timeout
        if self._verify is not None:
            kwargs["verify"] = self._verify
        elif isinstance(kwargs.get("verify"), (str, os.PathLike)):
            kwargs["verify"] = _ssl_context(kwargs["verify"])
        return self._httpx.Client(*args, **kwargs)


def make_http_client(host: str, port: int = 8000, *, ssl: bool = False,
                     token: Optional[str] = None, token_style: str = "bearer",
                     verify: Union[bool, str, os.PathLike, "_ssl.SSLContext", None] = None,
                     timeout: Optional[float] = 5.0, read_timeout: Optional[float] = None,
                     tenant: Optional[str] = None, database: Optional[str] = None) -> Any:
    """chromadb.HttpClient with the token header, a CA and *bounded* timeouts.

    chromadb 1.5.9 builds its httpx.Client with timeout=None and has no setting to
    change it, so a dead/black-holed host hangs for minutes. We temporarily swap the
    `httpx` name seen by chromadb.api.fastapi while the client is created (the
    constructor already sends 3 requests: auth/identity, tenant, database).
    `timeout` bounds connect/write/pool, `read_timeout` (default = timeout) bounds
    each read; None = chromadb's default (no timeout).
    `host` may also be a full URL ("https://host:port[/prefix]"); port is then ignored.
    """
    import chromadb
    import chromadb.api.fastapi as fastapi_mod
    import httpx
    from chromadb.config import DEFAULT_DATABASE, DEFAULT_TENANT, Settings

    headers = auth_headers(token, token_style) if token else {}
    settings = Settings(anonymized_telemetry=False)
    if verify is not None and not isinstance(verify, (_ssl.SSLContext,)):
        settings.chroma_server_ssl_verify = verify if isinstance(verify, bool) else os.fspath(verify)
    ctx = _ssl_context(verify) if verify is not None else None
    tmo = httpx.Timeout(timeout, read=read_timeout if read_timeout is not None else timeout)
    kwargs = dict(host=host, port=port, ssl=ssl, headers=headers, settings=settings,
                  tenant=tenant or DEFAULT_TENANT, database=database or DEFAULT_DATABASE)
    with _PATCH_LOCK:
        original = fastapi_mod.httpx
        fastapi_mod.httpx = _HttpxWithDefaults(httpx, tmo, ctx)  # type: ignore[assignment]
        try:
            return chromadb.HttpClient(**kwargs)
        finally:
            fastapi_mod.httpx = original


# --------------------------------------------------------------------------
# Failure simulators (loopback only)
# --------------------------------------------------------------------------
@contextlib.contextmanager
def blackhole_port() -> Iterator[int]:
    """A 127.0.0.1 port whose TCP connects hang (SYNs dropped): behaves like an
    unreachable host without sending anything off the machine. Linux: listen(0)
    and fill the accept queue, after which the kernel drops new SYNs."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: List[socket.socket] = []
    try:
        srv.bind((LOOPBACK, 0))
        srv.listen(0)
        port = srv.getsockname()[1]
        for _ in range(16):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(0.3)
            try:
                c.connect((LOOPBACK, port))
                fillers.append(c)
            except OSError:
                c.close()
                break
        else:
            raise ServerError("could not fill the accept queue for a black-hole port")
        yield port
    finally:
        for c in fillers:
            c.close()
        srv.close()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A 127.0.0.1 port that accepts connections and never answers (read timeout)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((LOOPBACK, 0))
    srv.listen(16)
    srv.settimeout(0.2)
    conns: List[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                conns.append(c)
            except (socket.timeout, OSError):
                continue

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        t.join(2)
        for c in conns:
            c.close()
        srv.close()


# --------------------------------------------------------------------------
# Self-check
# --------------------------------------------------------------------------
def _timed(fn: Any, limit: Optional[float] = None) -> tuple:
    """(seconds, exception or None, result). With limit, run in a thread and give up
    after `limit` s (the call is then reported as still hanging)."""
    box: Dict[str, Any] = {}

    def run() -> None:
        t0 = time.monotonic()
        try:
            box["res"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["exc"] = e
        box["dt"] = time.monotonic() - t0

    if limit is None:
        run()
    else:
        th = threading.Thread(target=run, daemon=True)
        th.start()
        th.join(limit)
        if th.is_alive():
            return (limit, TimeoutError(f"still hanging after {limit:.0f}s"), None)
    return (box["dt"], box.get("exc"), box.get("res"))


def _describe(exc: Optional[BaseException]) -> str:
    if exc is None:
        return "no error"
    def one(e: BaseException) -> str:
        msg = " ".join(str(e).split())[:160]
        return f"{type(e).__module__}.{type(e).__qualname__}: {msg}"

    cause = exc.__cause__ or exc.__context__
    s = one(exc)
    if cause is not None and type(cause) is not type(exc):
        s += f"  [from {one(cause)}]"
    return s


def _self_check() -> int:  # pragma: no cover - manual tool
    import tempfile
    import warnings

    import chromadb
    from chromadb.config import Settings

    warnings.simplefilter("default")
    warnings.simplefilter("ignore", ResourceWarning)  # unclosed clients of failed cases
    failures: List[str] = []
    results: List[tuple] = []

    def check(cond: bool, what: str) -> None:
        print(("  ok   " if cond else "  FAIL ") + what)
        if not cond:
            failures.append(what)

    def record(case: str, fn: Any, limit: Optional[float] = None) -> tuple:
        dt, exc, res = _timed(fn, limit)
        results.append((case, dt, _describe(exc)))
        print(f"  {case}: {dt:.2f}s -> {_describe(exc)}")
        return dt, exc, res

    token = "tok_" + os.urandom(12).hex()
    wrong = "tok_" + os.urandom(12).hex()
    emb = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]

    def exercise(client: Any, name: str) -> None:
        col = client.create_collection(name, embedding_function=None)
        col.add(ids=["a", "b", "c"], embeddings=emb, documents=["alpha", "beta", "gamma"])
        q = col.query(query_embeddings=[[0.1, 0.9, 0.0]], n_results=2)
        check(q["ids"][0] == ["b", "a"], f"{name}: add 3 + query -> {q['ids'][0]}")
        check(col.count() == 3, f"{name}: count == 3")

    with tempfile.TemporaryDirectory(prefix="mhqa-servers-") as tmp_s:
        tmp = Path(tmp_s)
        print(f"chroma: {find_chroma()}  nginx: {find_nginx()}")

        # nginx -t on the rendered template, both variants
        tpl = NGINX_TEMPLATE.read_text()
        tlsf = make_tls_material(tmp / "tcheck" / "tls")
        for tls in (True, False):
            d = tmp / f"tcheck-{tls}"
            (d / "tmp").mkdir(parents=True)
            site = d / "site.conf"
            site.write_text(render_nginx_conf(tpl, listen=f"127.0.0.1:{free_port()}",
                                              upstream="127.0.0.1:8000", token=token, tls=tls,
                                              cert=tlsf.cert, key=tlsf.key))
            (d / "nginx.conf").write_text(_nginx_main_conf(d, site))
            out = nginx_check_config(d / "nginx.conf", d)
            check("test is successful" in out, f"nginx -t on rendered template (tls={tls})")

        with chroma_server(tmp / "chroma") as srv:
            print(f"chroma run ready in {srv.startup_seconds:.2f}s at {srv.url}")
            direct = make_http_client(srv.host, srv.port)
            exercise(direct, "direct")
            restart_t = []
            for _ in range(2):
                srv.restart()
                restart_t.append(srv.startup_seconds)
            print(f"chroma restarts: {', '.join(f'{t:.2f}s' for t in restart_t)}")
            check(direct.get_collection("direct").count() == 3, "data persisted across restarts")

            for tls in (False, True):
                label = "https" if tls else "http"
                with nginx_proxy(srv.port, token, tmp / f"nginx-{label}", tls=tls) as px:
                    print(f"[{label}] nginx ready in {px.startup_seconds:.2f}s at {px.url}")
                    # 1. plain chromadb.HttpClient, exactly as documented
                    settings = Settings(anonymized_telemetry=False)
                    if tls:
                        settings.chroma_server_ssl_verify = str(px.ca_path)
                    with warnings.catch_warnings(record=True) as w:
                        warnings.simplefilter("always")
                        c = chromadb.HttpClient(host=px.host, port=px.port, ssl=tls,
                                                headers={"Authorization": f"Bearer {token}"},
                                                settings=settings)
                    dep = [str(x.message)[:60] for x in w if issubclass(x.category, DeprecationWarning)]
                    if dep:
                        print(f"  note: DeprecationWarning(s) with plain HttpClient: {dep}")
                    exercise(c, f"{label}-plain")
                    # 2. X-Chroma-Token header + full URL as host
                    c2 = make_http_client(px.url, token=token, token_style="x-chroma-token",
                                          verify=px.ca_path if tls else None)
                    check(c2.get_collection(f"{label}-plain").count() == 3,
                          f"{label}: X-Chroma-Token + full URL host={px.url}")
                    # 3. a big batch (body > client_body_buffer_size -> temp file path)
                    col = c2.create_collection(f"{label}-big", embedding_function=None)
                    import random
                    rnd = random.Random(1)
                    n = 3000
                    t0 = time.monotonic()
                    col.add(ids=[str(i) for i in range(n)],
                            embeddings=[[rnd.random() for _ in range(384)] for _ in range(n)],
                            documents=["x" * 500] * n)
                    check(col.count() == n, f"{label}: batch add of {n} x 384-d via proxy "
                                            f"({time.monotonic() - t0:.1f}s)")
                    got = col.get(include=["embeddings", "documents"])
                    check(len(got["ids"]) == n, f"{label}: large response through proxy")
                    # 4. failures
                    print(f"[{label}] failure cases")
                    hb = px.url + HEARTBEAT_PATH
                    for hdrs, want in (({"Authorization": f"bearer {token}"}, 200),
                                       ({"Authorization": f"Bearer  {token}"}, 200),
                                       ({"X-Chroma-Token": token, "Authorization": "Bearer x"}, 200),
                                       ({"Authorization": f"Bearer {token.upper()}"}, 401),
                                       ({"Authorization": f"Bearer {token}x"}, 401),
                                       ({"Authorization": f"Bearer x{token}"}, 401),
                                       ({"Authorization": token}, 401),
                                       ({"X-Chroma-Token": f"Bearer {token}"}, 401),
                                       ({}, 401)):
                        got_status = _http_probe(hb, verify=px.ca_path or True, headers=hdrs)
                        shown = {k: v.replace(token, "<tok>").replace(token.upper(), "<TOK>")
                                 for k, v in hdrs.items()}
                        check(got_status == want, f"{label}: {shown} -> {got_status} (want {want})")
                    if not tls:  # 413 answer is JSON (Content-Length over client_max_body_size)
                        with socket.create_connection((px.host, px.port), timeout=5) as sk:
                            sk.sendall(("POST /api/v2/heartbeat HTTP/1.1\r\nHost: x\r\n"
                                        f"Authorization: Bearer {token}\r\n"
                                        "Content-Length: 300000000\r\n\r\n").encode())
                            ans = sk.recv(4096).decode(errors="replace")
                        check(ans.startswith("HTTP/1.1 413") and '"InvalidArgumentError"' in ans,
                              "oversized body -> 413 with JSON InvalidArgumentError")
                    _, e, _ = record(f"{label} wrong token (construct)",
                                     lambda: px.client(token=wrong))
                    check(isinstance(e, chromadb.errors.AuthorizationError), "wrong token -> AuthorizationError")
                    _, e, _ = record(f"{label} no token (construct)",
                                     lambda: make_http_client(px.host, px.port, ssl=tls,
                                                              verify=px.ca_path if tls else None))
                    check(isinstance(e, chromadb.errors.AuthorizationError), "no token -> AuthorizationError")
                    _, e, _ = record(f"{label} wrong token (plain HttpClient)",
                                     lambda: chromadb.HttpClient(
                                         host=px.host, port=px.port, ssl=tls,
                                         headers={"X-Chroma-Token": wrong},
                                         settings=Settings(anonymized_telemetry=False,
                                                           chroma_server_ssl_verify=str(px.ca_path) if tls else None)))
                    if tls:
                        _, e, _ = record("https default CA store (verify=True)",
                                         lambda: make_http_client(px.host, px.port, ssl=True, token=token))
                        check(e is not None, "TLS with system CAs fails")
                        other = make_tls_material(tmp / "other-ca")
                        _, e, _ = record("https wrong CA file",
                                         lambda: make_http_client(px.host, px.port, ssl=True, token=token,
                                                                  verify=other.ca_cert))
                        check(e is not None, "TLS with a wrong CA fails")
                        _, e, _ = record("https host 'localhost' (SAN DNS)",
                                         lambda: make_http_client("localhost", px.port, ssl=True, token=token,
                                                                  verify=px.ca_path).heartbeat())
                        check(e is None, "https via localhost name verifies")
                        _, e, _ = record("http client -> https port",
                                         lambda: make_http_client(px.host, px.port, ssl=False, token=token))
                    # upstream down behind the proxy
                    live = px.client()
                    live_col = live.get_collection(f"{label}-plain")
                    srv.stop()
                    _, e, _ = record(f"{label} chroma down behind nginx (query existing client)",
                                     lambda: live_col.query(query_embeddings=[[1, 0, 0]], n_results=1))
                    check(isinstance(e, chromadb.errors.InternalError), "upstream down -> InternalError (502 JSON)")
                    _, e, _ = record(f"{label} chroma down behind nginx (construct)", lambda: px.client())
                    srv.start()
                    check(live_col.count() == 3, f"{label}: existing client recovers after restart")
                    # proxy itself down
                    px.stop()
                    _, e, _ = record(f"{label} nginx down (query existing client)",
                                     lambda: live_col.count())
                    _, e, _ = record(f"{label} nginx down (construct)", lambda: px.client())

            print("[direct] failure cases")
            live = make_http_client(srv.host, srv.port)
            live_col = live.get_collection("direct")
            # a hung (SIGSTOPped) server: port open, no answer
            with nginx_proxy(srv.port, token, tmp / "nginx-hung") as px:
                via = px.client().get_collection("direct")
                srv.pause()
                try:
                    record("hung server, direct (query existing client, timeout=5)",
                           lambda: live_col.count())
                    record("hung server behind nginx (query existing client, timeout=5)",
                           lambda: via.count())
                    record("hung server, direct (construct, timeout=5)",
                           lambda: make_http_client(srv.host, srv.port))
                finally:
                    srv.resume()
                check(live_col.count() == 3, "client works again after resume")
            srv.stop()
            record("direct server down (construct, make_http_client)",
                   lambda: make_http_client(srv.host, srv.port))
            record("direct server down (construct, plain HttpClient)",
                   lambda: chromadb.HttpClient(host=srv.host, port=srv.port,
                                               settings=Settings(anonymized_telemetry=False)))
            record("direct server down (query existing client)",
                   lambda: live_col.query(query_embeddings=[[1, 0, 0]], n_results=1))
            with blackhole_port() as bp:
                _, e, _ = record("unreachable host (construct, timeout=5)",
                                 lambda: make_http_client(LOOPBACK, bp, timeout=5.0))
                check(e is not None and results[-1][1] < 6.5, "unreachable host fails within ~5s")
                record("unreachable host (construct, plain HttpClient, gave up at 20s)",
                       lambda: chromadb.HttpClient(host=LOOPBACK, port=bp,
                                                   settings=Settings(anonymized_telemetry=False)),
                       limit=20.0)
            with silent_server() as sp:
                _, e, _ = record("silent server (construct, timeout=5)",
                                 lambda: make_http_client(LOOPBACK, sp, timeout=5.0))
                check(e is not None and results[-1][1] < 6.5, "silent server fails within ~5s")
                record("silent server (construct, plain HttpClient, gave up at 20s)",
                       lambda: chromadb.HttpClient(host=LOOPBACK, port=sp,
                                                   settings=Settings(anonymized_telemetry=False)),
                       limit=20.0)

    print("\nsummary of failure cases:")
    for case, dt, desc in results:
        print(f"  {dt:6.2f}s  {case}\n           {desc}")
    print(f"\n{len(failures)} failed checks" + (": " + "; ".join(failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(_self_check())
