"""The task-graph panel: one node per task, coloured by state, edges per dependency,
columns by topological generation, and a final "answer" node for the responder stage.

The scene only draws a TurnState; the window folds events into the state and tells the view
which nodes changed (the executor reports, the scene subscribes and draws)."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsTextItem,
    QGraphicsView,
    QWidget,
)

from desktop import theme
from desktop.evidence_text import download_line
from desktop.state import RESPONSE_ID, TaskState, TurnState
from desktop.theme import STATE_LABELS

NODE_W, NODE_H = 190.0, 78.0
NODE_W_VERTICAL = 280.0  # top-to-bottom there is room for the full task name
COL_GAP, ROW_GAP = 56.0, 26.0  # left-to-right layout: between generations, between siblings
V_GAP, H_GAP = 46.0, 24.0  # top-to-bottom layout


def short_model(model: str) -> str:
    return model.split("/")[-1] if model else ""


class TaskNode(QGraphicsObject):
    """A rounded card: '#id task', the model, and the state (with a progress bar while running)."""

    clicked = Signal(int)
    download_clicked = Signal(int)

    def __init__(self, task_id: int, width: float = NODE_W) -> None:
        super().__init__()
        self.task_id = task_id
        self.w = width
        self.state = "pending"
        self.title = ""
        self.model = ""
        self.detail = ""
        self.fraction: float | None = None
        self.phase = 0.0  # for the indeterminate progress stripe
        self.selected_node = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, False)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return QRectF(-3, -3, self.w + 6, NODE_H + 6)

    def show(self, state: str, title: str, model: str, detail: str, fraction: float | None) -> None:
        self.state, self.title, self.model, self.detail, self.fraction = state, title, model, detail, fraction
        self.setToolTip(f"{title}\n{model}\n{detail}".strip())
        self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: ANN001 - Qt API
        colours = theme.state_colours()
        fill, accent = colours.get(self.state, colours["pending"])
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(0, 0, self.w, NODE_H)
        painter.setPen(QPen(QColor(accent), 3.0 if self.selected_node else 1.6))
        painter.setBrush(QBrush(QColor(fill)))
        painter.drawRoundedRect(rect, 9, 9)
        # State stripe on the left edge.
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(accent))
        painter.drawRoundedRect(QRectF(0, 0, 7, NODE_H), 3, 3)

        title_font = QFont()
        title_font.setPointSizeF(9.5)
        title_font.setBold(True)
        small = QFont()
        small.setPointSizeF(8.5)
        painter.setPen(QColor(theme.ink("title")))
        painter.setFont(title_font)
        text_w = self.w - 22
        painter.drawText(QRectF(14, 6, text_w, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(title_font).elidedText(self.title, Qt.TextElideMode.ElideRight, int(text_w)))
        painter.setFont(small)
        painter.setPen(QColor(theme.ink("text")))
        painter.drawText(QRectF(14, 25, text_w, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(small).elidedText(self.model or "—", Qt.TextElideMode.ElideMiddle, int(text_w)))
        painter.setPen(QColor(accent).lighter(125) if theme.is_dark() else QColor(accent).darker(130))
        detail_w = text_w - (self.button_rect().width() + 6 if self.state == "download" else 0)
        painter.drawText(QRectF(14, 42, detail_w, 16), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         QFontMetrics(small).elidedText(self.detail, Qt.TextElideMode.ElideRight, int(detail_w)))
        if self.state == "download":  # the node's own button: fetch the model, then run the task
            button = self.button_rect()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.ink("button")))
            painter.drawRoundedRect(button, 5, 5)
            painter.setPen(QColor(theme.ink("button_text")))
            painter.setFont(small)
            painter.drawText(button, Qt.AlignmentFlag.AlignCenter, "Download")
        if self.state == "running":
            bar = QRectF(14, NODE_H - 13, self.w - 28, 6)
            painter.setBrush(QColor(theme.ink("track")))
            painter.drawRoundedRect(bar, 3, 3)
            painter.setBrush(QColor(accent))
            if self.fraction is not None:
                painter.drawRoundedRect(QRectF(bar.x(), bar.y(), bar.width() * max(0.0, min(1.0, self.fraction)),
                                               bar.height()), 3, 3)
            else:  # indeterminate: a sliding segment
                seg = bar.width() * 0.3
                x = bar.x() + (bar.width() - seg) * (0.5 + 0.5 * _tri(self.phase))
                painter.drawRoundedRect(QRectF(x, bar.y(), seg, bar.height()), 3, 3)

    def button_rect(self) -> QRectF:
        return QRectF(self.w - 84, NODE_H - 26, 74, 20)

    def mousePressEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        if self.state == "download" and self.button_rect().contains(event.pos()):
            self.download_clicked.emit(self.task_id)
        else:
            self.clicked.emit(self.task_id)
        event.accept()


def _tri(phase: float) -> float:
    """A triangle wave in [-1, 1]."""
    return 2.0 * abs(phase % 2.0 - 1.0) - 1.0


class TaskGraphView(QGraphicsView):
    node_clicked = Signal(int)
    download_clicked = Signal(int)  # a node's Download button

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graph")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setBackgroundBrush(QColor(theme.ink("canvas")))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(300, 220)
        self.turn: TurnState | None = None
        self.nodes: dict[int, TaskNode] = {}
        self.edges: list[tuple[int, int, QGraphicsPathItem, QGraphicsPolygonItem]] = []
        self._layout_key: tuple = ()
        self._columns: list[list[int]] = []
        self.vertical = False
        self._selected: int | None = None
        self._anim = QTimer(self)
        self._anim.setInterval(60)
        self._anim.timeout.connect(self._tick)
        self._placeholder()

    # ------------------------------------------------------------------ public
    def set_turn(self, turn: TurnState | None) -> None:
        self.turn = turn
        self._layout_key = ()
        self._selected = None
        self.refresh()

    def refresh(self, changed: set[int] | None = None) -> None:
        """Redraw after the turn state changed; re-lay out only when the set of tasks changed."""
        turn = self.turn
        if turn is None or not turn.tasks:
            self._placeholder(turn)
            return
        key = tuple(sorted((t.id, tuple(t.dep)) for t in turn.tasks.values()))
        if key != self._layout_key:
            self._build(turn)
            self._layout_key = key
            changed = None
        for tid, node in self.nodes.items():
            if changed is None or tid in changed:
                self._show_node(node, turn)
        self._colour_edges()
        running = any(n.state == "running" for n in self.nodes.values())
        if running and not self._anim.isActive():
            self._anim.start()
        elif not running:
            self._anim.stop()

    def select(self, task_id: int | None) -> None:
        self._selected = task_id
        for tid, node in self.nodes.items():
            node.selected_node = tid == task_id
            node.update()

    def restyle(self) -> None:
        """Redraw everything in the current theme's colours."""
        self.setBackgroundBrush(QColor(theme.ink("canvas")))
        self._layout_key = ()
        self.refresh()

    def node_state(self, task_id: int) -> str | None:
        node = self.nodes.get(task_id)
        return node.state if node else None

    # ------------------------------------------------------------------ drawing
    def _placeholder(self, turn: TurnState | None = None) -> None:
        self._anim.stop()
        self._scene.clear()
        self.nodes, self.edges, self._layout_key = {}, [], ()
        if turn is not None and turn.status == "planning":
            msg = "Planning… the controller is splitting the request into tasks."
        elif turn is not None and turn.status in ("done", "failed", "cancelled", "interrupted"):
            msg = ("This turn needed no tasks: the controller answered directly."
                   if turn.status == "done" else f"No plan ({turn.status}). {turn.error or ''}".strip())
        else:
            msg = "The task graph of a request appears here:\none node per task, live as it runs."
        item = QGraphicsTextItem()
        item.setPlainText(msg)
        item.setTextWidth(max(240, self.viewport().width() - 60))
        item.setDefaultTextColor(QColor(theme.ink("muted")))
        self._scene.addItem(item)
        self._scene.setSceneRect(item.boundingRect().adjusted(-20, -20, 20, 20))
        self.resetTransform()

    def _build(self, turn: TurnState) -> None:
        """Lay out generations along the flow axis: left-to-right, or top-to-bottom when that
        lets the nodes be drawn larger in the panel's shape. Everything is computed in a
        (u = along the flow, v = across it) frame and mapped to (x, y) at the end."""
        self._scene.clear()
        self.nodes, self.edges = {}, []
        columns = turn.generations() + [[RESPONSE_ID]]
        self._columns = columns
        self.vertical = self._prefer_vertical(columns)
        node_w = NODE_W_VERTICAL if self.vertical else NODE_W
        length, cross = (NODE_H, node_w) if self.vertical else (node_w, NODE_H)
        flow_gap, cross_gap = (V_GAP, H_GAP) if self.vertical else (COL_GAP, ROW_GAP)
        to_xy = (lambda u, v: QPointF(v, u)) if self.vertical else (lambda u, v: QPointF(u, v))
        widest = max(len(c) for c in columns)
        span = widest * cross + (widest - 1) * cross_gap
        uv: dict[int, tuple[float, float]] = {}
        for ci, column in enumerate(columns):
            col_span = len(column) * cross + (len(column) - 1) * cross_gap
            v0 = (span - col_span) / 2
            for ri, tid in enumerate(column):
                uv[tid] = (ci * (length + flow_gap), v0 + ri * (cross + cross_gap))
        column_of = {tid: ci for ci, column in enumerate(columns) for tid in column}
        extents = [(min(uv[t][1] for t in c), max(uv[t][1] for t in c) + cross) for c in columns]
        deps = {t.id: [d for d in t.dep if d in turn.tasks] for t in turn.tasks.values()}
        deps[RESPONSE_ID] = turn.leaves()
        for tid, sources in deps.items():
            for src in sources:
                between = extents[column_of[src] + 1:column_of[tid]]
                curve, head = _edge_shapes(uv[src], uv[tid], between, length, cross, flow_gap, cross_gap, to_xy)
                path_item = QGraphicsPathItem(curve)
                head_item = QGraphicsPolygonItem(head)
                for item in (path_item, head_item):
                    item.setZValue(-1)
                    self._scene.addItem(item)
                self.edges.append((src, tid, path_item, head_item))
        for tid, (u, v) in uv.items():
            node = TaskNode(tid, node_w)
            node.setPos(to_xy(u, v))
            node.clicked.connect(self._on_click)
            node.download_clicked.connect(self.download_clicked)
            self._scene.addItem(node)
            self.nodes[tid] = node
        self._scene.setSceneRect(self._scene.itemsBoundingRect().adjusted(-16, -16, 16, 16))
        self._fit()

    def _prefer_vertical(self, columns: list[list[int]]) -> bool:
        n, widest = len(columns), max(len(c) for c in columns)
        view = self.viewport().rect()
        vw, vh = max(view.width(), 1), max(view.height(), 1)

        def scale(w: float, h: float) -> float:
            return min(vw / (w + 32), vh / (h + 32), 1.0)

        across = scale(n * NODE_W + (n - 1) * COL_GAP, widest * NODE_H + (widest - 1) * ROW_GAP)
        down = scale(widest * NODE_W_VERTICAL + (widest - 1) * H_GAP, n * NODE_H + (n - 1) * V_GAP)
        return down > across + 0.05

    def _show_node(self, node: TaskNode, turn: TurnState) -> None:
        if node.task_id == RESPONSE_ID:
            state = {"running": "running", "done": "done", "failed": "failed",
                     "cancelled": "cancelled"}.get(turn.response, "waiting")
            detail = {"running": "writing the answer…", "done": "answer written",
                      "failed": "no answer", "cancelled": "cancelled"}.get(turn.response, "waits for the tasks")
            node.show(state, "answer", "controller LLM (responder)", detail, None)
            return
        t: TaskState = turn.tasks[node.task_id]
        if t.needs_download:
            need = t.download or {}
            node.show("download", f"#{t.id}  {t.task}", short_model(str(need.get("model", ""))), download_line(need), None)
            node.setToolTip(f"#{t.id} {t.task}\nneeds {need.get('model')} — {download_line(need)}\n"
                            "Download fetches it, then runs the task")
            return
        node.show(t.status, f"#{t.id}  {t.task}", short_model(t.model), _detail(t), t.fraction)

    def _colour_edges(self) -> None:
        for src, _dst, curve, head in self.edges:
            state = self.nodes[src].state if src in self.nodes else "pending"
            colours = theme.state_colours()
            colour = QColor(colours.get(state, colours["pending"])[1])
            colour.setAlpha(210)
            pen = QPen(colour, 2.0)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            curve.setPen(pen)
            head.setPen(QPen(colour, 1.0))
            head.setBrush(QBrush(colour))

    def _on_click(self, task_id: int) -> None:
        self.select(task_id)
        self.node_clicked.emit(task_id)

    def _tick(self) -> None:
        for node in self.nodes.values():
            if node.state == "running":
                node.phase += 0.08
                if node.task_id != RESPONSE_ID and self.turn and node.task_id in self.turn.tasks:
                    node.detail = _detail(self.turn.tasks[node.task_id])
                node.update()

    def _fit(self) -> None:
        rect = self._scene.sceneRect()
        if rect.isEmpty():
            return
        self.resetTransform()
        view = self.viewport().rect()
        scale = min(view.width() / rect.width(), view.height() / rect.height(), 1.0)
        if scale < 1.0:
            self.scale(scale, scale)
        self.centerOn(rect.center())

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        if self.nodes and self.turn is not None:
            if self._prefer_vertical(self._columns) != self.vertical:
                self._layout_key = ()  # the panel changed shape: lay out the other way
                self.refresh()
            else:
                self._fit()


