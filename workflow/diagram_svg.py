"""Draw a definition as an inline SVG state diagram (server-side, no JavaScript).

Layout: states are layered top to bottom by their BFS depth from the initial state
(unreachable states after the deepest reachable layer, final states in the last
layer), ordered within a layer by the mean position of their predecessors. An edge
from one layer to the next is a straight arrow; every other edge (a back edge, an
edge skipping layers, an edge within a layer) is routed around the boxes: down into
the gap below its source, sideways to its own vertical lane (left of the boxes for
back edges, right for the rest), along the lane and in through the gap above its
target. Transitions sharing source and target share one arrow whose label lists
their labels (in the diagram's locale) one per line; the trigger code names are the
label's tooltip. Labels get a white halo and are nudged apart.

Only presentation attributes and classes are used (no ``style=``), so a strict
Content-Security-Policy allows the markup; all text is XML-escaped. The module is
presentation-only and depends on nothing outside :mod:`workflow`.
"""

from __future__ import annotations

import unicodedata
from collections import deque
from dataclasses import dataclass, field
from html import escape

from .spec import Definition

BOX_H, ROW_GAP, COL_GAP, MARGIN = 38, 64, 36, 16
LANE_GAP, TRACK_GAP, LINE_H, FONT = 16, 7, 14, 13
FILL, STROKE, CURRENT_FILL, CURRENT_STROKE = "#ffffff", "#475569", "#fde68a", "#b45309"


def text_width(text: str, size: float = FONT) -> float:
    """Estimated rendered width of ``text``: wide (CJK) characters a full em, others
    about 0.6 em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6
               for c in text)


@dataclass
class _Box:
    name: str
    label: str
    layer: int
    width: float
    x: float = 0.0
    y: float = 0.0

    @property
    def cx(self) -> float:
        return self.x + self.width / 2


@dataclass
class _Edge:
    source: str
    dest: str
    labels: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)


def _layers(definition: Definition) -> dict[str, int]:
    """State → layer (see the module docstring)."""
    succ: dict[str, list[str]] = {s: [] for s in definition.states}
    for t in definition.transitions:
        for s in t.sources:
            succ[s].append(t.dest)
    depth = {definition.initial: 0}
    queue = deque([definition.initial])
    while queue:
        s = queue.popleft()
        for d in succ[s]:
            if d not in depth and not definition.states[d].final:
                depth[d] = depth[s] + 1
                queue.append(d)
    deepest = max(depth.values())
    for name, state in definition.states.items():
        if name not in depth and not state.final:
            depth[name] = deepest + 1
    last = max(depth.values()) + 1
    for name, state in definition.states.items():
        if state.final:
            depth[name] = 0 if name == definition.initial else last
    return depth


def _edges(definition: Definition, locale: str) -> list[_Edge]:
    merged: dict[tuple[str, str], _Edge] = {}
    for t in definition.transitions:
        label = t.label.get(locale) if t.label else t.trigger
        for s in t.sources:
            edge = merged.setdefault((s, t.dest), _Edge(s, t.dest))
            if label not in edge.labels:
                edge.labels.append(label)
            if t.trigger not in edge.triggers:
                edge.triggers.append(t.trigger)
    return list(merged.values())


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _place(definition: Definition, locale: str, edges: list[_Edge]) -> dict[str, _Box]:
    """Boxes with their sizes and positions, rows centred on the widest."""
    layer_of = _layers(definition)
    boxes = {n: _Box(n, s.label.get(locale), layer_of[n],
                     max(84.0, text_width(s.label.get(locale)) + 28))
             for n, s in definition.states.items()}
    preds: dict[str, list[str]] = {n: [] for n in boxes}
    for e in edges:
        if boxes[e.source].layer < boxes[e.dest].layer:
            preds[e.dest].append(e.source)
    order = list(definition.states)
    rows: dict[int, list[_Box]] = {}
    position: dict[str, float] = {}
    for layer in sorted(set(layer_of.values())):
        members = [boxes[n] for n in order if layer_of[n] == layer]
        members.sort(key=lambda b: _mean([position[p] for p in preds[b.name]
                                          if p in position]))
        for i, b in enumerate(members):
            position[b.name] = i - (len(members) - 1) / 2
        rows[layer] = members
    widest = max(sum(b.width for b in r) + COL_GAP * (len(r) - 1) for r in rows.values())
    for index, layer in enumerate(sorted(rows)):
        row = rows[layer]
        x = (widest - (sum(b.width for b in row) + COL_GAP * (len(row) - 1))) / 2
        for b in row:
            b.x, b.y = x, index * (BOX_H + ROW_GAP)
            x += b.width + COL_GAP
        for b in row:
            b.layer = index
    return boxes


class _Canvas:
    """Collects SVG elements and the bounding box they cover."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.labels: list[str] = []
        self.taken: list[tuple[float, float, float, float]] = []
        self.x0 = self.y0 = float("inf")
        self.x1 = self.y1 = float("-inf")

    def cover(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.x0, self.y0 = min(self.x0, x0), min(self.y0, y0)
        self.x1, self.y1 = max(self.x1, x1), max(self.y1, y1)

    def label(self, lines: list[str], x: float, y: float, anchor: str,
              tip: list[str] | None = None) -> None:
        """A (multi-line) label at ``x``, first baseline near ``y``, nudged down until it
        overlaps no other label; ``tip`` (the trigger names) is its tooltip."""
        width = max(text_width(s, FONT - 2) for s in lines)
        height = LINE_H * len(lines)
        left = x - width / 2 if anchor == "middle" else x - width if anchor == "end" else x
        top = y - LINE_H + 3
        while any(left < r[2] and r[0] < left + width and top < r[3] and r[1] < top + height
                  for r in self.taken):
            top += 4
        self.taken.append((left, top, left + width, top + height))
        self.cover(left, top, left + width, top + height)
        spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE_H}">{escape(s)}</tspan>'
                        for i, s in enumerate(lines))
        text = (f'<text class="wf-label" x="{x:.1f}" y="{top + LINE_H - 3:.1f}" '
                f'text-anchor="{anchor}" font-size="{FONT - 2}">{spans}</text>')
        if tip:
            text = f'<g class="wf-edge-label"><title>{escape(", ".join(tip))}</title>{text}</g>'
        self.labels.append(text)

    def path(self, points: list[tuple[float, float]], marker: str, css: str) -> None:
        for px, py in points:
            self.cover(px, py, px, py)
        d = " ".join(f"{'M' if i == 0 else 'L'}{px:.1f},{py:.1f}"
                     for i, (px, py) in enumerate(points))
        end = f' marker-end="url(#{marker})"' if marker else ""
        self.parts.append(f'<path class="{css}" d="{d}" fill="none" stroke="{STROKE}" '
                          f'stroke-width="1.3"{end}/>')


