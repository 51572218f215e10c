"""What the service accepts at its edge, decided once for pages, the portal and the API (issue 12, item 8).

Text: no control characters (tab, newline and carriage return only inside form fields and JSON strings) and no
lone surrogates, checked for every query string, path, form and JSON body by one request hook. Bodies: at most
`MAX_CONTENT_LENGTH` bytes (config.py) and JSON nested at most `MAX_JSON_DEPTH` deep. Page numbers: 1 to `MAX_PAGE`
(`coordinator/pagination.py` enforces it). Dates: `YYYY-MM-DD` between `EARLIEST` and `LATEST`, never a number;
times: ISO 8601 with an offset on such a date. Time zones: the canonical names of `config.canonical_timezones()`.
Bad input is refused with 400 before it reaches the database or the clock.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from flask import Flask, request
from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, BeforeValidator, StringConstraints, WithJsonSchema
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode
from wtforms import DateField, DateTimeLocalField
from wtforms.validators import ValidationError

from config import canonical_timezones, is_canonical_timezone
from coordinator.errors import InvalidRequest

# C0 and C1 control characters, DEL, and lone surrogates (which no database can store).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, except the tab, newline and carriage return that multi-line text holds.
TEXT_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_JSON_DEPTH = 32
MAX_PAGE = 1_000_000
# A date outside these is a typing mistake or an attack on date arithmetic, never a programme's day.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# What the OpenAPI document promises for dates and times (years 1900 to 2999).
DAY_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
MOMENT_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def out_of_range_message() -> str:
    """What a page or the API says of a date outside [EARLIEST, LATEST]."""
    return _("Enter a date between %(earliest)s and %(latest)s.", earliest=EARLIEST.isoformat(),
             latest=LATEST.isoformat())


def in_calendar(day: date) -> bool:
    """True for a day between EARLIEST and LATEST."""
    return EARLIEST <= day <= LATEST


def parse_day(value: object) -> date:
    """A `YYYY-MM-DD` text (or a date) between EARLIEST and LATEST; ValueError otherwise, numbers included."""
    if isinstance(value, datetime):
        raise ValueError("a date, not a time")
    if isinstance(value, str):
        if not ISO_DAY.fullmatch(value):
            raise ValueError("use the form YYYY-MM-DD")
        value = date.fromisoformat(value)
    if not isinstance(value, date):
        raise ValueError("use the form YYYY-MM-DD")
    if not in_calendar(value):
        raise ValueError(f"use a date between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    return value


def day_or_none(value: object) -> date | None:
    """parse_day(), or None for anything it refuses."""
    try:
        return parse_day(value)
    except ValueError:
        return None


def check_moment(value: datetime) -> datetime:
    """An aware time on a day between EARLIEST and LATEST; ValueError otherwise."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give the time with its UTC offset, e.g. 2026-03-02T10:00:00+01:00")
    if not in_calendar(value.date()):
        raise ValueError(f"use a time between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    return value


def parse_moment(value: object) -> datetime:
    """An ISO 8601 time (or a datetime); ValueError for anything else, numbers included (they would be read as
    seconds since 1970)."""
    if isinstance(value, str) and ISO_DAY.match(value):
        with contextlib.suppress(ValueError):
            value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise ValueError("use an ISO 8601 time with its offset, e.g. 2026-03-02T10:00:00+01:00")
    return value


def check_timezone(value: str) -> str:
    """A canonical time zone name; ValueError otherwise."""
    if not is_canonical_timezone(value):
        raise ValueError("use a time zone such as Europe/Madrid")
    return value


# Field types for the API's models: the validation and the OpenAPI document say the same thing.
Day = Annotated[date, BeforeValidator(parse_day),
                WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN})]
Moment = Annotated[datetime, BeforeValidator(parse_moment), AfterValidator(check_moment),
                   WithJsonSchema({"type": "string", "format": "date-time", "pattern": MOMENT_PATTERN})]
TimeZoneName = Annotated[str, AfterValidator(check_timezone),
                         WithJsonSchema({"type": "string", "enum": sorted(canonical_timezones())})]


class DayField(DateField):
    """A form's date, refused outside [EARLIEST, LATEST] like every other date the service reads."""

    data: Any  # a date once parsed, as WTForms declares it

    def pre_validate(self, form) -> None:
        """Out-of-range dates are the field's error, not a crash later in date arithmetic."""
        if self.data is not None and not in_calendar(self.data):
            self.data = None
            raise ValidationError(out_of_range_message())


class LocalMomentField(DateTimeLocalField):
    """A form's local date and time, refused outside [EARLIEST, LATEST]."""

    data: Any  # a datetime once parsed

    def pre_validate(self, form) -> None:
        """As DayField."""
        if self.data is not None and not in_calendar(self.data.date()):
            self.data = None
            raise ValidationError(out_of_range_message())


def refused_characters_message() -> str:
    """What the service says of a control character anywhere in a request."""
    return _("This holds control characters (such as NUL), which cannot be accepted. Remove them and try again.")


