"""Transcript files in the forms they really come in → `Transcript` objects.

Forms: speaker-labelled dialogue (话务员/坐席/客服 vs 市民/来电人/王先生, A/B, 甲/乙, 说话人1),
with or without timestamps (`[00:01:23]`, `00:01:23`, `2026-11-20 09:15:02`), half- or
full-width colons, several turns on one line, emoji or symbol labels at a line start (👮：);
SRT and WebVTT subtitles (cue numbers, timings, NOTE blocks and tags dropped, `<v 市民>` a
speaker); plain ASR text without speakers; a JSON list of {speaker, text, start}; JSON or JSONL
batches (one item a JSONL line); CSV/TSV/XLSX batches with one transcript per row, or with a
speaker column (speaker/role/角色/说话人) one turn per row, grouped by a call id column if any. Every item that cannot be read becomes a `ReadFailure` and the rest of the batch goes on.
"""
from __future__ import annotations

import csv
import html
import io
import json
import logging
import os
import re
import stat
import sys
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.intake.decoding import decode
from bot.intake.errors import IntakeError
from bot.intake.speakers import CALLER, OPERATOR, UNKNOWN, resolve_roles, role_of_label

log = logging.getLogger(__name__)

FORMATS = ("auto", "text", "json", "jsonl", "csv", "xlsx")
MAX_TRANSCRIPT_CHARS = 100_000      # a long call is ~10k characters; more is not a transcript
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 32                 # real transcript JSON is 3-5 levels deep
MAX_FIELD_CHARS = 1_000             # a short field (id, phone, time, speaker) at most
CSV_FIELD_LIMIT = 16 * 1024 * 1024  # read big cells, then refuse them per row with a reason
SKIPPED_SUFFIXES = {".yml", ".yaml", ".md"}
# Documents and recordings people drop into an import folder: named, not parsed as text.
UNSUPPORTED_SUFFIXES = {".pdf": "PDF", ".doc": "Word", ".docx": "Word", ".xls": "Excel 97-2003",
                        ".ppt": "PowerPoint", ".pptx": "PowerPoint", ".zip": "压缩包", ".rar": "压缩包",
                        ".7z": "压缩包", ".gz": "压缩包", ".mp3": "录音", ".wav": "录音", ".amr": "录音",
                        ".m4a": "录音", ".jpg": "图片", ".jpeg": "图片", ".png": "图片"}

# The default (128 KiB) aborts the whole file on one long cell; a cell above this limit is
# still one failed row (see `_csv_rows`).
csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))


@dataclass
class Turn:
    speaker_role: str                 # 'operator' | 'caller' | 'unknown'
    text: str
    start: str | None = None          # as written: '00:01:23', '2026-11-20 09:15:02', '83.2'
    speaker: str | None = None        # the label as written ('话务员', 'A', 'spk0')


@dataclass
class Transcript:
    id: str
    turns: list[Turn]
    source: str
    meta: dict = field(default_factory=dict)   # caller_number, called_at … from batch columns

    def text_of(self, *roles: str) -> str:
        return "\n".join(t.text for t in self.turns if t.speaker_role in roles)

    @property
    def full_text(self) -> str:
        return "\n".join(t.text for t in self.turns)

    @property
    def has_speakers(self) -> bool:
        return any(t.speaker_role != UNKNOWN for t in self.turns)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ReadFailure:
    id: str
    source: str
    error: IntakeError


Item = Transcript | ReadFailure


# ====================================================================== entry points
def read_path(path: str | Path, fmt: str = "auto") -> list[Item]:
    """Read a file, a directory (every file in it, sorted) or '-' (stdin).

    Never raises for bad content: each unreadable file or record is one `ReadFailure`."""
    if str(path) == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            return [_failure("stdin", "<stdin>", IntakeError(
                f"input larger than {MAX_FILE_BYTES // 2**20} MB",
                f"输入超过 {MAX_FILE_BYTES // 2**20} MB，请拆分后导入"))]
        return read_bytes(data, fmt=fmt, source="<stdin>", name="stdin")
    path = Path(path)
    if path.is_dir():
        entries, unreadable = _walk(path)
        if unreadable and unreadable[0].filename == str(path):
            return [_failure(path.name, str(path), IntakeError(
                f"cannot list directory: {unreadable[0].strerror}",
                f"无法读取目录：{unreadable[0].strerror}"))]
        items: list[Item] = [_failure(Path(exc.filename).name, exc.filename, IntakeError(
            f"cannot list directory: {exc.strerror}", f"无法读取目录：{exc.strerror}"))
            for exc in unreadable]
        for child in sorted(entries):
            if child.name.startswith(".") or child.suffix.lower() in SKIPPED_SUFFIXES:
                continue
            items.extend(_read_file(child, fmt, follow=False))
        return items
    return _read_file(path, fmt)


