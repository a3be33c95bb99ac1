"""Fakes for the host side without root: a runner that plays a small host, a Docker client, a /proc."""

import os
import shutil


class FakeRunner:
    """Records every argv; answers from canned results, first registered prefix that matches wins."""

    def __init__(self):
        self.calls = []
        self.canned = []
        self.killed = []
        self.env = {}

    def on(self, prefix, rc=0, out="", err=""):
        self.canned.append((list(prefix), (rc, out, err)))
        return self

    def answer(self, argv):
        for prefix, result in self.canned:
            if argv[:len(prefix)] == prefix:
                return result
        return 0, "", ""

    def run(self, argv, timeout=10, check=False):
        self.calls.append(list(argv))
        rc, out, err = self.answer(list(argv))
        if check and rc != 0:
            raise RuntimeError("%s failed (rc %s): %s" % (" ".join(argv), rc, err))
        return rc, out, err

    def spawn(self, argv, **kwargs):
        raise AssertionError("nothing may be started in a unit test: %s" % argv)

    def kill(self, pid, signum):
        self.killed.append((pid, signum))


class Recorder(FakeRunner):
    """A FakeRunner that also keeps the lines each iptables-restore was given (its file goes after)."""

    def __init__(self):
        super().__init__()
        self.restored = []

    def run(self, argv, timeout=10, check=False):
        if argv[-1].endswith(".restore"):
            with open(argv[-1], encoding="utf-8") as handle:
                self.restored.append(handle.read().splitlines())
        return super().run(argv, timeout, check)


class FakeHost(FakeRunner):
    """A host's raw TRACE rules, nft tables, namespaces and links, changed by the commands run on it.
    Names in ``vanishing`` are listed once more, then gone before anyone can remove them."""

    def __init__(self):
        super().__init__()
        self.rules = {"legacy": [], "nft": [], "legacy6": [], "nft6": []}
        self.tables = set()
        self.netns = set()
        self.links = set()
        self.vanishing = set()
        self.proc_root = None

    def kill(self, pid, signum):
        """The process dies: its /proc entry goes."""
        super().kill(pid, signum)
        shutil.rmtree(os.path.join(self.proc_root, str(pid)))

    def _listed(self, names):
        shown = sorted(names)
        for name in list(names):
            if name in self.vanishing or (isinstance(name, tuple) and name[1] in self.vanishing):
                names.discard(name)
        return shown

    def answer(self, argv):
        if argv[0] in ("iptables-legacy-save", "iptables-nft-save", "ip6tables-legacy-save", "ip6tables-nft-save"):
            backend = argv[0].split("-")[1] + ("6" if argv[0].startswith("ip6") else "")
            rules = self.rules[backend]
            shown = list(rules)
            rules[:] = [r for r in rules if not any(v in r for v in self.vanishing)]
            return 0, "*raw\n:PREROUTING ACCEPT [0:0]\n%sCOMMIT\n" % "".join(r + "\n" for r in shown), ""
        if argv[0] in ("iptables-legacy", "iptables-nft", "ip6tables-legacy", "ip6tables-nft"):
            backend = argv[0].split("-")[1] + ("6" if argv[0].startswith("ip6") else "")
            rule = "-A " + " ".join('"%s"' % a if " " in a else a for a in argv[6:])
            present = rule in self.rules[backend]
            if argv[5] == "-D" and present:
                self.rules[backend].remove(rule)
            bad = "iptables: Bad rule (does a matching rule exist in that chain?)."
            return (0, "", "") if present else (1, "", bad)
        if argv[:3] == ["nft", "list", "tables"]:
            return 0, "".join("table %s %s\n" % t for t in self._listed(self.tables)), ""
        if argv[:3] in (["nft", "delete", "table"], ["nft", "list", "table"]):
            key = (argv[3], argv[4])
            present = key in self.tables
            if argv[1] == "delete":
                self.tables.discard(key)
            return (0, "table %s %s {\n}\n" % key, "") if present else (1, "", "Error: No such file or directory")
        if argv[:3] == ["ip", "netns", "list"]:
            return 0, "".join("%s (id: 0)\n" % n for n in self._listed(self.netns)), ""
        if argv[:3] == ["ip", "netns", "del"]:
            if argv[3] not in self.netns:
                return 1, "", 'Cannot remove namespace file "/run/netns/%s": No such file or directory' % argv[3]
            self.netns.discard(argv[3])
            return 0, "", ""
        if argv[:3] == ["ip", "-o", "link"]:
            return 0, "".join("%d: %s@if9: <BROADCAST,UP> mtu 1500\n" % (i + 2, n)
                              for i, n in enumerate(self._listed(self.links))), ""
        if argv[:3] in (["ip", "link", "del"], ["ip", "link", "show"]):
            name = argv[-1]
            present = name in self.links
            if argv[2] == "del":
                self.links.discard(name)
            return (0, "", "") if present else (1, "", 'Cannot find device "%s"' % name)
        return super().answer(argv)