@dataclass
class _Route:
    """Routed edges sharing target, side and labels: one lane, one arrowhead."""

    dest: str
    side: str  # "left" (back edges) or "right"
    labels: list[str]
    triggers: list[str]
    sources: list[str]
    lane: float = 0.0


def _routes(edges: list[_Edge], boxes: dict[str, _Box]) -> tuple[list[_Edge], list[_Route]]:
    """Split ``edges`` into straight ones (to the next layer, or loops) and routes."""
    straight, routes = [], {}
    for e in edges:
        s, d = boxes[e.source], boxes[e.dest]
        if e.source == e.dest or d.layer == s.layer + 1:
            straight.append(e)
            continue
        side = "left" if d.layer < s.layer else "right"
        key = (e.dest, side, tuple(e.labels), tuple(e.triggers))
        routes.setdefault(key, _Route(e.dest, side, e.labels, e.triggers, [])
                          ).sources.append(e.source)
    return straight, list(routes.values())


def _ports(straight: list[_Edge], routes: list[_Route], boxes: dict[str, _Box],
           edge_side: dict) -> dict:
    """x of each connection on the bottom (out) or top (in) side of a box, spread out
    and ordered by where the other end lies; side connections are left out."""
    ends: dict[tuple[str, str], list[tuple[float, object]]] = {}
    for e in straight:
        if e.source != e.dest:
            ends.setdefault(("out", e.source), []).append((boxes[e.dest].cx, e))
            ends.setdefault(("in", e.dest), []).append((boxes[e.source].cx, e))
    for r in routes:
        far = -1e9 if r.side == "left" else 1e9
        for src in r.sources:
            if edge_side.get(("out", src, id(r))) is None:
                ends.setdefault(("out", src), []).append((far, (src, id(r))))
        if edge_side.get(("in", r.dest, id(r))) is None:
            ends.setdefault(("in", r.dest), []).append((far, id(r)))
    ports = {}
    for (kind, name), members in ends.items():
        box = boxes[name]
        members.sort(key=lambda m: m[0])
        for k, (_, ref) in enumerate(members):
            ports[(kind, id(ref) if isinstance(ref, _Edge) else ref)] = (
                box.x + box.width * (k + 1) / (len(members) + 1))
    return ports