def _walk(root: Path) -> tuple[list[Path], list[OSError]]:
    """Everything inside `root` but the directories, which are walked, never through a
    symbolic link (a link is one entry, for `_read_file` to refuse); and the directories
    that could not be listed."""
    entries: list[Path] = []
    unreadable: list[OSError] = []
    for folder, dirs, files in os.walk(root, onerror=unreadable.append):
        entries += [Path(folder, name) for name in dirs if os.path.islink(os.path.join(folder, name))]
        entries += [Path(folder, name) for name in files]
    return entries, unreadable


def _read_file(path: Path, fmt: str, *, follow: bool = True) -> list[Item]:
    """One file's items. Inside a folder (`follow=False`) a symbolic link is refused: a link
    dropped in the folder (to /etc/shadow) must not become a case that staff can read; the
    file is opened without following a link, so a link put in its place meanwhile fails too."""
    try:
        if not follow and path.is_symlink():
            raise IntakeError("symbolic link refused",
                              "是符号链接，为安全起见不导入（请把文件本身放进目录）")
        if not path.exists():
            raise IntakeError("no such file", "文件不存在")
        if not path.is_file():
            raise _not_regular()
        data = _read_regular(path, follow)
    except OSError as exc:
        return [_failure(path.stem, str(path), IntakeError(
            f"cannot read file: {exc.strerror}", f"无法读取文件：{exc.strerror}"))]
    except IntakeError as exc:
        return [_failure(path.stem, str(path), exc)]
    return read_bytes(data, fmt=fmt, source=str(path), name=path.stem, suffix=path.suffix.lower())


def _read_regular(path: Path, follow: bool) -> bytes:
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular()
        if info.st_size > MAX_FILE_BYTES:
            raise _too_big()
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _too_big()
    return data


def _not_regular() -> IntakeError:
    return IntakeError("not a regular file", "不是普通文件（目录、设备或管道不能导入）")


def _too_big() -> IntakeError:
    return IntakeError(f"file larger than {MAX_FILE_BYTES // 2**20} MB",
                       f"文件超过 {MAX_FILE_BYTES // 2**20} MB，请拆分后导入")


def _failure(id: str, source: str, error: IntakeError) -> ReadFailure:
    return ReadFailure(_short(id), source, error)


