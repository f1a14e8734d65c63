"""Reports to PDF with what Qt already has: QTextDocument lays the HTML out, QPdfWriter prints.

Every page gets a running head (program, report, scope, period), a foot (who generated it and
when, "Page x of y") and the short 42 CFR Part 2 statement; the full notice is on the first page
of the body. The PDF is built in memory: nothing reaches the disk until the caller writes it.

Thread rule: any thread, with a QGuiApplication alive (fonts); QTextDocument, QPdfWriter and a
QPainter on it are reentrant, so the export thread renders while the window stays responsive.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QFont,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
    QTextDocument,
    QTextOption,
)

from fieldapp import __version__
from fieldapp.domain.exports import Cancelled, ExportCancelled, Progress
from fieldapp.services.exports.job import PageFrame

DPI = 300
MARGINS_MM = QMarginsF(16, 14, 16, 14)
BODY_POINTS = 9.0
HEAD_POINTS = 7.5
LAYOUT_STEPS = 50


def html_to_pdf(html: str, frame: PageFrame, *, progress: Progress | None = None,
                cancelled: Cancelled = lambda: False) -> bytes:
    """The PDF of `html` on US Letter pages, with `frame` around every page."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(DPI)
    orientation = (QPageLayout.Orientation.Landscape if frame.landscape
                   else QPageLayout.Orientation.Portrait)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.Letter), orientation,
                                     MARGINS_MM, QPageLayout.Unit.Millimeter))
    writer.setTitle(frame.heading)
    writer.setCreator(f"FieldApp {__version__}")
    page = writer.pageLayout().paintRectPixels(DPI)
    head, foot = _points(HEAD_POINTS * 3.2), _points(HEAD_POINTS * 4.6)
    body = QSizeF(page.width(), page.height() - head - foot)

    document = QTextDocument()
    document.documentLayout().setPaintDevice(writer)
    document.setDefaultFont(_font(BODY_POINTS))
    wrap = QTextOption()
    wrap.setWrapMode(QTextOption.WrapMode.WordWrap)  # never break a word ("Validit/y")
    document.setDefaultTextOption(wrap)
    document.setHtml(html)
    if cancelled():
        raise ExportCancelled()
    document.setPageSize(body)
    pages = _lay_out(document, progress, cancelled)

    painter = QPainter(writer)
    try:
        for index in range(pages):
            if cancelled():
                raise ExportCancelled()
            if index:
                writer.newPage()
            _frame(painter, frame, QSizeF(page.width(), page.height()), foot,
                   f"Page {index + 1} of {pages}")
            painter.save()
            painter.translate(0, head - index * body.height())
            document.drawContents(painter, QRectF(0, index * body.height(), body.width(),
                                                  body.height()))
            painter.restore()
            if progress:
                progress(index + 1, pages)
    finally:
        painter.end()
        buffer.close()
    return bytes(data.data())


def _lay_out(document: QTextDocument, progress: Progress | None, cancelled: Cancelled
             ) -> int:
    """Lay the document out in about fifty steps, so Cancel and the progress bar are heard
    during the layout too (Qt lays out lazily, up to the block asked about); the page count."""
    layout, blocks = document.documentLayout(), document.blockCount()
    step = max(blocks // LAYOUT_STEPS, 1)
    block, index = document.begin(), 0
    while block.isValid():
        if index % step == 0:
            layout.blockBoundingRect(block)
            if cancelled():
                raise ExportCancelled()
            if progress:
                progress(0, 0)
        block, index = block.next(), index + 1
    return document.pageCount()


def _frame(painter: QPainter, frame: PageFrame, size: QSizeF, foot: float, page_text: str
           ) -> None:
    width, height = size.width(), size.height()
    small, bold = _font(HEAD_POINTS), _font(HEAD_POINTS)
    bold.setBold(True)
    line = _points(HEAD_POINTS * 1.4)
    painter.setPen(QPen(Qt.GlobalColor.black, _points(0.5)))
    painter.setFont(bold)
    painter.drawText(QRectF(0, 0, width, line), Qt.AlignmentFlag.AlignLeft, frame.heading)
    painter.setFont(small)
    painter.drawText(QRectF(0, line, width, line), Qt.AlignmentFlag.AlignLeft, frame.subheading)
    painter.drawLine(0, int(2 * line + line / 4), int(width), int(2 * line + line / 4))
    top = height - foot + line / 2
    painter.drawLine(0, int(top), int(width), int(top))
    painter.drawText(QRectF(0, top + line / 4, width, line), Qt.AlignmentFlag.AlignLeft,
                     frame.footer)
    painter.drawText(QRectF(0, top + line / 4, width, line), Qt.AlignmentFlag.AlignRight,
                     page_text)
    painter.setFont(bold)
    painter.drawText(QRectF(0, top + line * 1.4, width, line), Qt.AlignmentFlag.AlignLeft,
                     frame.short_notice)


def _font(points: float) -> QFont:
    font = QFont("DejaVu Sans")
    font.setPointSizeF(points)
    # No ligatures: "confirmed" must be found when someone searches the PDF, not "conﬁrmed".
    for feature in ("liga", "clig"):
        font.setFeature(QFont.Tag(feature), 0)
    return font


def _points(points: float) -> float:
    """Points (1/72 inch) in the writer's pixels."""
    return points * DPI / 72
