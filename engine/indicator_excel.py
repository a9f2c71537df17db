"""An indicator system as a spreadsheet: export to .xlsx, import from .xlsx or .csv.

The sheet has one row per indicator under Chinese headers (:data:`HEADERS`: 指标编号、
指标名称、权重、计分方法、目标值、考核责任单位、一票否决); the scoring method and the veto
column are written as their Chinese labels (直接计分/目标完成率/名次计分, 是/否) and read
as either the labels or the codes. A text cell that starts with ``= + - @`` (or a tab
or carriage return) is written as a string with Excel's quote prefix, so an exported
file never carries a formula, whatever an indicator's name says.

An import replaces the indicators of a system the office may edit (起草、退回修改 or
调整中) with the file's rows. Every bad row is reported at once, with its row (the
header is row 1) and column; on any error nothing is saved. A formula cell is refused
(the file must carry values).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, BinaryIO

from .authz import Actor, denial, usable_role
from .clock import to_local, utcnow
from .db import Database
from .exceptions import InvalidInput, NotFound
from .indicator_systems import SYSTEM_KEY, year_of
from .instances import update_data
from .org import RowError
from .queries import get_instance
from .registry import compiled

#: (field, Chinese header, English header) of the sheet's columns, in order
HEADERS = (("code", "指标编号", "Code"), ("name", "指标名称", "Indicator"),
           ("weight", "权重", "Weight"), ("method", "计分方法", "Scoring method"),
           ("target", "目标值", "Target"), ("verifier", "考核责任单位", "Verifying unit"),
           ("veto", "一票否决", "Veto item"))
REQUIRED = ("code", "name", "weight", "method", "verifier")
METHOD_LABELS = {"direct": "直接计分", "attainment": "目标完成率", "rank": "名次计分"}
VETO_LABELS = {"yes": "是", "no": "否"}
EDITABLE_STATES = ("draft", "returned", "adjusting")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 500
SHEET = "指标体系"


def _system(db: Database, system_id: int, actor: Actor | None):
    view = get_instance(db, system_id, actor)
    if view.definition_key != SYSTEM_KEY:
        raise NotFound(f"#{system_id} 不是指标体系 — instance {system_id} is not an indicator "
                       "system", instance=system_id)
    return view


# --- export --------------------------------------------------------------------------


def _put(sheet, row: int, column: int, value: Any) -> None:
    """Write one cell; text that a spreadsheet would read as a formula stays text."""
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.value = value
        cell.data_type = "s"      # an inline string, never a formula
        cell.quotePrefix = True   # and Excel keeps it text when the cell is edited
    else:
        cell.value = value


def _cells(r: dict[str, Any]) -> list[Any]:
    return [r.get("code"), r.get("name"), r.get("weight"),
            METHOD_LABELS.get(r.get("method"), r.get("method")), r.get("target"),
            r.get("verifier"), VETO_LABELS.get(r.get("veto") or "no", r.get("veto"))]


def export_system(db: Database, system_id: int, actor: Actor | None = None) -> bytes:
    """System ``system_id`` as an .xlsx workbook (the indicators, and a sheet 说明 with
    its year, category, state and the moment of export); with ``actor``, as they may
    read it."""
    from openpyxl import Workbook

    view = _system(db, system_id, actor)
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    for column, (_f, zh, _en) in enumerate(HEADERS, start=1):
        _put(sheet, 1, column, zh)
    for row, r in enumerate(view.data.get("indicators") or [], start=2):
        for column, value in enumerate(_cells(r), start=1):
            _put(sheet, row, column, value)
    about = book.create_sheet("说明")
    exported = to_local(utcnow()).strftime("%Y-%m-%d %H:%M")
    for row, (key, value) in enumerate((
            ("编号 ID", system_id), ("适用年度 Year", year_of(view.data)),
            ("单位类别 Category", view.data.get("category")),
            ("状态 State", view.state_label), ("导出时间 Exported", exported)), start=1):
        _put(about, row, 1, key)
        _put(about, row, 2, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- reading a file ------------------------------------------------------------------


def _xlsx_rows(data: bytes) -> list[list[tuple[Any, bool]]]:
    """The first sheet's cells as (value, is_formula)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InvalidInput(f"无法读取 Excel 文件 — not a readable .xlsx file: {exc}") from exc
    try:
        return [[(c.value, getattr(c, "data_type", None) == "f") for c in row]
                for row in book.worksheets[0].iter_rows()]
    finally:
        book.close()