def _short(value: str, limit: int = 120) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def read_bytes(data: bytes, *, fmt: str = "auto", source: str = "<input>", name: str = "input",
               suffix: str = "") -> list[Item]:
    """Bytes of one file → its transcripts and failures. Never raises for bad content."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt}")
    try:
        if fmt == "auto" and suffix in UNSUPPORTED_SUFFIXES:
            raise IntakeError(f"unsupported file type {suffix}",
                              f"不支持{UNSUPPORTED_SUFFIXES[suffix]}文件（{suffix}），"
                              "请导出为 TXT、CSV、JSON 或 XLSX 后再导入")
        if fmt == "auto":
            fmt = _sniff(data, suffix)
        if fmt == "xlsx":
            return _from_xlsx(data, source, name)
        text = decode(data)
        if fmt == "json":
            return _from_json_text(text, source, name)
        if fmt == "jsonl":
            return _from_jsonl(text, source, name)
        if fmt == "csv":
            return _from_csv(text, source, name, tab=suffix == ".tsv")
        _check_size(text)
        return [_finish(parse_text(text, name, source))]
    except IntakeError as exc:
        return [_failure(name, source, exc)]
    except (RecursionError, MemoryError, ValueError, TypeError, csv.Error) as exc:
        # A form of bad input nobody foresaw: still one failed file, and the batch goes on.
        log.warning("unexpected %s while reading %s: %s", type(exc).__name__, source, exc)
        return [_failure(name, source, IntakeError(
            f"unreadable content ({type(exc).__name__})", "文件内容无法解析，请检查格式"))]


def read_text(text: str, *, id: str = "input", source: str = "<input>") -> Transcript:
    """One pasted transcript (web page, API). Raises `IntakeError`."""
    if text is None or not text.strip():
        raise IntakeError("empty input", "内容为空")
    _check_size(text)
    item = _finish(parse_text(text, id, source))
    if isinstance(item, ReadFailure):
        raise item.error
    return item


def sniff(data: bytes, suffix: str = "") -> str:
    """The format `read_bytes` would read these bytes as (fmt='auto')."""
    return _sniff(data, suffix)


def _sniff(data: bytes, suffix: str) -> str:
    by_suffix = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
                 ".tsv": "csv", ".xlsx": "xlsx", ".txt": "text"}
    if suffix in by_suffix:
        return by_suffix[suffix]
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        return "json"
    if head.startswith(b"{"):
        lines = [ln for ln in data[:65536].splitlines() if ln.strip()]
        if len(lines) > 1 and all(ln.lstrip().startswith(b"{") for ln in lines[:5]):
            return "jsonl"
        return "json"
    return "text"


def _too_long(size: int) -> IntakeError:
    return IntakeError(f"transcript has {size} characters, more than {MAX_TRANSCRIPT_CHARS}",
                       f"转写文本过长（{size} 字，超过 {MAX_TRANSCRIPT_CHARS} 字），请确认是否为单通电话的记录")


def _check_size(text: str) -> None:
    """Refuse an oversized text before the parser spends time on it."""
    if len(text) > MAX_TRANSCRIPT_CHARS:
        raise _too_long(len(text))


def _finish(transcript: Transcript) -> Item:
    """Checks every transcript passes, whatever form it came in."""
    size = sum(len(t.text) for t in transcript.turns)
    if size > MAX_TRANSCRIPT_CHARS:
        return ReadFailure(transcript.id, transcript.source, _too_long(size))
    if not any(t.text.strip() for t in transcript.turns):
        return ReadFailure(transcript.id, transcript.source, IntakeError("empty transcript", "转写内容为空"))
    return transcript


# ====================================================================== plain text
_TS = (r"(?:\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?)?"
       r"|\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?)")


def _tsb(name: str) -> str:
    return r"(?:[\[【(（]?(?P<" + name + r">" + _TS + r")[\]】)）]?)"


# A label: a short token with no sentence punctuation, then an optional timestamp and a colon.
_LABEL_AT = re.compile(
    r"(?:^|(?<=[。！？!?；;…\n])|(?<=[。！？!?；;…][ \t])|(?<=\s\s)|(?<=\t))[ \t]*"
    + _tsb("ts1") + r"?[ \t]*"
    r"(?P<label>[^\s:：,，。、！？!?\[\]【】()（）0-9\"“”'‘’][^:：,，。、！？!?\n\[\]【】\"“”]{0,13}?)"
    r"[ \t]*" + _tsb("ts2") + r"?[ \t]*[:：]", re.M)
_NEUTRAL = re.compile(r"[A-Za-z]|[甲乙丙]方?|[问答]|(?:说话人|发言人|讲话人|角色|声道|通道|speaker|spk|SPEAKER)[ _-]?\d{1,2}|"
                      r"[左右]声道|第[一二12]方", re.I)
_FIELD_WORDS = re.compile(r"号码|时间|日期|电话|手机|内容|地址|地点|类[别型]|分类|区域|编号|单号|诉求|摘要|标题|"
                          r"结果|备注|姓名|性别|事项|意见|要求|情况|原因|方式|部门|状态|反映人?$|说明|主题|处理")
_LONG_BLANKS = re.compile(r"[ \t]{3,}")
_LEADING_TS = re.compile(r"^[ \t]*" + _tsb("ts") + r"[ \t]*")
_LABEL_TS_NO_COLON = re.compile(r"^([ \t]*\S{1,12}?)[ \t]+(" + _TS + r")[ \t]+(?=\S)", re.M)
# A role and a blank at a line start, no colon ("话务员 您好" / "市民 喂 喂 …", as ASR engines write
# it): a speaker when two or more lines, of two or more labels, open so.
_ROLE_NO_COLON = re.compile(r"^([ \t]*)(话务员|坐席|座席|客服|接线员|市民|来电人|来电者|群众|居民|村民)[ \t]+(?=[^\s:：])", re.M)


def _symbolic(label: str) -> bool:
    """An emoji or a few symbols (👮, 🧑‍🦳, ☎️, ★): symbols with their joiners and modifiers."""
    if len(label) > 12:
        return False
    kinds = [unicodedata.category(ch) for ch in label]
    return (all(k in ("So", "Sk", "Sm", "Mn", "Me", "Cf") for k in kinds)
            and any(k in ("So", "Sk", "Sm") for k in kinds) and not any(ord(ch) < 0x80 for ch in label))


def _valid_label(label: str, line_start_counts: dict[str, int], at_line_start: bool = False) -> bool:
    label = label.strip()
    if not label or len(label) > 14:
        return False
    if _NEUTRAL.fullmatch(label):
        return True
    if at_line_start and _symbolic(label):
        return True     # a neutral label too, resolved by what is said
    if _FIELD_WORDS.search(label):
        return False
    if role_of_label(label):
        return True
    # A free label (a person's name …) counts when it opens several lines.
    return line_start_counts.get(label, 0) >= 2 and len(label) <= 6


def parse_text(text: str, id: str, source: str) -> Transcript:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _is_subtitles(text):
        text = _subtitle_lines(text)
    text = text.replace("\u3000", " ")
    # Two blanks separate turns; longer runs mean the same and would make the label search
    # quadratic (a line of 100,000 spaces took minutes).
    text = _LONG_BLANKS.sub("  ", text)
    # '话务员 00:01:23 您好' → '话务员 00:01:23：您好' when the label is a speaker.
    text = _LABEL_TS_NO_COLON.sub(
        lambda m: f"{m.group(1)} {m.group(2)}：" if (role_of_label(m.group(1).strip())
                                                   or _NEUTRAL.fullmatch(m.group(1).strip()))
        else m.group(0), text)
    roles = list(_ROLE_NO_COLON.finditer(text))
    if len(roles) >= 2 and len({m.group(2) for m in roles}) >= 2:
        text = _ROLE_NO_COLON.sub(lambda m: f"{m.group(1)}{m.group(2)}：", text)
    matches = list(_LABEL_AT.finditer(text))
    starts: dict[str, int] = {}
    for m in matches:
        at_line_start = m.start() == 0 or text[m.start() - 1] == "\n"
        if at_line_start:
            starts[m.group("label").strip()] = starts.get(m.group("label").strip(), 0) + 1
    labelled = [m for m in matches if _valid_label(
        m.group("label"), starts, m.start() == 0 or text[m.start() - 1] == "\n")]
    if len({m.group("label").strip() for m in labelled}) == 1 and len(labelled) == 1 \
            and not role_of_label(labelled[0].group("label")):
        labelled = []      # one lone 'xx：' is a heading, not a dialogue
    if not labelled:
        return Transcript(id, _plain_turns(text), source)
    raw: list[tuple[str | None, str, str | None]] = []
    head = text[:labelled[0].start()].strip()
    if head:
        raw.extend((None, line, ts) for _, line, ts in _lines(head))
    for i, m in enumerate(labelled):
        end = labelled[i + 1].start() if i + 1 < len(labelled) else len(text)
        body = " ".join(line for _, line, _ in _lines(text[m.end():end]))
        raw.append((m.group("label").strip(), body, m.group("ts1") or m.group("ts2")))
    roles = resolve_roles([(label, body) for label, body, _ in raw if label])
    turns = [Turn(roles.get(label, UNKNOWN) if label else UNKNOWN, body.strip(), ts, label)
             for label, body, ts in raw if body.strip()]
    return Transcript(id, turns, source)


# ---------------------------------------------------------------------- subtitles
# SRT and WebVTT: numbered (or named) cues, a timing line each, blank lines between cues;
# WebVTT adds a header, NOTE/STYLE/REGION blocks, <v Name> voice tags and styling tags.
_CLOCK = r"(?:\d{1,3}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_CUE_TIMING = re.compile(r"^[ \t]*(?P<start>" + _CLOCK + r")[ \t]*-->[ \t]*" + _CLOCK + r"(?:[ \t][^\n]*)?$",
                         re.M)
_VTT_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:[ \t]|$)")
_VOICE = re.compile(r"<v(?:\.[^\s<>]{0,60})?(?:[ \t]+(?P<name>[^<>\n]{0,60}))?>", re.I)
_CUE_TAG = re.compile(r"</?(?:v|c|i|b|u|s|ruby|rt|lang|font|span)(?:[.\s][^<>\n]{0,200})?>|<br[ \t]*/?>|"
                      r"<" + _CLOCK + r">|\{\\[^{}\n]{0,40}\}", re.I)
_DIALOGUE_DASH = re.compile(r"^[-–][ \t]*")


def _is_subtitles(text: str) -> bool:
    return text.lstrip("\ufeff \t\n").startswith("WEBVTT") or _CUE_TIMING.search(text) is not None


def _subtitle_lines(text: str) -> str:
    """SRT/WebVTT → one line per cue line, the cue's start before its first line and a voice
    tag as a speaker label ('00:00:01.000 市民：…'); cue numbers, ids, timings, notes and tags go."""
    lines = text.lstrip("\ufeff").split("\n")
    vtt = lines[0].lstrip(" \t").startswith("WEBVTT")
    out: list[str] = []
    skipping = vtt          # the WEBVTT header block, up to the first blank line
    after_blank = True
    start: str | None = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            skipping, after_blank = False, True
            continue
        was_after_blank, after_blank = after_blank, False
        if skipping:
            continue
        timing = _CUE_TIMING.match(line)
        if timing:
            start = timing.group("start")
            continue
        if vtt and was_after_blank and _VTT_BLOCK.match(stripped):
            skipping = True
            continue
        if i + 1 < len(lines) and _CUE_TIMING.match(lines[i + 1]) and (was_after_blank or stripped.isdigit()):
            continue        # the cue's number or id
        cue = _VOICE.sub(lambda m: "\n" + (f"{m.group('name').strip()}：" if (m.group("name") or "").strip()
                                            else ""), stripped)
        cue = html.unescape(_CUE_TAG.sub("", cue))
        for piece in cue.split("\n"):
            piece = _DIALOGUE_DASH.sub("", piece.strip()).strip()
            if not piece:
                continue
            out.append(f"{start} {piece}" if start else piece)
            start = None
    return "\n".join(out)


def _lines(text: str):
    for line in text.split("\n"):
        m = _LEADING_TS.match(line)
        ts = m.group("ts") if m else None
        body = line[m.end():] if m else line
        if body.strip():
            yield None, body.strip(), ts


def _plain_turns(text: str) -> list[Turn]:
    return [Turn(UNKNOWN, body, ts) for _, body, ts in _lines(text)]


# ====================================================================== JSON
_SPEAKER_KEYS = ("speaker_role", "role", "speaker", "spk", "speaker_id", "speakerId", "channel_id",
                 "channel", "who", "说话人", "角色")
_TEXT_KEYS = ("text", "content", "utterance", "transcript", "sentence", "onebest", "words",
              "内容", "文本", "通话内容", "转写文本")
_START_KEYS = ("start", "begin", "start_time", "startTime", "bg", "offset", "time", "timestamp", "开始时间")
_TURNS_KEYS = ("turns", "utterances", "segments", "dialogue", "dialog", "sentences", "messages", "对话")
_ID_KEYS = ("id", "call_id", "callId", "uuid", "编号", "序号", "通话编号", "流水号", "name")
_PHONE_KEYS = ("caller_number", "caller_phone", "phone", "caller", "ani", "mobile", "来电号码",
               "主叫号码", "联系电话", "电话")
_TIME_KEYS = ("called_at", "call_time", "start_time", "date", "created_at", "来电时间", "通话时间")
_BATCH_KEYS = ("transcripts", "calls", "items", "records", "data")


def _pick(obj: dict, keys) -> object | None:
    for key in keys:
        if key in obj and obj[key] not in (None, ""):
            return obj[key]
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    for key in keys:
        value = lowered.get(key.lower())
        if value not in (None, ""):
            return value
    return None


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_OPENERS = re.compile(r"[\[{]+")
_INNERMOST = re.compile(r"\[\]|\{\}")
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON nests deeper than `limit`, found without a recursive parser."""
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text))
    for _ in range(limit):
        if not brackets:
            return False
        inner = _INNERMOST.sub("", brackets)     # one level per round, exactly
        if inner == brackets:     # unbalanced: json.loads reports it, unless it is a deep run
            return max((len(run) for run in _OPENERS.findall(brackets)), default=0) > limit
        brackets = inner
    return bool(brackets)