def _json_strings(value: Any, path: str = "body") -> Iterator[tuple[str, str, int]]:
    """Every string of a parsed JSON document (keys too) with its path and depth, without recursion."""
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, (dict, list)):
            yield "", where, depth  # the container itself counts as a level
        if isinstance(item, dict):
            for key, child in item.items():
                yield str(key), f"{where}.{key}", depth
                stack.append((child, f"{where}.{key}", depth + 1))
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{index}", depth + 1) for index, child in enumerate(item))
        elif isinstance(item, str):
            yield item, where, depth
        else:
            yield "", where, depth


def check_request() -> None:
    """Refuse a request whose query, path, form or JSON body holds what no field may (the module's rules)."""
    fields: dict[str, list[str]] = {}
    for name, value in request.args.items(multi=True):
        if CONTROL_CHARACTERS.search(name) or CONTROL_CHARACTERS.search(value):
            fields[f"query.{_printable(name)}"] = [refused_characters_message()]
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            fields[f"path.{name}"] = [refused_characters_message()]
    if request.mimetype in FORM_TYPES:
        for name, value in request.form.items(multi=True):
            if CONTROL_CHARACTERS.search(name) or TEXT_CONTROL_CHARACTERS.search(value):
                fields[_printable(name)] = [refused_characters_message()]
    elif request.is_json and request.content_length != 0:
        fields.update(_json_problems())
    if fields:
        messages = {message for texts in fields.values() for message in texts}
        raise InvalidRequest(messages.pop() if len(messages) == 1 else _("Some of what was sent cannot be accepted."),
                             fields)


def _json_problems() -> dict[str, list[str]]:
    try:
        document = request.get_json(silent=True)
    except RecursionError:
        return {"body": [too_deep_message()]}
    if isinstance(document, str):
        # flask-openapi3 would read a JSON string as a second JSON document, past these checks.
        return {"body": [_("Send a JSON object.")]}
    problems: dict[str, list[str]] = {}
    for text, path, depth in _json_strings(document):
        if depth > MAX_JSON_DEPTH:
            return {"body": [too_deep_message()]}
        if TEXT_CONTROL_CHARACTERS.search(text):
            problems[_printable(path)] = [refused_characters_message()]
    return problems


def too_deep_message() -> str:
    """What the service says of JSON nested too deep."""
    return _("This JSON is nested more than %(depth)d levels deep.", depth=MAX_JSON_DEPTH)


def _printable(name: str) -> str:
    """A field name fit to echo in an error: control characters shown as escapes."""
    return CONTROL_CHARACTERS.sub(lambda match: f"\\u{ord(match.group()):04x}", name)[:100]


# The same rules as the hook's, in the OpenAPI document's words (JSON Schema patterns).
PARAMETER_TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
BODY_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
# A one-line text that services strip and require: at least one visible character.
VISIBLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"


def visible_line(max_length: int) -> Any:
    """A one-line text of at most `max_length` characters with something visible in it (a name, an address),
    stripped once it is checked."""
    return Annotated[str, StringConstraints(max_length=max_length, pattern=VISIBLE_LINE_PATTERN),
                     AfterValidator(str.strip)]


def document_input_rules(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with this module's text rule written into every free-text string a request carries:
    parameters, and the request bodies' schemas (components reached from a request body)."""
    components = document.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def constrain(schema: Any, pattern: str) -> None:
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen and name in components:
                seen.add(name)
                constrain(components[name], pattern)
            return
        if schema.get("type") == "string" and not {"pattern", "enum", "format", "const"} & set(schema):
            schema["pattern"] = pattern
        if isinstance(schema.get("additionalProperties"), dict):
            schema.setdefault("propertyNames", {"pattern": PARAMETER_TEXT_PATTERN})
        for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            for part in schema.get(key, []):
                constrain(part, pattern)
        for key in ("items", "additionalProperties"):
            constrain(schema.get(key), pattern)
        for part in schema.get("properties", {}).values():
            constrain(part, pattern)

    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                constrain(parameter.get("schema"), PARAMETER_TEXT_PATTERN)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                constrain(media.get("schema"), BODY_TEXT_PATTERN)
    return document


def register_input_checks(app: Flask) -> None:
    """Check every request before its view (after the rate limits, which keep their own counts)."""
    app.before_request(check_request)


_QUERY_SCHEMAS: dict[type, dict[str, Any]] = {}


class QueryModel(BaseModel):
    """A query string's model. flask-openapi3 asks for its JSON schema on every request (to find its list fields),
    and building it cost more than the rest of the query's handling: the schema never changes, so it is built once.
    The OpenAPI document, which asks with its own arguments, gets a fresh one as before."""

    @classmethod
    def model_json_schema(cls, by_alias: bool | None = None, ref_template: str = DEFAULT_REF_TEMPLATE,
                          schema_generator: type[GenerateJsonSchema] = GenerateJsonSchema,
                          mode: JsonSchemaMode = "validation", **options: Any) -> dict[str, Any]:
        if (by_alias, ref_template, schema_generator, mode, options) != (None, DEFAULT_REF_TEMPLATE,
                                                                          GenerateJsonSchema, "validation", {}):
            return super().model_json_schema(by_alias, ref_template, schema_generator, mode, **options)
        if cls not in _QUERY_SCHEMAS:
            _QUERY_SCHEMAS[cls] = super().model_json_schema()
        return _QUERY_SCHEMAS[cls]