def _detail(t: TaskState) -> str:
    label = STATE_LABELS.get(t.status, t.status)
    if t.status == "running":
        clock = f" {time.monotonic() - t.started:.0f}s" if t.started is not None else ""
        pct = f" {t.fraction * 100:.0f}%" if t.fraction is not None else ""
        return f"{t.message or label}{pct}{clock}"
    if t.status in ("done", "failed", "skipped", "cancelled") and t.duration_s is not None:
        return f"{label} · {t.duration_s:.1f}s"
    if t.status in ("pending", "selecting") and t.download:
        return f"downloads {download_line(t.download)} first"
    if t.status == "failed" and t.result and t.result.get("error"):
        return f"failed: {t.result['error']}"
    return label


def _edge_shapes(src: tuple[float, float], dst: tuple[float, float], between: list[tuple[float, float]],
                 length: float, cross: float, flow_gap: float, cross_gap: float,
                 to_xy: Callable[[float, float], QPointF]) -> tuple[QPainterPath, QPolygonF]:
    """An edge from the end side of `src` to the start side of `dst` (in the u/v frame), and its
    arrowhead. An edge that skips generations would run under the nodes there; it detours
    around them (`between` = the cross-axis extents of the skipped generations)."""
    su, sv = src[0] + length, src[1] + cross / 2
    eu, ev = dst[0] - 2, dst[1] + cross / 2
    path = QPainterPath(to_xy(su, sv))

    def curve(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> None:
        path.cubicTo(to_xy(*a), to_xy(*b), to_xy(*c))

    if between:
        low = min(b[0] for b in between) - cross_gap / 2
        high = max(b[1] for b in between) + cross_gap / 2
        v = low if abs(sv - low) + abs(ev - low) <= abs(sv - high) + abs(ev - high) else high
        curve((su + flow_gap / 2, sv), (su + flow_gap / 2, v), (su + flow_gap, v))
        path.lineTo(to_xy(eu - flow_gap, v))
        curve((eu - flow_gap / 2, v), (eu - flow_gap / 2, ev), (eu - 8, ev))
    else:
        mid = (su + eu) / 2
        curve((mid, sv), (mid, ev), (eu - 8, ev))
    head = QPolygonF([to_xy(eu, ev), to_xy(eu - 9, ev - 5), to_xy(eu - 9, ev + 5)])
    return path, head