def _at_row_end(box: _Box, boxes: dict[str, _Box], side: str) -> bool:
    row = [b for b in boxes.values() if b.layer == box.layer]
    return box is (min(row, key=lambda b: b.x) if side == "left" else max(row, key=lambda b: b.x))


class _Router:
    """Draws the edges: lanes, side exits and ports are assigned once, up front."""

    def __init__(self, canvas: _Canvas, edges: list[_Edge], boxes: dict[str, _Box],
                 marker: str) -> None:
        self.canvas, self.boxes, self.marker = canvas, boxes, marker
        self.straight, self.routes = _routes(edges, boxes)
        self.side_exits: dict = {}
        self.tracks: dict[float, int] = {}
        self.side_count: dict[tuple[str, str], int] = {}
        self._assign_lanes()
        self.ports = _ports(self.straight, self.routes, boxes, self.side_exits)

    def _assign_lanes(self) -> None:
        """Shorter routes get the inner lanes; a route leaves or enters a box by its
        side when that box ends its row on the lane's side (nothing in the way)."""
        boxes = self.boxes
        left = min(b.x for b in boxes.values())
        right = max(b.x + b.width for b in boxes.values())
        lanes = {"left": 0, "right": 0}
        self.routes.sort(key=lambda r: max(abs(boxes[s].y - boxes[r.dest].y)
                                           for s in r.sources))
        for r in self.routes:
            lanes[r.side] += 1
            r.lane = (left - LANE_GAP * lanes[r.side] if r.side == "left"
                      else right + LANE_GAP * lanes[r.side])
            for src in r.sources:
                if _at_row_end(boxes[src], boxes, r.side):
                    self.side_exits[("out", src, id(r))] = r.side
            if _at_row_end(boxes[r.dest], boxes, r.side):
                self.side_exits[("in", r.dest, id(r))] = r.side

    def track(self, gap_top: float) -> float:
        """The next free horizontal track in the gap starting at ``gap_top``."""
        n = self.tracks.get(gap_top, 0)
        self.tracks[gap_top] = n + 1
        return gap_top + 8 + TRACK_GAP * (n % ((ROW_GAP - 16) // TRACK_GAP))

    def side_y(self, name: str, side: str) -> float:
        """The next free height on one side of a box."""
        n = self.side_count.get((name, side), 0)
        self.side_count[(name, side)] = n + 1
        return self.boxes[name].y + BOX_H / 2 + (0, -9, 9)[n % 3]

    def draw(self) -> None:
        for e in self.straight:
            self._straight(e)
        for r in self.routes:
            self._route(r)

    def _straight(self, e: _Edge) -> None:
        s, d = self.boxes[e.source], self.boxes[e.dest]
        if e.source == e.dest:
            x, y = s.x + s.width, s.y + BOX_H / 2
            self.canvas.path([(x, y - 8), (x + 18, y - 8), (x + 18, y + 8), (x + 2, y + 8)],
                             self.marker, "wf-edge")
            self.canvas.label(e.labels, x + 22, y + 4, "start", e.triggers)
            return
        sx, dx = self.ports[("out", id(e))], self.ports[("in", id(e))]
        self.canvas.path([(sx, s.y + BOX_H), (dx, d.y - 2)], self.marker, "wf-edge")
        self.canvas.label(e.labels, (sx + dx) / 2, (s.y + BOX_H + d.y) / 2 + 4, "middle",
                          e.triggers)

    def _route(self, r: _Route) -> None:
        heights = []
        for src in r.sources:
            s = self.boxes[src]
            if self.side_exits.get(("out", src, id(r))):
                y = self.side_y(src, r.side)
                points = [(s.x if r.side == "left" else s.x + s.width, y), (r.lane, y)]
            else:
                sx, y = self.ports[("out", (src, id(r)))], self.track(s.y + BOX_H)
                points = [(sx, s.y + BOX_H), (sx, y), (r.lane, y)]
            heights.append(y)
            self.canvas.path(points, "", "wf-edge wf-routed")
        d = self.boxes[r.dest]
        if self.side_exits.get(("in", r.dest, id(r))):
            y = self.side_y(r.dest, r.side)
            tail = [(r.lane, y), (d.x - 2 if r.side == "left" else d.x + d.width + 2, y)]
        else:
            dx, y = self.ports[("in", id(r))], self.track(d.y - ROW_GAP)
            tail = [(r.lane, y), (dx, y), (dx, d.y - 2)]
        top, bottom = min(heights + [y]), max(heights + [y])
        self.canvas.path([(r.lane, top), (r.lane, bottom)], "", "wf-edge wf-routed")
        self.canvas.path(tail, self.marker, "wf-edge wf-routed")
        self.canvas.label(r.labels, r.lane + (4 if r.side == "right" else -4),
                          (top + bottom) / 2 + 4, "start" if r.side == "right" else "end",
                          r.triggers)


def _draw_box(canvas: _Canvas, box: _Box, final: bool, current: bool) -> None:
    css = "wf-state" + (" current" if current else "") + (" final" if final else "")
    fill, stroke = (CURRENT_FILL, CURRENT_STROKE) if current else (FILL, STROKE)
    width = 3 if current else 1.4
    canvas.cover(box.x, box.y, box.x + box.width, box.y + BOX_H)
    parts = [f'<g class="{css}" data-state="{escape(box.name)}">',
             f'<title>{escape(box.label)} ({escape(box.name)})</title>',
             f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
             f'height="{BOX_H}" rx="7" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>']
    if final:
        parts.append(f'<rect class="wf-inner" x="{box.x + 4:.1f}" y="{box.y + 4:.1f}" '
                     f'width="{box.width - 8:.1f}" height="{BOX_H - 8}" rx="4" fill="none" '
                     f'stroke="{stroke}" stroke-width="1.2"/>')
    weight = ' font-weight="bold"' if current else ""
    parts.append(f'<text x="{box.cx:.1f}" y="{box.y + BOX_H / 2 + FONT / 2 - 2:.1f}" '
                 f'text-anchor="middle" font-size="{FONT}"{weight}>{escape(box.label)}</text>')
    parts.append("</g>")
    canvas.parts.append("".join(parts))


def svg(definition: Definition, current: str | None = None, locale: str = "zh",
        *, id_prefix: str | None = None) -> str:
    """The state diagram of ``definition`` as an ``<svg>`` element (a string), with
    ``current`` highlighted (class ``current``, filled, bold border) and final states
    double-bordered (class ``final``). ``id_prefix`` keeps element ids unique when a
    page shows several diagrams."""
    prefix = escape(id_prefix or f"wf-{definition.key}")
    marker = f"{prefix}-arrow"
    edges = _edges(definition, locale)
    boxes = _place(definition, locale, edges)
    canvas = _Canvas()
    start = boxes[definition.initial]
    canvas.parts.append(f'<circle class="wf-start" cx="{start.cx:.1f}" cy="{start.y - 30}" '
                        f'r="6" fill="{STROKE}"/>')
    canvas.path([(start.cx, start.y - 24), (start.cx, start.y - 2)], marker, "wf-edge")
    _Router(canvas, edges, boxes, marker).draw()
    for name, state in definition.states.items():
        _draw_box(canvas, boxes[name], state.final, name == current)
    x0, y0 = canvas.x0 - MARGIN, canvas.y0 - MARGIN
    width, height = canvas.x1 - canvas.x0 + 2 * MARGIN, canvas.y1 - canvas.y0 + 2 * MARGIN
    title = escape(definition.title.get(locale))
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="wf-diagram" role="img" '
            f'aria-labelledby="{prefix}-title" viewBox="{x0:.1f} {y0:.1f} {width:.1f} '
            f'{height:.1f}" width="{width:.0f}" height="{height:.0f}" '
            f'font-family="system-ui, \'Noto Sans CJK SC\', \'Microsoft YaHei\', sans-serif">'
            f'<title id="{prefix}-title">{title}</title>'
            f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{STROKE}"/></marker></defs>')
    halo = ('<g class="wf-labels" fill="#1e293b" stroke="#ffffff" stroke-width="4" '
            'stroke-linejoin="round" paint-order="stroke">')
    return (head + "".join(canvas.parts) + halo + "".join(canvas.labels) + "</g></svg>")