class FakeObject:
    """A container or network of the fake engine."""

    def __init__(self, engine, kind, name, labels, **attrs):
        self.engine, self.kind, self.name, self.labels = engine, kind, name, labels
        self.id = "%s-%s" % (kind, name)
        self.short_id = self.id[:10]
        self.status = "running"
        self.attrs = dict(
            {"State": {"Pid": 4242}, "NetworkSettings": {"Networks": {}}, "HostConfig": {}, "Labels": labels}, **attrs
        )

    def remove(self, force=False):
        if self not in self.engine.objects:
            raise RuntimeError("404 Client Error: No such container: %s" % self.name)
        self.engine.objects.remove(self)
        self.engine.log.append(("remove", self.kind, self.name))

    def reload(self):
        pass


class FakeCollection:
    """client.containers or client.networks: list with Docker's label, id and name filters, get, create, run."""

    def __init__(self, engine, kind):
        self.engine, self.kind = engine, kind

    def list(self, all=False, filters=None):
        found = [o for o in self.engine.objects if o.kind == self.kind]
        for key, value in (filters or {}).items():
            if key == "label":
                name, dummy, want = value.partition("=")
                found = [o for o in found if name in o.labels and (not want or o.labels[name] == want)]
            elif key == "id":
                found = [o for o in found if o.id == value]
            elif key == "name":
                found = [o for o in found if "^/%s$" % o.name == value]
        return found

    def get(self, name):
        for obj in self.list():
            if obj.name == name:
                return obj
        raise RuntimeError("404 Client Error: Not Found (no such image: %s)" % name)

    def create(self, name, driver=None, labels=None):
        obj = FakeObject(self.engine, self.kind, name, labels or {}, Id="%064d" % len(self.engine.objects))
        self.engine.objects.append(obj)
        self.engine.log.append(("create", self.kind, name, dict(driver=driver, labels=labels)))
        return obj

    def run(self, image, **kwargs):
        obj = FakeObject(self.engine, self.kind, kwargs["name"], kwargs.get("labels") or {})
        self.engine.objects.append(obj)
        self.engine.log.append(("run", image, kwargs))
        return obj


class FakeDocker:
    """A Docker client holding containers, networks and images in memory."""

    def __init__(self):
        self.objects = []
        self.log = []
        self.containers = FakeCollection(self, "container")
        self.networks = FakeCollection(self, "network")
        self.images = FakeCollection(self, "image")

    def add(self, kind, name, labels=None, **attrs):
        obj = FakeObject(self, kind, name, labels or {}, **attrs)
        self.objects.append(obj)
        return obj


def fake_process(proc_root, pid, environ):
    """A /proc/<pid>/environ under proc_root."""
    os.makedirs(os.path.join(str(proc_root), str(pid)))
    with open(os.path.join(str(proc_root), str(pid), "environ"), "wb") as handle:
        handle.write(b"\0".join(b"%s=%s" % (k.encode(), v.encode()) for k, v in environ.items()) + b"\0")
