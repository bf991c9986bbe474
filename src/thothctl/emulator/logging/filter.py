"""The Cloud Logging query language, the subset ListLogEntries/TailLogEntries filters use: a
parser producing a small expression tree, and an evaluator over LogEntry JSON (camelCase, as
``json_format.MessageToDict`` renders it).

Comparisons (``=``, ``!=``, ``>``, ``<``, ``>=``, ``<=``, ``:``, ``=~``, ``!~``, ``FIELD:*``),
``AND``/``OR``/``NOT``/``-`` with the documented precedence (NOT, then OR, then AND), parentheses,
value groups, quoted paths, ``log_id(...)`` and bare values. What each operator means on strings,
numbers, severities, timestamps and missing fields, and where the emulator had to choose (a
comparison on a missing field is false, so ``!=`` on it is true): docs/emulator.md, "Cloud Logging
filters". Errors are :class:`FilterError` with the 1-based column of the offending token.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

SEVERITIES: dict[str, int] = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}
OPERATORS = ("=~", "!~", ">=", "<=", "!=", "=", ">", "<", ":")
KEYWORDS = ("AND", "OR", "NOT")
MAX_FILTER_LENGTH = 20000
MAX_DEPTH = 64  # nested parentheses and NOTs: deeper is INVALID_ARGUMENT, never a RecursionError
_SPECIAL = set('()"=!<>:~ \t\r\n')
_TIME_FIELDS = ("timestamp", "receiveTimestamp")
_CAMEL_ROOTS = ("httpRequest", "sourceLocation", "operation")
_ALIASES = {
    "log_name": "logName",
    "text_payload": "textPayload",
    "json_payload": "jsonPayload",
    "proto_payload": "protoPayload",
    "http_request": "httpRequest",
    "insert_id": "insertId",
    "receive_timestamp": "receiveTimestamp",
    "span_id": "spanId",
    "trace_sampled": "traceSampled",
    "source_location": "sourceLocation",
}


class FilterError(ValueError):
    """A filter that does not parse, with the 1-based column where the problem is."""

    def __init__(self, message: str, pos: int):
        self.message = message
        self.column = pos + 1
        super().__init__(f"{message} at column {self.column}")


# --- the tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    text: str
    quoted: bool
    pos: int


@dataclass(frozen=True)
class And:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Not:
    item: Any


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]
    op: str
    value: Any  # Value, or And/Or of Values (value disjunction), or None for ':*'
    pos: int


@dataclass(frozen=True)
class Global:
    value: Value


@dataclass(frozen=True)
class LogId:
    log_id: str


@dataclass(frozen=True)
class Everything:
    pass


# --- parsing -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.depth = 0

    def nested(self, parse: Callable[[], Any]) -> Any:
        """``parse()`` one level deeper (a parenthesis or a NOT); deeper than MAX_DEPTH fails."""
        if self.depth >= MAX_DEPTH:
            raise FilterError(f"the filter nests deeper than {MAX_DEPTH} levels", self.pos)
        self.depth += 1
        node = parse()
        self.depth -= 1
        return node

    # scanning
    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        self.skip_ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.peek() == ""

    def word_at(self, pos: int) -> tuple[str, int]:
        end = pos
        while end < len(self.text) and self.text[end] not in _SPECIAL:
            end += 1
        return self.text[pos:end], end

    def keyword(self) -> str | None:
        """The keyword at the cursor (AND/OR/NOT as a whole word), without consuming it."""
        self.skip_ws()
        word, end = self.word_at(self.pos)
        if word in KEYWORDS and (end >= len(self.text) or self.text[end] in ' \t\r\n()"'):
            return word
        return None

    def take_keyword(self, word: str) -> None:
        self.skip_ws()
        self.pos += len(word)

    def string(self) -> Value:
        start = self.pos
        assert self.text[self.pos] == '"'
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                raise FilterError("unterminated string (a '\"' is missing)", start)
            ch = self.text[self.pos]
            if ch == "\\":
                if self.pos + 1 >= len(self.text):
                    raise FilterError("unterminated string (a '\"' is missing)", start)
                nxt = self.text[self.pos + 1]
                out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
                self.pos += 2
                continue
            if ch == '"':
                self.pos += 1
                return Value("".join(out), True, start)
            out.append(ch)
            self.pos += 1

    def value(self, *, after_op: bool) -> Value:
        ch = self.peek()
        start = self.pos
        if ch == '"':
            return self.string()
        if after_op:
            # An unquoted value runs to whitespace or ')' (so 2026-11-28T02:00:00Z needs no quotes).
            end = start
            while (
                end < len(self.text)
                and not self.text[end].isspace()
                and self.text[end] not in '()"'
            ):
                end += 1
            text = self.text[start:end]
        else:
            text, end = self.word_at(start)
        if not text:
            found = f"'{ch}'" if ch else "the end of the filter"
            raise FilterError(f"expected a value but found {found}", start)
        self.pos = end
        return Value(text, False, start)

    # grammar
    def parse(self) -> Any:
        if not self.text.strip():
            return Everything()
        if len(self.text) > MAX_FILTER_LENGTH:
            raise FilterError(
                f"the filter is longer than {MAX_FILTER_LENGTH} characters", MAX_FILTER_LENGTH
            )
        node = self.conjunction()
        if not self.at_end():
            ch = self.peek()
            if ch == ")":
                raise FilterError("unbalanced parentheses: unexpected ')'", self.pos)
            raise FilterError(f"unexpected '{ch}'", self.pos)
        return node

    def conjunction(self) -> Any:
        items = [self.disjunction()]
        while True:
            kw = self.keyword()
            if kw == "AND":
                self.take_keyword("AND")
                if self.at_end() or self.peek() == ")":
                    raise FilterError("expected an expression after AND", self.pos)
                items.append(self.disjunction())
            elif self.at_end() or self.peek() == ")" or kw == "OR":
                break
            else:  # juxtaposition: implicit AND
                items.append(self.disjunction())
        return items[0] if len(items) == 1 else And(tuple(items))

    def disjunction(self) -> Any:
        items = [self.negation()]
        while self.keyword() == "OR":
            self.take_keyword("OR")
            if self.at_end() or self.peek() == ")":
                raise FilterError("expected an expression after OR", self.pos)
            items.append(self.negation())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def negation(self) -> Any:
        kw = self.keyword()
        if kw == "NOT":
            self.take_keyword("NOT")
            if self.at_end() or self.peek() == ")":
                raise FilterError("expected an expression after NOT", self.pos)
            return Not(self.nested(self.negation))
        if kw in ("AND", "OR"):
            raise FilterError(f"{kw} needs an expression on its left", self.pos)
        if (
            self.peek() == "-"
            and self.pos + 1 < len(self.text)
            and not self.text[self.pos + 1].isspace()
        ):
            self.pos += 1
            return Not(self.nested(self.negation))
        return self.primary()

    def primary(self) -> Any:
        ch = self.peek()
        start = self.pos
        if ch == "(":
            self.pos += 1
            if self.peek() == ")":
                raise FilterError("empty parentheses", self.pos)
            node = self.nested(self.conjunction)
            if self.peek() != ")":
                raise FilterError("unbalanced parentheses: a ')' is missing", start)
            self.pos += 1
            return node
        if ch == ")":
            raise FilterError("unbalanced parentheses: unexpected ')'", self.pos)
        if ch == "":
            raise FilterError("unexpected end of the filter", self.pos)
        if self.text.startswith(OPERATORS, self.pos) and ch != "-":
            raise FilterError(f"expected a field or a value before '{ch}'", self.pos)
        # log_id("...")
        word, end = self.word_at(self.pos)
        if word == "log_id" and end < len(self.text) and self.text[end] == "(":
            self.pos = end + 1
            if self.peek() != '"':
                raise FilterError(
                    'log_id() takes one quoted log id, e.g. log_id("run.googleapis.com/requests")',
                    self.pos,
                )
            arg = self.string()
            if self.peek() != ")":
                raise FilterError("log_id(): a ')' is missing", self.pos)
            self.pos += 1
            return LogId(arg.text)
        if re.match(r"[A-Za-z_][A-Za-z0-9_]*\(", self.text[self.pos :]):
            name = self.text[self.pos :].split("(", 1)[0]
            raise FilterError(
                f"unsupported function {name}() (the emulator supports log_id())", self.pos
            )
        path = self.path()
        self.skip_ws()
        op = next((o for o in OPERATORS if self.text.startswith(o, self.pos)), None)
        if op is None:
            if self.text[start] == '"' and len(path) == 1:
                return Global(Value(path[0], True, start))
            return Global(Value(self.text[start : self.pos].strip(), False, start))
        if any(not seg for seg in path):
            raise FilterError(f"invalid field name {self.text[start : self.pos].strip()!r}", start)
        op_pos = self.pos
        self.pos += len(op)
        if op == ":" and self.peek() == "*":
            self.pos += 1
            return Comparison(self.normalize(path), ":*", None, op_pos)
        if self.peek() == "(":
            value = self.value_group(op)
        else:
            if self.keyword() is not None or self.at_end() or self.peek() == ")":
                raise FilterError(f"expected a value after '{op}'", self.pos)
            value = self.value(after_op=True)
        node = Comparison(self.normalize(path), op, value, op_pos)
        check_comparison(node)
        return node

    def value_group(self, op: str) -> Any:
        start = self.pos
        self.pos += 1
        groups: list[list[Value]] = [[]]  # OR of ANDs
        while True:
            ch = self.peek()
            if ch == ")":
                self.pos += 1
                break
            if ch == "":
                raise FilterError("unbalanced parentheses: a ')' is missing", start)
            kw = self.keyword()
            if kw == "OR":
                self.take_keyword("OR")
                groups.append([])
                continue
            if kw == "AND":
                self.take_keyword("AND")
                continue
            if kw == "NOT":
                raise FilterError("NOT is not supported inside a value list", self.pos)
            groups[-1].append(self.value(after_op=True))
        if any(not g for g in groups):
            raise FilterError(f"empty value in the list after '{op}'", start)
        ors = tuple(g[0] if len(g) == 1 else And(tuple(g)) for g in groups)
        return ors[0] if len(ors) == 1 else Or(ors)

    def path(self) -> tuple[str, ...]:
        segments: list[str] = []
        start = self.pos
        while True:
            if self.pos < len(self.text) and self.text[self.pos] == '"':
                segments.append(self.string().text)
            else:
                word, end = self.word_at(self.pos)
                if not word:
                    raise FilterError("expected a field name", self.pos)
                parts = word.split(".")
                self.pos = end
                if word.endswith(".") and self.pos < len(self.text) and self.text[self.pos] == '"':
                    segments.extend(parts[:-1])
                    continue
                segments.extend(parts)
            if self.pos < len(self.text) and self.text[self.pos] == ".":
                self.pos += 1
                continue
            break
        if not segments:
            raise FilterError("expected a field name", start)
        return tuple(segments)

    @staticmethod
    def normalize(path: tuple[str, ...]) -> tuple[str, ...]:
        first = _ALIASES.get(path[0], path[0])
        if first in _CAMEL_ROOTS:
            return (first, *(_camel(p) for p in path[1:]))
        return (first, *path[1:])


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _values(node: Any) -> list[Value]:
    if isinstance(node, Value):
        return [node]
    if isinstance(node, And | Or):
        return [v for item in node.items for v in _values(item)]
    return []


def check_comparison(node: Comparison) -> None:
    """Reject values that can never be compared: unknown severities, bad timestamps, bad regexes."""
    severity = node.path == ("severity",) and node.op not in (":", "=~", "!~")
    when = len(node.path) == 1 and node.path[0] in _TIME_FIELDS and node.op not in (":", "=~", "!~")
    for value in _values(node.value):
        if severity and severity_number(value.text) is None:
            names = ", ".join(SEVERITIES)
            raise FilterError(
                f"invalid severity {value.text!r}: use one of {names} or a number", value.pos
            )
        if when and parse_timestamp(value.text) is None:
            raise FilterError(
                f'invalid timestamp {value.text!r}: use RFC 3339, e.g. "2026-11-28T02:00:00Z"',
                value.pos,
            )
        if node.op in ("=~", "!~"):
            try:
                re.compile(value.text)
            except re.error as exc:
                raise FilterError(
                    f"invalid regular expression {value.text!r}: {exc}", value.pos
                ) from None


def parse(text: str) -> Any:
    """Parse a filter into a tree. Raises FilterError (with the column) if it is malformed."""
    return _Parser(text or "").parse()


# --- evaluation ----------------------------------------------------------------------------


def severity_number(value: Any) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip().upper()
    if text in SEVERITIES:
        return SEVERITIES[text]
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return None


def parse_timestamp(text: str) -> dt.datetime | None:
    raw = str(text).strip()
    if not raw:
        return None
    fixed = raw.replace("z", "Z")
    m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)\.(\d+)(Z|[+-]\d\d:\d\d)?", fixed)
    if m:  # Python keeps microseconds only
        fixed = f"{m.group(1)}.{(m.group(2) + '000000')[:6]}{m.group(3) or ''}"
    if not re.match(r"^\d{4}-\d{2}-\d{2}", fixed):
        return None
    try:
        when = dt.datetime.fromisoformat(fixed)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when


def _lookup(entry: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    cur: Any = entry
    for i, seg in enumerate(path):
        if isinstance(cur, dict):
            if seg in cur:
                cur = cur[seg]
                continue
            if i == 0 and seg == "severity":
                return True, "DEFAULT"
            return False, None
        if isinstance(cur, list):
            items = [item.get(seg) for item in cur if isinstance(item, dict) and seg in item]
            if not items:
                return False, None
            cur = items
            continue
        return False, None
    if path == ("severity",) and cur is None:
        return True, "DEFAULT"
    return True, cur


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _compare(field: tuple[str, ...], actual: Any, op: str, wanted: str) -> bool:
    if isinstance(actual, list):
        return any(_compare(field, item, op, wanted) for item in actual)
    if isinstance(actual, dict):
        if op == ":":
            return any(wanted.lower() in str(k).lower() for k in actual) or any(
                _compare(field, v, op, wanted) for v in actual.values()
            )
        return False
    if op in ("=~", "!~"):
        return re.search(wanted, _plain(actual)) is not None
    if field == ("severity",):
        left, right = severity_number(actual), severity_number(wanted)
        if op == ":":
            return wanted.lower() in _plain(actual).lower()
        return left is not None and right is not None and _ordered(left, op, right)
    if field[0] in _TIME_FIELDS and len(field) == 1 and op != ":":
        left_t, right_t = parse_timestamp(_plain(actual)), parse_timestamp(wanted)
        return left_t is not None and right_t is not None and _ordered(left_t, op, right_t)
    a_num, w_num = _number(actual), _number(wanted)
    if isinstance(actual, int | float) and not isinstance(actual, bool) and w_num is not None:
        if op == ":":
            return a_num == w_num
        return _ordered(a_num, op, w_num)
    text = _plain(actual).lower()
    want = wanted.lower()
    if op == ":":
        return want in text
    if a_num is not None and w_num is not None and op in (">", "<", ">=", "<="):
        return _ordered(a_num, op, w_num)
    return _ordered(text, op, want)


def _ordered(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return left == right
    if op == ">":
        return left > right
    if op == "<":
        return left < right
    if op == ">=":
        return left >= right
    if op == "<=":
        return left <= right
    raise AssertionError(op)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _match_values(field: tuple[str, ...], actual: Any, op: str, node: Any) -> bool:
    if isinstance(node, Value):
        return _compare(field, actual, op, node.text)
    if isinstance(node, Or):
        return any(_match_values(field, actual, op, item) for item in node.items)
    if isinstance(node, And):
        return all(_match_values(field, actual, op, item) for item in node.items)
    raise AssertionError(node)


def _strings(value: Any):
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif value is not None:
        yield _plain(value)


def evaluate(node: Any, entry: dict[str, Any]) -> bool:
    """Whether a LogEntry (JSON form) matches the parsed filter."""
    if isinstance(node, Everything):
        return True
    if isinstance(node, And):
        return all(evaluate(item, entry) for item in node.items)
    if isinstance(node, Or):
        return any(evaluate(item, entry) for item in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, entry)
    if isinstance(node, LogId):
        suffix = "/logs/" + quote(node.log_id, safe="")
        return str(entry.get("logName", "")).lower().endswith(suffix.lower())
    if isinstance(node, Global):
        needle = node.value.text.lower()
        return any(needle in s.lower() for s in _strings(entry))
    if isinstance(node, Comparison):
        present, actual = _lookup(entry, node.path)
        if node.op == ":*":
            return present and actual is not None
        if node.op == "!=":
            return not (present and _match_values(node.path, actual, "=", node.value))
        if node.op == "!~":
            return not (present and _match_values(node.path, actual, "=~", node.value))
        return present and _match_values(node.path, actual, node.op, node.value)
    raise AssertionError(node)


def compile_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    """Parse once, return a predicate over LogEntry JSON."""
    tree = parse(text)
    return lambda entry: evaluate(tree, entry)
