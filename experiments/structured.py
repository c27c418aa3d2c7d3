"""Hydra structured configs derived from the library's own config dataclasses.

The library's frozen dataclasses (`qsense.genetic.GAConfig`, `qsense.genetic.RefineConfig`,
`qsense.links.SatelliteLink`, `qsense.links.FiberLink`, `routing.topology.GeneratorConfig`, ...)
are the one source of every setting: its name, type, default and accepted range.
:func:`section` turns one of them into a plain (mutable) dataclass that OmegaConf accepts,
field by field through `dataclasses.fields`, so a field added to the library class appears in
the config schema with the library's default, without an edit here:

* ``bool`` becomes ``Any``, checked to be true or false when the section is created (a
  ``bool``-typed key would turn ``2`` or ``yes`` into true);
* ``tuple[...]`` becomes ``list[...]`` (YAML and the command line write lists): ``list[X]``
  when every item is the primitive X, else ``list[Any]``; ``dict[str, X]`` keeps a primitive
  X, other values are ``Any``; a dict keyed by anything but ``str`` is ``Any``; ``X | None``
  stays optional, a bare ``tuple`` / ``dict`` becomes ``list[Any]`` / ``dict[str, Any]``,
  anything OmegaConf cannot type becomes ``Any``;
* defaults are the library's (tuples as lists);
* validation is the library's: every section builds its library object when it is created
  (by `OmegaConf.to_object`, or directly from Python) and turns the library's ``ValueError``
  into a :class:`ConfigError` naming the full config key (``search.population``), the value
  and the accepted range. Nothing here repeats a range.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from typing import Any, ClassVar

_PRIMITIVES = (int, float, bool, str)


class ConfigError(ValueError):
    """A config value outside its accepted range."""


def omega_type(tp: Any) -> Any:
    """The OmegaConf-compatible annotation for a library field annotation ``tp``."""
    if tp in _PRIMITIVES or tp is Any:
        return tp
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:  # X | None (a one-member union is X itself, not a Union)
            return typing.Optional[omega_type(rest[0])]  # noqa: UP045
        return Any
    if tp in (tuple, list) or origin in (tuple, list):
        items = [a for a in args if a is not Ellipsis]
        if items and all(a == items[0] for a in items) and items[0] in _PRIMITIVES:
            return list[items[0]]
        return list[Any]
    if tp is dict or origin is dict:
        if args and args[0] is not str:
            return Any  # a typed DictConfig refuses (or re-types) keys other than str
        value = omega_type(args[1]) if args else Any
        # only primitive values are typed: a typed list inside a dict refuses ``[3, 4]``
        # for list[float] (OmegaConf converts ints to floats at the top level only)
        return dict[str, value if value in _PRIMITIVES else Any]
    return Any


def _listify(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_listify(v) for v in value]
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    return value


def _tupleify(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return tuple(_tupleify(v) for v in value)
    return value


def _wants_tuple(tp: Any) -> bool:
    if tp is tuple or typing.get_origin(tp) is tuple:
        return True
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return any(_wants_tuple(a) for a in typing.get_args(tp))
    return False


_FAIL = re.compile(r"^([A-Za-z_][\w.]*) = (.*)$", re.DOTALL)
_NONE = re.compile(r"\bNone\b")


def config_error(key: str, err: Exception) -> ConfigError:
    """``err`` from a library check (``"NAME = VALUE is invalid; accepted: RANGE"``, see
    `qsense._checks.fail`) as a ConfigError naming the full key ``key.NAME``."""
    msg = _NONE.sub("null", str(err))  # a config spells Python's None as null
    m = _FAIL.match(msg)
    if m:
        return ConfigError(f"config key '{key}.{m.group(1)}' = {m.group(2)}")
    return ConfigError(f"config section '{key}': {msg}")


class LibrarySection:
    """Base of the derived sections: :meth:`build` returns the validated library object."""

    _library: ClassVar[type]
    _key: ClassVar[str]
    _bools: ClassVar[tuple[str, ...]] = ()  # true/false fields (typed Any, checked here)

    def __post_init__(self) -> None:
        for name in self._bools:
            v = getattr(self, name)
            if not isinstance(v, bool):
                raise ConfigError(f"config key '{self._key}.{name}' = {v!r} is invalid; "
                                  "accepted: true or false")
        self.build()
        self.check()

    def library_kwargs(self) -> dict[str, Any]:
        """The library fields' values, lists turned back into tuples where the library
        annotates a tuple."""
        hints = typing.get_type_hints(self._library)
        out = {}
        for f in dataclasses.fields(self._library):
            if not f.init or not hasattr(self, f.name):
                continue
            v = getattr(self, f.name)
            out[f.name] = _tupleify(v) if _wants_tuple(hints[f.name]) else v
        return out

    def build(self, **kw: Any) -> Any:
        """The library object (``kw`` override fields), validated by the library's own
        ``__post_init__`` (and ``validate()`` where the class has one)."""
        try:
            obj = self._library(**{**self.library_kwargs(), **kw})
            if callable(getattr(obj, "validate", None)):
                obj.validate()
        except (ValueError, TypeError) as err:
            raise config_error(self._key, err) from None
        return obj

    def check(self) -> None:
        """Experiment-level checks of the extra (non-library) fields; none by default."""


def section(library: type, name: str, key: str, *, extra: tuple = (), bases: tuple = (),
            exclude: tuple[str, ...] = (), doc: str | None = None,
            module: str = "experiments.schema") -> type:
    """A mutable, OmegaConf-compatible dataclass ``name`` with every init field of the
    dataclass ``library`` (except ``exclude``), the library's defaults and types (tuples as
    lists), plus ``extra`` fields ``(name, type, dataclasses.field(...))`` that are the
    experiment's own. ``key`` is where the section sits in the config (error messages);
    ``module`` is where the class is bound to ``name`` (pickling).
    Instances validate on creation; ``build()`` returns the library object."""
    hints = typing.get_type_hints(library)
    specs = []
    bools = [f.name for f in dataclasses.fields(library)
             if f.init and f.name not in exclude and hints[f.name] is bool]
    bools += [e[0] for e in extra if e[1] is bool]
    extra = tuple((e[0], Any, *e[2:]) if e[1] is bool else e for e in extra)
    for f in dataclasses.fields(library):
        if not f.init or f.name in exclude:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:  # a required library field stays required
            specs.append((f.name, omega_type(hints[f.name])))
            continue
        if isinstance(default, (tuple, list, dict)):
            spec = dataclasses.field(default_factory=lambda d=default: _listify(d))
        else:
            spec = dataclasses.field(default=default)
        specs.append((f.name, Any if f.name in bools else omega_type(hints[f.name]), spec))
    names = {s[0] for s in specs}
    for e in extra:
        if e[0] in names:
            raise TypeError(f"{name}: extra field {e[0]!r} clashes with {library.__name__}")
    cls = dataclasses.make_dataclass(
        name, [*specs, *extra], bases=(*bases, LibrarySection),
        namespace={"_library": library, "_key": key, "__module__": module,
                   "_bools": tuple(bools),
                   "__doc__": doc or f"Config section ``{key}``: the fields of "
                                     f"`{library.__module__}.{library.__qualname__}`."})
    return cls