def _csv_rows(data: bytes) -> list[list[tuple[Any, bool]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput("无法识别文件编码 — expected UTF-8 or GB18030 text")
    return [[(c, False) for c in row] for row in csv.reader(io.StringIO(text))]


def read_rows(data: bytes, filename: str) -> list[list[tuple[Any, bool]]]:
    """The rows of an uploaded .xlsx or .csv file."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_rows(data)
    if suffix == ".csv":
        return _csv_rows(data)
    raise InvalidInput(f"不支持的文件类型 {suffix or '(无)'},请上传 .xlsx 或 .csv — expected "
                       f"an .xlsx or .csv file", filename=filename)


def _header(cells: list[tuple[Any, bool]], errors: list[RowError]) -> dict[str, int]:
    """Column index of each field, from the header row's Chinese or English names."""
    names = {n.lower(): f for f, zh, en in HEADERS for n in (zh, en, f)}
    found: dict[str, int] = {}
    for index, (value, _formula) in enumerate(cells):
        text = "" if value is None else str(value).strip()
        if not text:
            continue
        field = names.get(text.lower())
        if field is None:
            errors.append(RowError(1, text, "未知的列 (unknown column)"))
        elif field in found:
            errors.append(RowError(1, text, "列重复 (duplicate column)"))
        else:
            found[field] = index
    labels = {f: zh for f, zh, _en in HEADERS}
    for field in REQUIRED:
        if field not in found:
            errors.append(RowError(1, labels[field], "缺少此列 (missing column)"))
    return found


def _number(text: str) -> int | float | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _choice(text: str, labels: dict[str, str]) -> str | None:
    """The code of a choice given as its code or Chinese label (None: unknown)."""
    lowered = text.lower()
    return next((code for code, zh in labels.items() if lowered in (code, zh)), None)


def _cell_text(cells, index: int | None) -> str:
    if index is None or index >= len(cells) or cells[index][0] is None:
        return ""
    value = cells[index][0]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _parse_row(number: int, cells, columns: dict[str, int],
               errors: list[RowError]) -> dict[str, Any]:
    """One indicator from a data row; its problems appended to ``errors``."""
    labels = {f: zh for f, zh, _en in HEADERS}
    bad = lambda field, reason: errors.append(RowError(number, labels[field], reason))  # noqa: E731
    for field, index in columns.items():
        if index < len(cells) and cells[index][1]:
            bad(field, "单元格是公式,请填写数值或文本 (a formula: enter the value)")
    text = {f: _cell_text(cells, columns.get(f)) for f, _zh, _en in HEADERS}
    for field in REQUIRED:
        if not text[field]:
            bad(field, "不能为空 (required)")
    row: dict[str, Any] = {"code": text["code"], "name": text["name"],
                           "verifier": text["verifier"]}
    if text["weight"]:
        weight = _number(text["weight"])
        if weight is None or not 0 <= weight <= 100:
            bad("weight", "应为 0 到 100 之间的数字 (a number from 0 to 100)")
        row["weight"] = weight
    if text["method"]:
        row["method"] = _choice(text["method"], METHOD_LABELS)
        if row["method"] is None:
            bad("method", "应为 直接计分、目标完成率 或 名次计分 (direct, attainment or rank)")
    row["target"] = _number(text["target"]) if text["target"] else None
    if text["target"] and row["target"] is None:
        bad("target", "应为数字 (a number)")
    elif row.get("method") == "attainment" and not (row["target"] or 0) > 0:
        bad("target", "目标完成率计分须填写大于 0 的目标值 (attainment needs a target > 0)")
    row["veto"] = _choice(text["veto"], VETO_LABELS) if text["veto"] else "no"
    if row["veto"] is None:
        bad("veto", "应为 是 或 否 (yes or no)")
    return row


def parse_indicators(rows: list[list[tuple[Any, bool]]]) -> tuple[list[dict], list[RowError]]:
    """The indicators of a file's rows, and every problem found (row, column, reason)."""
    errors: list[RowError] = []
    if not rows:
        return [], [RowError(1, "", "文件为空 (the file is empty)")]
    columns = _header(rows[0], errors)
    indicators: list[dict] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(rows[1:], start=2):
        if all(_cell_text(cells, i) == "" for i in range(len(cells))):
            continue
        row = _parse_row(number, cells, columns, errors)
        if row["code"] in seen:
            errors.append(RowError(number, "指标编号", f"与第 {seen[row['code']]} 行重复 "
                                   f"(duplicate of row {seen[row['code']]})"))
        seen.setdefault(row["code"], number)
        indicators.append({k: v for k, v in row.items() if v is not None})
    if len(indicators) > MAX_ROWS:
        errors.append(RowError(MAX_ROWS + 2, "", f"最多 {MAX_ROWS} 项指标 (at most {MAX_ROWS})"))
    if not indicators and not errors:
        errors.append(RowError(2, "", "文件中没有指标 (no indicator rows)"))
    return indicators, errors


# --- import --------------------------------------------------------------------------


def _check_editable(db: Database, system_id: int, actor: Actor):
    """The system, if ``actor`` may replace its indicators now (else refused)."""
    view = _system(db, system_id, actor)
    if view.state not in EDITABLE_STATES:
        raise InvalidInput(
            f"指标体系 #{system_id} 当前为「{view.state_label}」,只能导入到起草、退回修改或调整中"
            f"的指标体系 — indicators can be imported only into a draft, returned or "
            f"adjusting system (it is {view.state})", instance=system_id, state=view.state)
    editors = compiled(db, view.definition_version_id).definition.states[view.state].editors
    if usable_role(actor, editors, None) is None:
        raise denial(actor, editors, None, "import", instance=system_id)
    return view


def import_system(db: Database, system_id: int, actor: Actor, source: bytes | BinaryIO,
                  filename: str) -> list[RowError]:
    """Replace system ``system_id``'s indicators with the rows of ``source`` (.xlsx or
    .csv by ``filename``); returns every bad row, and then saves nothing."""
    _check_editable(db, system_id, actor)
    data = source if isinstance(source, bytes) else source.read()
    indicators, errors = parse_indicators(read_rows(data, filename))
    if errors:
        return errors
    update_data(db, system_id, actor, {"indicators": indicators},
                comment=f"从文件 {Path(filename).name} 导入 {len(indicators)} 项指标 — "
                        f"{len(indicators)} indicators imported from {Path(filename).name}")
    return []