def _loads(text: str, line: int | None = None):
    """json.loads with bounds: nesting depth and number sizes are refused, never a crash."""
    en, zh = (f"line {line}: ", f"第 {line} 行：") if line else ("", "")
    if _json_depth_exceeds(text):
        raise IntakeError(f"{en}JSON nested deeper than {MAX_JSON_DEPTH} levels",
                          f"{zh}JSON 嵌套超过 {MAX_JSON_DEPTH} 层，不是转写记录")
    try:
        doc = json.loads(text)
        # "\ud800" is valid JSON but no text: lone surrogates cannot be stored or shown.
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
        return doc
    except UnicodeEncodeError:
        raise IntakeError(f"{en}JSON holds a lone surrogate (an escape such as \\ud800)",
                          f"{zh}JSON 中含有无效的字符（\\ud800 这类孤立的代理项），请检查导出程序") from None
    except json.JSONDecodeError as exc:
        raise IntakeError(f"{en}invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                          f"{zh}JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）" if not line
                          else f"{zh}不是合法的 JSON") from None
    except (ValueError, RecursionError) as exc:   # a number of thousands of digits …
        raise IntakeError(f"{en}JSON value out of bounds ({str(exc)[:80]})",
                          f"{zh}JSON 中有超长的数字或无法解析的值") from None


