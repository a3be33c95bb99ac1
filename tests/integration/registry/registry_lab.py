"""A real distribution registry (Debian's docker-registry) for the lab_image tests, and what they compare."""

import hashlib
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
PLAYBOOK = Path(__file__).parent / "playbooks" / "lab_image.yml"
CERTS_D = Path("/etc/docker/certs.d")
DOCKER_CONFIG = Path.home() / ".docker" / "config.json"
ASYNC_DIR = Path.home() / ".ansible_async"
REPOSITORY = "packetflow/mybusybox:latest"
USER = "pf-puller"


def free_port(host):
    """A TCP port nothing listens on at host right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def docker0_address():
    """The IPv4 address of docker0: a host address the engine does not treat as an insecure registry."""
    out = subprocess.run(["ip", "-j", "-4", "addr", "show", "docker0"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]["addr_info"][0]["local"]


def make_tls(workdir, address):
    """A CA and a server certificate for address, made with openssl; returns (ca, cert, key) paths."""
    ca_key, ca, key, csr, cert = (workdir / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt"))
    ext = workdir / "san.ext"
    ext.write_text("subjectAltName=IP:%s\n" % address)
    for args in (
        [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            ca_key,
            "-out",
            ca,
            "-days",
            "1",
            "-subj",
            "/CN=packetflow test CA",
        ],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=" + address],
        [
            "x509",
            "-req",
            "-in",
            csr,
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "1",
            "-extfile",
            ext,
        ],
    ):
        subprocess.run(["openssl", *map(str, args)], capture_output=True, check=True)
    return ca, cert, key


def htpasswd(path, user, password):
    """An htpasswd file with one bcrypt entry (the registry accepts bcrypt only)."""
    line = subprocess.run(["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True).stdout
    path.write_text(line.strip() + "\n")
    return path


class Registry:
    """docker-registry serve on host:port with the test's config, storage and log under workdir."""

    def __init__(self, workdir, storage, host="127.0.0.1", htpasswd_file=None, tls=None):
        self.host, self.port = host, free_port(host)
        self.address = "%s:%d" % (self.host, self.port)
        self.tls = tls
        http = {"addr": self.address}
        if tls:
            http["tls"] = {"certificate": str(tls[1]), "key": str(tls[2])}
        config = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(storage)}},
            "http": http,
        }
        if htpasswd_file:
            config["auth"] = {"htpasswd": {"realm": "packetflow-test", "path": str(htpasswd_file)}}
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "config.yml"
        self.config.write_text(json.dumps(config))  # YAML reads JSON
        self.log = workdir / "registry.log"
        self.proc = None

    def start(self):
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["docker-registry", "serve", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        context = ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else None
        url = "%s://%s/v2/" % ("https" if self.tls else "http", self.address)
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(url, timeout=1, context=context)  # noqa: S310 (the test's own registry)
                return self
            except urllib.error.HTTPError:
                return self  # 401: it answers, with authentication
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("docker-registry did not start: " + self.log.read_text()) from None
                time.sleep(0.1)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def listening(self):
        """Whether anything still accepts connections at the registry's address."""
        with socket.socket() as sock:
            return sock.connect_ex((self.host, self.port)) == 0


class SilentRegistry:
    """A port that accepts TCP connections and never answers: a registry that hangs."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.address = "%s:%d" % self.sock.getsockname()

    def close(self):
        self.sock.close()


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check).stdout


def image_id(ref):
    """The image id ref names, or None."""
    proc = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _tree(top):
    return (
        {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(top.rglob("*")) if p.is_file()}
        if top.is_dir()
        else None
    )


def snapshot():
    """Images with their tags, the engine's registry certificates, the client's logins and async job files."""
    return {
        "images": sorted(
            docker("image", "ls", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").splitlines()
        ),
        "certs.d": _tree(CERTS_D),
        "docker config": DOCKER_CONFIG.read_text() if DOCKER_CONFIG.exists() else None,
        "async jobs": sorted(os.listdir(ASYNC_DIR)) if ASYNC_DIR.is_dir() else [],
    }


def run_role(extra_vars, check=False, vault=None):
    """ansible-playbook running lab_image on localhost; vault=(vars_file, password_file) adds encrypted vars."""
    cmd = [
        str(BIN / "ansible-playbook"),
        "-i",
        str(REPO / "inventory" / "localhost.yml"),
        str(PLAYBOOK),
        "-e",
        json.dumps(extra_vars),
    ]
    if vault:
        cmd += ["-e", "@%s" % vault[0], "--vault-password-file", str(vault[1])]
    if check:
        cmd.append("--check")
    env = dict(os.environ, ANSIBLE_PIPELINING="1", ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    proc.seconds = time.monotonic() - start
    return proc


def recap(output):
    """The play recap counters of localhost."""
    for line in output.splitlines():
        if line.startswith("localhost") and ":" in line:
            return {k: int(v) for k, v in (f.split("=") for f in line.split(":", 1)[1].split())}
    return {}


def provenance(output):
    """The role's line saying where the lab image came from."""
    for line in output.splitlines():
        if '"msg": "' in line and " from " in line:
            return line.split('"msg": "', 1)[1].rstrip('"')
    return ""
