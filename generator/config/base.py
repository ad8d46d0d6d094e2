"""What every part of the params model shares: the strict base struct, the name
patterns (data with a pattern, never YAML), the ``Invalid`` error that points at a
key, and the registry through which ``rules`` attaches the cross-field rules."""


from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from msgspec import Meta, Struct

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,30}$"
Name = Annotated[str, Meta(pattern=NAME_PATTERN)]
# An environment variable's name, as ECS passes it to the container (Environment and
# Secrets of a container definition): the POSIX shell's portable names. A map key is
# text the template emits as a name, so it is data with a pattern, never YAML.
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
EnvName = Annotated[str, Meta(pattern=ENV_NAME_PATTERN)]

# What each key pattern means, for the one-line error of a map key that breaks it.
# Every key is checked whole (``re.fullmatch``): ``$`` alone would let a trailing
# newline through.
KEY_RULES: dict[str, str] = {
    NAME_PATTERN: "a name is lowercase letters, digits and '-', starts with a letter and "
                  "has at most 31 characters",
    ENV_NAME_PATTERN: "an environment variable name is letters, digits and '_' and does "
                      "not start with a digit",
}
# What a value pattern means, for the one-line error of a value that breaks it (msgspec's
# own words name the regex, not the fix).
PATTERN_RULES: dict[str, str] = {
    r"^/": "a path starts with '/' (e.g. '/api/*', '/health')",
}
Cidr = Annotated[str, Meta(pattern=r"^[0-9a-fA-F.:]+/\d{1,3}$")]
Port = Annotated[int, Meta(ge=0, le=65535)]
LogRetention = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653]


class Invalid(ValueError):
    """A cross-field rule is broken; ``key`` (dotted, relative to the struct that raises)
    is where the error should point, so that the line named is the key's, not the struct's."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def doc(text: str) -> Meta:
    return Meta(description=text)


S = TypeVar("S", bound="Strict")
Check = Callable[[Any], None]
# The rules each struct type is checked by once converted, in registration order
# (generator/config/rules.py registers every one of them).
RULES: dict[type, list[Check]] = {}


def rule(kind: type[S]) -> Callable[[Callable[[S], None]], Callable[[S], None]]:
    """Register a check of ``kind``: run on every instance of exactly that type."""

    def register(check: Callable[[S], None]) -> Callable[[S], None]:
        RULES.setdefault(kind, []).append(check)
        return check

    return register


class Strict(Struct, forbid_unknown_fields=True, kw_only=True):
    """Unknown keys are errors."""

    def __post_init__(self) -> None:
        # msgspec wraps what a check raises (an Invalid) into its ValidationError, at
        # the path of this struct: params.py turns that into the file and line.
        for check in RULES.get(type(self), ()):
            check(self)
