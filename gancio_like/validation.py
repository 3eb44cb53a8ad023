"""Request bodies checked against the very schemas `/api/openapi.json` publishes
(SPEC §4), so what the document calls invalid the server refuses, by construction.

JSON Schema 2020-12 as OpenAPI 3.1 uses it, read as the document's readers read it:
`pattern` is an ECMA-262 regex, whose `$` is the end of the string (Python's also
matches before a final newline). Services keep the rules a schema cannot state
(an end before the start, a name nobody has).
"""
from __future__ import annotations

import functools
import json
import re

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError as SchemaError
from jsonschema.exceptions import best_match

from .errors import ValidationError


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern)


def _pattern(validator, pattern: str, instance, schema):
    if validator.is_type(instance, "string") and not _regex(pattern).search(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


# What Python's str.strip() removes (str.isspace), as a regex class body.
STRIPPED = "\\x09-\\x0d\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"


def text_pattern(forbidden: str, blank_ok: bool = True) -> str:
    """A pattern for text without the `forbidden` characters (a regex class body);
    unless `blank_ok`, with one character str.strip() would keep, so it is not blank."""
    if blank_ok:
        return f"^[^{forbidden}]*$"
    return f"^[^{forbidden}]*[^{forbidden}{STRIPPED}][^{forbidden}]*$"


_VALIDATORS: dict[int, tuple[dict, Draft202012Validator]] = {}


def _validator(schema: dict) -> Draft202012Validator:
    """One per schema object: module constants, or built once per app, so `id` names them
    (each is kept alive here, so its id is never reused)."""
    found = _VALIDATORS.get(id(schema))
    if found is None or found[0] is not schema:
        found = _VALIDATORS[id(schema)] = (schema, _Validator(schema))
    return found[1]


def check(data, schema: dict, name: str = "") -> None:
    """Raise a ValidationError naming the field at fault (`name` is the value's own,
    for a parameter; a body's fields are named by their path), unless `data` fits `schema`."""
    error = best_match(_validator(schema).iter_errors(data))
    if error is not None:
        field, problem = _explain(error, name)
        raise ValidationError(f'"{field}" {problem}' if field else f"the body {problem}", field or None)


def checked(data: dict, schema: dict) -> dict:
    """`data` once it fits `schema`, with whole numbers written `5.0` read as 5 where the
    schema says integer (JSON Schema counts them as integers; the code below wants ints)."""
    check(data, schema)
    for name, field in schema.get("properties", {}).items():
        types = field.get("type", [])
        if isinstance(data.get(name), float) and "integer" in (types if isinstance(types, list) else [types]):
            data[name] = int(data[name])
    return data


def _explain(error: SchemaError, name: str) -> tuple[str, str]:
    """(the field's path like `tags[2]`, what is wrong with it, in words)."""
    path = name + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    path = path.lstrip(".")
    keyword, value, schema = error.validator, error.validator_value, error.schema
    if keyword == "required":
        missing = next(key for key in value if key not in error.instance)
        return (f"{path}.{missing}" if path else missing), "is required"
    if "description" in schema and keyword in ("pattern", "oneOf", "anyOf", "minLength"):
        return path, f"must be {schema['description']}"
    return path, _WORDS.get(keyword, lambda v, s: f"does not fit the schema ({keyword})")(value, schema)


TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "true or false",
              "array": "an array", "object": "an object", "null": "null"}


def _length(value, schema) -> str:
    return f"must be {schema.get('minLength', 0)} to {schema.get('maxLength', 'any number of')} characters"


def _range(value, schema) -> str:
    return f"must be from {schema.get('minimum', 'any')} to {schema.get('maximum', 'any')}"


_WORDS = {
    "type": lambda v, s: "must be " + " or ".join(TYPE_WORDS[t] for t in (v if isinstance(v, list) else [v])),
    "minLength": _length, "maxLength": _length, "minimum": _range, "maximum": _range,
    "enum": lambda v, s: "must be one of " + ", ".join(json.dumps(x) for x in v),
    "const": lambda v, s: f"must be {json.dumps(v)}",
    "maxItems": lambda v, s: f"must have at most {v} items",
    "minItems": lambda v, s: f"must have at least {v} items",
    "pattern": lambda v, s: "has the wrong form",
    "additionalProperties": lambda v, s: "has a field this endpoint does not know",
}