def _scalar(value, field: str, limit: int = MAX_FIELD_CHARS) -> str | None:
    """A field that must be one short value: text or a number, never a list or an object."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise IntakeError(f"field {field!r} must be text or a number, not {type(value).__name__}",
                          f"字段 {_short(field, 40)} 应为文本或数字")
    text = str(value).strip()
    if len(text) > limit:
        raise IntakeError(f"field {field!r} has {len(text)} characters, more than {limit}",
                          f"字段 {_short(field, 40)} 过长（{len(text)} 字，上限 {limit} 字）")
    return text


def _from_json_text(text: str, source: str, name: str) -> list[Item]:
    return _from_json(_loads(text), source, name)


def _from_json(doc, source: str, name: str) -> list[Item]:
    if isinstance(doc, dict):
        batch = _pick(doc, _BATCH_KEYS)
        if isinstance(batch, list) and _pick(doc, _TURNS_KEYS) is None:
            return _batch(batch, source, name)
        return [_transcript_from_obj(doc, source, name)]
    if isinstance(doc, list):
        if not doc:
            raise IntakeError("empty JSON list", "JSON 列表为空")
        if all(isinstance(x, dict) for x in doc):
            is_batch = any(_pick(x, _TURNS_KEYS) is not None for x in doc) or \
                all(_pick(x, _SPEAKER_KEYS) is None and _pick(x, _ID_KEYS) is not None for x in doc)
            if is_batch:
                return _batch(doc, source, name)
            return [_guarded(lambda: _transcript_from_turns(doc, name, source, {}), name, source)]
        if all(isinstance(x, str) for x in doc):
            return [_text_item("\n".join(doc), name, source)]
    raise IntakeError("unrecognised JSON shape (expected a list of turns or of transcripts)",
                      "无法识别的 JSON 结构（应为对话轮次列表 [{speaker, text, start}] 或转写列表）")


def _batch(items: list, source: str, name: str) -> list[Item]:
    out: list[Item] = []
    for index, obj in enumerate(items, 1):
        default_id = f"{name}#{index}"
        if isinstance(obj, str):
            out.append(_guarded(lambda: _text_item(obj, default_id, source), default_id, source))
        elif isinstance(obj, dict):
            out.append(_transcript_from_obj(obj, source, default_id))
        else:
            out.append(ReadFailure(default_id, source, IntakeError(
                f"item {index} is neither an object nor a string", f"第 {index} 条既不是对象也不是文本")))
    return out


def _guarded(build, id: str, source: str) -> Item:
    try:
        return build()
    except IntakeError as exc:
        return ReadFailure(id, source, exc)


def _meta(obj: dict) -> dict:
    meta = {}
    phone = _scalar(_pick(obj, _PHONE_KEYS), "caller_number", 64)
    when = _scalar(_pick(obj, _TIME_KEYS), "called_at", 64)
    if phone:
        meta["caller_number"] = phone
    if when:
        meta["called_at"] = when
    return meta


def _item_id(obj: dict, default_id: str) -> str:
    try:
        return _scalar(_pick(obj, _ID_KEYS), "id", 120) or default_id
    except IntakeError:
        return default_id


def _transcript_from_obj(obj: dict, source: str, default_id: str) -> Item:
    id = _item_id(obj, default_id)
    try:
        _scalar(_pick(obj, _ID_KEYS), "id", 120)     # an id that is an object: refused
        turns = _pick(obj, _TURNS_KEYS)
        if isinstance(turns, list):
            return _transcript_from_turns(turns, id, source, _meta(obj))
        text = _pick(obj, _TEXT_KEYS)
        if isinstance(text, str) and text.strip():
            _check_size(text)
            meta = _meta(obj)
            transcript = parse_text(text, id, source)
            transcript.meta.update(meta)
            return _finish(transcript)
        if text is not None and not isinstance(text, str):
            raise IntakeError(f"text must be a string, not {type(text).__name__}",
                              "转写文本字段应为文本")
        raise IntakeError("item has no text or turns", "该条没有转写文本（缺少 text 或 turns 字段）")
    except IntakeError as exc:
        return ReadFailure(id, source, exc)


def _turn_text(text, index: int) -> str:
    if isinstance(text, list):   # words with timings
        text = "".join(str(w.get("word", w.get("text", ""))) if isinstance(w, dict) else str(w)
                       for w in text)
    elif isinstance(text, dict) or isinstance(text, bool):
        raise IntakeError(f"turn {index}: text is {type(text).__name__}", f"第 {index} 轮对话的文本格式不对")
    text = str(text).strip()
    if len(text) > MAX_TRANSCRIPT_CHARS:
        raise _too_long(len(text))
    return text


def _transcript_from_turns(items: list, id: str, source: str, meta: dict) -> Item:
    raw: list[tuple[str | None, str, str | None]] = []
    for index, obj in enumerate(items, 1):
        if isinstance(obj, str):
            raw.append((None, _turn_text(obj, index), None))
            continue
        if not isinstance(obj, dict):
            raise IntakeError("a turn is neither an object nor a string", "对话轮次格式不对")
        text = _pick(obj, _TEXT_KEYS)
        if text is None:
            continue
        text = _turn_text(text, index)
        speaker = _pick(obj, _SPEAKER_KEYS)
        if isinstance(speaker, (int, float)) and not isinstance(speaker, bool):
            label = f"spk{speaker}"
        else:
            label = _scalar(speaker, "speaker", 64)
        start = _scalar(_pick(obj, _START_KEYS), "start", 64)
        raw.append((label or None, text, start))
    if not raw:
        raise IntakeError("no turns with text", "对话中没有任何文本")
    if sum(len(t) for _, t, _ in raw) > MAX_TRANSCRIPT_CHARS:
        raise _too_long(sum(len(t) for _, t, _ in raw))
    direct = {OPERATOR, CALLER, UNKNOWN}
    roles = resolve_roles([(lb, tx) for lb, tx, _ in raw if lb and lb.lower() not in direct])
    turns = []
    for label, text, start in raw:
        if not text:
            continue
        role = label.lower() if label and label.lower() in direct else roles.get(label, UNKNOWN)
        turns.append(Turn(role, text, start, label))
    return _finish(Transcript(id, turns, source, meta))


def _from_jsonl(text: str, source: str, name: str) -> list[Item]:
    out: list[Item] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        default_id = f"{name}#{number}"
        try:
            obj = _loads(line, number)
        except IntakeError as exc:
            out.append(ReadFailure(default_id, source, exc))
            continue
        if isinstance(obj, dict):
            out.append(_transcript_from_obj(obj, source, default_id))
        elif isinstance(obj, list):
            out.append(_guarded(lambda: _transcript_from_turns(obj, default_id, source, {}),
                                default_id, source))
        elif isinstance(obj, str):
            out.append(_guarded(lambda: _text_item(obj, default_id, source), default_id, source))
        else:
            out.append(ReadFailure(default_id, source, IntakeError(
                f"line {number}: not a transcript object", f"第 {number} 行不是转写记录")))
    if not out:
        raise IntakeError("no records", "文件中没有任何记录")
    return out


def _text_item(text: str, id: str, source: str) -> Item:
    _check_size(text)
    return _finish(parse_text(text, id, source))


# ====================================================================== tables
_TABLE_TEXT = ("text", "transcript", "content", "dialogue", "通话内容", "转写文本", "转写内容", "内容",
               "文本", "通话记录", "记录", "工单内容", "诉求内容", "来电内容", "对话")


# A spreadsheet formula at the start of a cell ("=cmd|' /C calc'!A0 …", '=HYPERLINK("…","点我") …',
# "@SUM(A1)", "+cmd|…"; not "-3度" or "+86 138…"): no one says it on a call; it is a cell a
# spreadsheet would run, not words.
_FORMULA = re.compile(r"^\s*(?:[=@]|[+\-](?=\s*[A-Za-z_]))\s*(?:[A-Za-z_][\w.]*\s*(?:\|\s*'[^']*'\s*!\s*\$?[A-Za-z]*\$?\d*|"
                      r"\|[^!\s]*!\S*|\((?:[^()]|\([^()]*\))*\))|[^\s\u3000-\u9fff\uff00-\uffef]*)\s*")


def _cell_text(value: str) -> str:
    """A table cell's transcript text without a spreadsheet formula in front of it."""
    return _FORMULA.sub("", value, count=1) if _FORMULA.match(value) else value


