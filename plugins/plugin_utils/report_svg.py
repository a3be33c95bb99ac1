# Copyright: dockernet.packetflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Geometry of the report's two drawings: the topology and the netfilter hook diagram.

Each drawing is a dict ``{width, height, shapes}``; a shape is a dict with ``t`` (rect,
text, line, path, circle) and its coordinates. The template turns shapes into SVG
elements and escapes every text.
"""

from __future__ import annotations

from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis import narrate
from ansible_collections.dockernet.packetflow.plugins.module_utils.analysis.vocabulary import HOOK_TABLES

HOOK_POS = {
    "PREROUTING": (80, 34),
    "FORWARD": (270, 34),
    "POSTROUTING": (460, 34),
    "INPUT": (80, 190),
    "OUTPUT": (460, 190),
}
BOX_W, TITLE_H, ROW_H = 130, 20, 17


def short(text, size):
    """Cut ``text`` to ``size`` characters, marking the cut."""
    text = str(text if text is not None else "")
    return text if len(text) <= size else text[: size - 1] + "…"


def _text(x, y, text, cls="", anchor="start", title=None):
    return dict(t="text", x=x, y=y, text=text, cls=cls, anchor=anchor, title=title)


def _rect(x, y, w, h, cls, title=None):
    return dict(t="rect", x=x, y=y, w=w, h=h, cls=cls, title=title)


def _line(x1, y1, x2, y2, cls):
    return dict(t="path", d="M%d %d L%d %d" % (x1, y1, x2, y2), cls=cls)


def hook_boxes(extra):
    """Hook boxes with their table rows; ``extra`` adds tables seen at a hook: security after
    filter, any other (a tracer's own table, hooked before raw) first."""
    boxes = {}
    for hook, (x, y) in HOOK_POS.items():
        others = [t for t in dict.fromkeys(extra.get(hook, [])) if t not in HOOK_TABLES[hook]]
        tables = (
            [t for t in others if t != "security"] + list(HOOK_TABLES[hook]) + [t for t in others if t == "security"]
        )
        rows = {t: y + TITLE_H + i * ROW_H for i, t in enumerate(tables)}
        boxes[hook] = dict(x=x, y=y, h=TITLE_H + len(tables) * ROW_H + 4, rows=rows)
    return boxes


def mid(box):
    """Height of a hook box's title line, where the arrows join it."""
    return box["y"] + TITLE_H // 2


def hook_diagram(packet, groups):
    """The five hooks with their tables, and this packet's numbered steps through them."""
    extra: dict[str, list[str]] = {}
    for group in groups:
        if group["hook"] in HOOK_POS:
            extra.setdefault(group["hook"], []).append(group["table"])
    boxes = hook_boxes(extra)
    shapes = []
    pre, fwd, post, inp, out = (boxes[h] for h in ("PREROUTING", "FORWARD", "POSTROUTING", "INPUT", "OUTPUT"))
    shapes += [
        _line(8, mid(pre), pre["x"], mid(pre), "flow"),
        _line(pre["x"] + BOX_W, mid(pre), fwd["x"], mid(fwd), "flow"),
        _line(fwd["x"] + BOX_W, mid(fwd), post["x"], mid(post), "flow"),
        _line(post["x"] + BOX_W, mid(post), 712, mid(post), "flow"),
        _line(pre["x"] + 40, pre["y"] + pre["h"], inp["x"] + 40, inp["y"], "flow"),
        _line(inp["x"] + BOX_W, mid(inp), 305, mid(inp), "flow"),
        _line(395, mid(out), out["x"], mid(out), "flow"),
        _line(out["x"] + 40, out["y"], post["x"] + 40, post["y"] + post["h"], "flow"),
        _rect(305, inp["y"], 90, 34, "proc"),
        _text(350, inp["y"] + 21, "local process", "small", "middle"),
        _text(10, mid(pre) - 6, "from a wire", "small muted"),
        _text(712, mid(post) - 6, "to a wire", "small muted", "end"),
        _text(fwd["x"] - 30, mid(fwd) + 14, "routing", "small muted", "middle"),
    ]
    for hook, box in boxes.items():
        shapes.append(_rect(box["x"], box["y"], BOX_W, box["h"], "hook"))
        shapes.append(_text(box["x"] + 6, box["y"] + 14, hook, "hooktitle"))
        for table, y in box["rows"].items():
            hit = any(g["hook"] == hook and g["table"] == table for g in groups)
            shapes.append(_rect(box["x"] + 4, y, BOX_W - 8, ROW_H - 2, "cell hit" if hit else "cell"))
            shapes.append(_text(box["x"] + 10, y + 12, table, "cellname"))
    points, marks = [], []
    used: dict[tuple[str, str], int] = {}
    for group in groups:
        box = boxes.get(group["hook"])
        if box is None or group["table"] not in box["rows"]:
            continue
        key = (group["hook"], group["table"])
        used[key] = used.get(key, 0) + 1
        x = box["x"] + BOX_W - 16 - 19 * (used[key] - 1)
        y = box["rows"][group["table"]] + ROW_H // 2 - 1
        points.append((x, y))
        marks.append(dict(t="circle", cx=x, cy=y, r=8, cls="step"))
        if group.get("nat"):
            marks.append(_text(box["x"] + 56, y + 4, group["nat"], "natmark"))
        marks.append(_text(x, y + 4, str(group["step"]), "stepnum", "middle"))
    if len(points) > 1:
        shapes.append(dict(t="path", d="M" + " L".join("%d %d" % p for p in points), cls="route"))
    shapes += marks
    hops = packet.get("hops") or []
    if hops and points:
        first = hops[0]
        if first.get("in"):
            shapes.append(_text(10, mid(pre) + 14, short("in " + first["in"], 14), "small", title=first["in"]))
        fate = packet.get("fate") or "unknown"
        hook = groups[-1]["hook"] if groups[-1]["hook"] in boxes else "PREROUTING"
        box = boxes[hook]
        text = short(narrate.verdict_label(packet), 24)
        if hook == "POSTROUTING":
            shapes.append(_text(box["x"] + BOX_W + 6, points[-1][1] + 4, text, "verdict " + fate))
        else:
            shapes.append(_text(box["x"] + 48, box["y"] + box["h"] + 14, text, "verdict " + fate))
    return dict(width=720, height=max(b["y"] + b["h"] for b in boxes.values()) + 22, shapes=shapes, empty=not points)


def topology(topo, host):
    """Containers, veths, bridges, the host and the outside client, with their addresses."""
    networks = list(topo.get("networks") or [])
    containers = list(topo.get("containers") or [])
    peer = topo.get("peer") or None
    known = {n.get("name") for n in networks}
    shared = [c for c in containers if c.get("network") == "host"]
    alone = [c for c in containers if c.get("network") not in known and c.get("network") != "host"]
    shapes = []
    host_x = 200 if peer else 10
    stack_x, top = host_x + 16, 56
    col_x = stack_x + 190
    columns = []
    for net in networks:
        members = [c for c in containers if c.get("network") == net.get("name")]
        width = max(1, len(members)) * 160 + 60
        columns.append((net, members, col_x, width))
        col_x += width + 10
    alone_x = col_x
    width = alone_x + (160 * len(alone)) + 20
    height = 290
    shapes.append(_rect(host_x, 10, width - host_x - 10, height - 20, "hostbox"))
    shapes.append(
        _text(host_x + 10, 30, short("host " + str(host.get("name") or ""), 48), "hosttitle", title=host.get("name"))
    )
    shapes.append(_rect(stack_x, top, 170, 86, "stack"))
    shapes.append(_text(stack_x + 8, top + 18, "host network stack", "bold"))
    shapes.append(
        _text(
            stack_x + 8,
            top + 36,
            short(host.get("primary_address") or "netfilter hooks here", 24),
            "mono" if host.get("primary_address") else "small muted",
        )
    )
    for i, c in enumerate(shared[:2]):
        shapes.append(
            _text(
                stack_x + 8,
                top + 54 + 16 * i,
                short("%s (--network host)" % c.get("name"), 26),
                "small",
                title=c.get("name"),
            )
        )
    bus_y = 262
    if columns:
        last = columns[-1]
        shapes.append(_line(stack_x + 85, top + 86, stack_x + 85, bus_y, "wire"))
        shapes.append(_line(stack_x + 85, bus_y, last[2] + last[3] // 2, bus_y, "wire"))
    for net, members, x, w in columns:
        bar_y = 206
        shapes.append(_line(x + w // 2, bar_y + 38, x + w // 2, bus_y, "wire"))
        shapes.append(_rect(x, bar_y, w, 38, "bridge", title=net.get("bridge")))
        label = "%s · %s" % (net.get("bridge") or "?", net.get("subnet") or "?")
        shapes.append(_text(x + 6, bar_y + 15, short(label, w // 7), "small", title=label))
        label = "network %s" % (net.get("name") or "?") + (" · gw %s" % net["gateway"] if net.get("gateway") else "")
        shapes.append(_text(x + 6, bar_y + 31, short(label, w // 6), "small muted", title=label))
        for i, c in enumerate(members):
            cx = x + i * 160 + 10
            shapes.append(_line(cx + 70, top + 120, cx + 70, bar_y, "wire veth"))
            shapes += _container(cx, top + 60, c)
            if c.get("veth"):
                shapes.append(_text(cx + 76, bar_y - 8, short(c["veth"], 18), "small muted", title=c["veth"]))
    for i, c in enumerate(alone):
        cx = alone_x + i * 160
        shapes += _container(cx, top + 60, c)
        shapes.append(
            _text(cx, top + 136, short("network %s: only lo" % (c.get("network") or "none"), 22), "small muted")
        )
    if peer:
        shapes.append(_rect(10, top, 160, 86, "peer"))
        shapes.append(_text(18, top + 18, "outside client", "bold"))
        shapes.append(
            _text(18, top + 36, short("netns " + str(peer.get("netns") or "?"), 22), "small", title=peer.get("netns"))
        )
        shapes.append(_text(18, top + 54, short(peer.get("ip") or "?", 22), "mono"))
        shapes.append(_line(170, top + 70, stack_x, top + 70, "wire veth"))
        shapes.append(
            _text(176, top + 64, short(peer.get("veth") or "veth", 14), "small muted", title=peer.get("veth"))
        )
        shapes.append(_text(stack_x - 4, top + 84, short(peer.get("host_ip") or "", 16), "small mono", "end"))
    return dict(width=width, height=height, shapes=shapes, empty=not (containers or peer))


def _container(x, y, c):
    return [
        _rect(x, y, 140, 60, "container", title=c.get("name")),
        _text(x + 8, y + 18, short(c.get("name") or "?", 18), "bold", title=c.get("name")),
        _text(x + 8, y + 36, short(c.get("ip") or "no address", 18), "mono"),
        _text(x + 8, y + 52, short("pid %s" % c["pid"] if c.get("pid") else "", 18), "small muted"),
    ]
