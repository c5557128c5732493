"""The chat view: message bubbles with attachments, results inline, and the streamed answer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSizeF, Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QTextBrowser, QVBoxLayout, QWidget

from desktop.media import media_widget

if TYPE_CHECKING:
    from desktop.cards import ResultCards


class MessageText(QTextBrowser):
    """A bubble's text: a read-only document as tall as its content (no inner scrolling).

    Streaming appends at the end of the document, so each 50 ms update costs the new text only,
    not a re-layout of the whole answer; Markdown is rendered once the text is final."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setOpenExternalLinks(True)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        self.viewport().setAutoFillBackground(False)
        self.document().setDocumentMargin(0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._follow_height)
        self.setFixedHeight(4)

    def set_markdown(self, text: str) -> None:
        self.document().setMarkdown(text)

    def append_plain(self, text: str) -> None:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)

    def _follow_height(self, size: QSizeF) -> None:
        height = int(size.height()) + 2
        if height != self.height():
            self.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        self._follow_height(self.document().size())

    def wheelEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        event.ignore()  # never scrolls itself: the chat scrolls

    def mousePressEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().mousePressEvent(event)
        event.ignore()  # the bubble also sees the click (it shows that turn's graph)


class MessageBubble(QFrame):
    clicked = Signal(str)  # turn_id

    def __init__(self, role: str, text: str = "", turn_id: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role, self.turn_id = role, turn_id
        self.setObjectName("bubbleUser" if role == "user" else "bubbleAssistant")
        # Height follows the wrapped text (heightForWidth), never a guess made at another width.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(4)
        head = QLabel("You" if role == "user" else "Maestro")
        head.setObjectName("role")
        layout.addWidget(head)
        self.body = MessageText()
        layout.addWidget(self.body)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #80868b; font-style: italic;")
        self.status.hide()
        layout.addWidget(self.status)
        self.media = QVBoxLayout()  # one attachment per row: wide images and players never clip
        self.media.setSpacing(6)
        self.media.addStretch(1)
        layout.addLayout(self.media)
        self.text = ""
        self.cards: ResultCards | None = None
        self.max_width = 560
        self.set_text(text)
        if role == "assistant" and turn_id:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip("Click to show this turn's task graph")

    def set_text(self, text: str) -> None:
        """The final text, rendered as Markdown."""
        self.text = text
        self.body.set_markdown(text)
        self.body.setVisible(bool(text))
        self.fit()

    def fit(self, max_width: int | None = None) -> None:
        """Size the bubble to its content, up to `max_width`: word-wrapped labels in a layout
        otherwise get an arbitrary width (too narrow for short text, too wide for long)."""
        if max_width is not None:
            self.max_width = max_width
        margins = self.layout().contentsMargins()
        if len(self.text) > 2000:  # long text fills the bubble anyway: skip measuring it
            self.setFixedWidth(self.max_width)
            return
        fm = self.body.fontMetrics()
        lines = [*self.text.splitlines(), self.status.text()]
        text_w = max((fm.horizontalAdvance(line) for line in lines if line), default=0)
        media_w = max((w.sizeHint().width() for w in self.media_widgets()), default=0)
        want = max(text_w + 8, media_w, 90) + margins.left() + margins.right()
        self.setFixedWidth(min(want, self.max_width))

    def append_text(self, delta: str) -> None:
        """Streamed text: appended as plain text (cheap); set_text renders the final Markdown."""
        grow = len(self.text) < 2000  # a short text may still widen the bubble; a long one is full width
        self.text += delta
        self.body.append_plain(delta)
        self.body.setVisible(True)
        if grow:
            self.fit()

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
        self.fit()

    def add_files(self, paths: list[Path]) -> None:
        for path in paths:
            path = Path(path)
            if not path.exists():
                widget: QWidget = QLabel(f"{path.name} (file no longer there)")
            else:
                widget = media_widget(path, self)
            self.media.insertWidget(self.media.count() - 1, widget, 0, Qt.AlignmentFlag.AlignLeft)
        self.fit()

    def media_widgets(self) -> list[QWidget]:
        return [self.media.itemAt(i).widget() for i in range(self.media.count())
                if self.media.itemAt(i).widget() is not None]

    def mousePressEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        if self.turn_id:
            self.clicked.emit(self.turn_id)
        super().mousePressEvent(event)


class ChatView(QScrollArea):
    turn_clicked = Signal(str)
    download_requested = Signal(str, int, str)  # turn id, task id, model id (from a result card)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chat")
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        body.setObjectName("chatBody")
        self._layout = QVBoxLayout(body)
        self._layout.setContentsMargins(16, 16, 16, 16)
        self._layout.setSpacing(10)
        self._layout.addStretch(1)
        self.setWidget(body)
        self.bubbles: list[MessageBubble] = []
        self._empty = QLabel("Ask for something that needs several models, for example:\n"
                             "“Describe photo.jpg, find the objects in it, and read the caption aloud.”\n\n"
                             "Drop images, audio or text files here.")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setStyleSheet("color: #80868b; font-size: 13px;")
        self._layout.insertWidget(0, self._empty)
        self.verticalScrollBar().rangeChanged.connect(self._stick_to_bottom)
        self._follow = True

    def clear(self) -> None:
        for bubble in self.bubbles:
            self._layout.removeWidget(bubble)
            bubble.hide()
            bubble.setParent(None)
            bubble.deleteLater()
        self.bubbles = []
        self._empty.show()

    def add_message(self, role: str, text: str, files: list[Path] | None = None,
                    turn_id: str | None = None) -> MessageBubble:
        self._empty.hide()
        bubble = MessageBubble(role, text, turn_id)
        bubble.clicked.connect(self.turn_clicked)
        if files:
            bubble.add_files([Path(f) for f in files])
        # User messages lean right, answers left; both keep a margin so long text wraps nicely.
        bubble.fit(self._bubble_width())
        self._layout.insertWidget(self._layout.count() - 1, bubble)
        self._layout.setAlignment(bubble, Qt.AlignmentFlag.AlignRight if role == "user" else Qt.AlignmentFlag.AlignLeft)
        self.bubbles.append(bubble)
        self._follow = True
        QTimer.singleShot(0, self._scroll_down)
        return bubble

    def bubble_for(self, turn_id: str, role: str = "assistant") -> MessageBubble | None:
        return next((b for b in reversed(self.bubbles) if b.turn_id == turn_id and b.role == role), None)

    def add_result_files(self, bubble: MessageBubble, result: dict) -> ResultCards | None:
        """The turn's results as cards under its answer (one per task); the answer's own task list is
        dropped from the bubble, since the cards say the same and more."""
        from core.response.evidence import split_footer
        from desktop.cards import ResultCards

        if bubble.cards is not None:
            bubble.media.removeWidget(bubble.cards)
            bubble.cards.deleteLater()
            bubble.cards = None
        if not result.get("results"):
            return None
        body, footer = split_footer(bubble.text)
        if footer:
            bubble.set_text(body)
        cards = ResultCards(result, bubble)
        turn_id = str(result.get("turn_id") or bubble.turn_id or "")
        cards.download_requested.connect(lambda tid, model: self.download_requested.emit(turn_id, tid, model))
        bubble.media.insertWidget(bubble.media.count() - 1, cards)
        bubble.cards = cards
        bubble.fit()
        return cards

    def _stick_to_bottom(self, _min: int, _max: int) -> None:
        if self._follow:
            self._scroll_down()

    def _scroll_down(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def wheelEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().wheelEvent(event)
        bar = self.verticalScrollBar()
        self._follow = bar.value() >= bar.maximum() - 40  # the user scrolled up: stop following

    def resizeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().resizeEvent(event)
        width = self._bubble_width()
        for bubble in self.bubbles:
            bubble.fit(width)

    def _bubble_width(self) -> int:
        return max(280, int((self.viewport().width() - 32) * 0.88))