def _from_csv(text: str, source: str, name: str, tab: bool = False) -> list[Item]:
    first = text.split("\n", 1)[0]
    delimiter = "\t" if tab or first.count("\t") > first.count(",") else ","
    return _from_rows(_csv_rows(text, delimiter), source, name)


def _csv_rows(text: str, delimiter: str) -> list[list[str] | IntakeError]:
    """Rows of a CSV; a row the csv module cannot read (a cell above CSV_FIELD_LIMIT …) is an
    `IntakeError` in its place, and reading goes on with the next row."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str] | IntakeError] = []
    while True:
        try:
            rows.append(next(reader))
        except StopIteration:
            return rows
        except csv.Error as exc:
            rows.append(IntakeError(f"row {reader.line_num}: unreadable CSV ({exc})",
                                    f"第 {reader.line_num} 行无法读取（单元格过大或格式错误）"))


def _from_xlsx(data: bytes, source: str, name: str) -> list[Item]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise IntakeError(f"not a readable XLSX workbook ({type(exc).__name__})",
                          "无法打开 XLSX 文件（文件损坏或不是 Excel 2007+ 格式）") from None
    try:
        if not book.worksheets:
            raise IntakeError("workbook has no sheet", "XLSX 文件中没有工作表")
        sheet = book.worksheets[0]
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    except IntakeError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt sheet fails while it is being read
        raise IntakeError(f"broken XLSX sheet ({type(exc).__name__})",
                          "XLSX 工作表已损坏，无法读取") from None
    finally:
        book.close()
    return _from_rows(rows, source, name)


# A table with a speaker column holds one turn a row: one call, or several told apart by a
# call id column ('speaker,text' / '角色,内容' / 'call_id,speaker,start,text').
_TABLE_SPEAKER = ("speaker", "speaker_role", "role", "spk", "speaker_id", "说话人", "角色", "发言人",
                  "讲话人", "说话方", "发言方")
_TABLE_CALL = ("call_id", "callid", "call", "通话编号", "通话id", "流水号", "会话编号", "会话id",
               "session_id", "conversation_id", "dialog_id", "对话编号")
_TABLE_START = ("start", "begin", "start_time", "time", "timestamp", "开始时间", "时间")


def _turn_rows(rows: list, header: list[str], text_col: int, speaker_col: int, source: str,
               name: str) -> list[Item]:
    call_col = next((header.index(k) for k in _TABLE_CALL if k in header), None)
    start_col = next((header.index(k) for k in _TABLE_START if k in header), None)
    calls: dict[str, tuple[list[dict], dict]] = {}
    out: list[Item] = []
    for number, row in rows:
        if isinstance(row, IntakeError):
            out.append(ReadFailure(f"{name}#{number}", source, row))
            continue

        def cell(col: int | None) -> str:
            return row[col].strip() if col is not None and col < len(row) else ""

        call = _short(cell(call_col)) if call_col is not None else name
        if call not in calls:
            calls[call] = ([], {h: row[i] for i, h in enumerate(header[:len(row)]) if h})
        text = _cell_text(cell(text_col))
        if not text:
            continue            # a silent turn (or a bare formula)
        calls[call][0].append({"speaker": cell(speaker_col) or None, "text": text,
                               "start": cell(start_col) or None})
    for call, (turns, first) in calls.items():
        out.append(_guarded(lambda: _transcript_from_turns(turns, call or name, source, _meta(first)),
                            call or name, source))
    return out


def _columns(header: list[str]) -> str:
    shown = "、".join(_short(h, 20) for h in header[:12])
    return shown + ("…" if len(header) > 12 else "")


def _from_rows(rows: list[list[str] | IntakeError], source: str, name: str) -> list[Item]:
    numbered = [(n, r) for n, r in enumerate(rows, 1)
                if isinstance(r, IntakeError) or any(c.strip() for c in r)]
    if not numbered:
        raise IntakeError("no rows", "表格中没有任何数据")
    header_number, header_row = numbered[0]
    if isinstance(header_row, IntakeError):
        raise IntakeError(f"header unreadable: {header_row.en}", "表头无法读取：" + header_row.zh)
    header = [h.strip().lstrip("\ufeff").lower() for h in header_row]
    text_col = next((header.index(k) for k in _TABLE_TEXT if k in header), None)
    if text_col is None:
        raise IntakeError(f"no text column; columns are {_columns(header_row)} "
                          "(expected one of: text, transcript, 通话内容 …)",
                          f"表格缺少转写文本列（应有 text / 通话内容 / 内容 等列），现有列：{_columns(header_row)}")
    if len(numbered) == 1:
        raise IntakeError("the table has a header but no data rows", "表格只有表头，没有数据行")
    speaker_col = next((header.index(k) for k in _TABLE_SPEAKER if k in header), None)
    if speaker_col is not None:
        return _turn_rows(numbered[1:], header, text_col, speaker_col, source, name)
    out: list[Item] = []
    for number, row in numbered[1:]:
        default_id = f"{name}#{number}"
        if isinstance(row, IntakeError):
            out.append(ReadFailure(default_id, source, row))
            continue
        record = {header[i]: row[i] for i in range(min(len(header), len(row))) if header[i]}
        text = _cell_text(row[text_col]) if len(row) > text_col else ""
        if not text.strip():
            rid = _item_id(record, default_id)
            out.append(ReadFailure(rid, source, IntakeError(
                f"row {number}: the text column is missing or empty", f"第 {number} 行缺少通话内容")))
            continue
        # Columns the reader uses (id, phone, time) are bounded where they are read; any
        # other column (备注, 处理结果 …) may be long, but not longer than a whole call.
        oversized = next((h for h, v in record.items() if h != header[text_col]
                          and len(v) > MAX_TRANSCRIPT_CHARS), None)
        if oversized is not None:
            out.append(ReadFailure(_item_id(record, default_id), source, IntakeError(
                f"row {number}: column {_short(oversized, 40)!r} has more than {MAX_TRANSCRIPT_CHARS} characters",
                f"第 {number} 行的“{_short(oversized, 20)}”列过长（超过 {MAX_TRANSCRIPT_CHARS} 字）")))
            continue
        out.append(_transcript_from_obj({**record, "text": text}, source, default_id))
    return out
