"""Dump the polyaxonfile schema of the installed `polyaxon` package as YAML.

Why: `pxdoctor lint` used to carry a hand-written copy of the Polyaxon schema
that went stale.  This script reads the schema from the real pydantic models
(`polyaxon._flow`), starting at the models the CLI picks for a top-level
`kind:`, and writes a data file that the Rust linter embeds.  Nothing here is
copied from Polyaxon; the models are only introspected (and, for a few
discriminated fields, probed with a bogus or missing `kind`).

Rerun after changing the Polyaxon version:

    python3 -m venv /tmp/pxvenv && /tmp/pxvenv/bin/pip install polyaxon==2.18.0
    /tmp/pxvenv/bin/python tools/polyaxon_schema.py > src/lint/polyaxon-2.18.yaml

(The output only depends on the installed polyaxon and kubernetes packages.)

Field entries (key = the name users write, i.e. the pydantic alias):
  type: scalar | section | list | map | union | k8s | any
  of: model name (section/k8s, items of list/map), or scalar | any | union
  scalar: str|int|float|number|bool|datetime|date|timedelta (no key: any scalar)
  enum: fixed values;  pattern: regex a string must match;  snake: python name
  template: a "{{ ... }}" string is accepted instead of the value
  or_scalar / or_list / or_map: the value may also be a string / list / mapping
  item_or_scalar / item_template: the same, for each item of a list/map
  item_short_form: an item that is a mapping with none of the model's keys
    (or a scalar) is taken as its `value` (operation params)
  on / options / unknown / missing / default: for unions (also on a list/map
    whose items are a union); unknown/missing tell what a bad / absent
    discriminator does (error | accepted); default: model used when absent
  untagged_map: a mapping without the discriminator is kept as a patch (it
    needs component/hubRef/pathRef/urlRef/dagRef, else it is an error)
  unchecked: (k8s sections) polyaxon passes this nested value through as is
Sections: extra forbid|allow|ignore for unknown keys; required: keys without a
default; snake_ok: the python name is accepted too; kubernetes: a Kubernetes
client type (Polyaxon checks no value types in it).  Top level: `top` maps
`kind:` to a section, `top_default` is used when `kind:` is absent, and in a
file with `kind:` every top-level key must also be in `top_keys`.
"""

import datetime
import enum
import inspect
import re
import sys
import typing

import kubernetes.client
import yaml
from clipped.types.ref_or_obj import RefField
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

import polyaxon
from polyaxon._flow.polyaxonfile import (
    V1Component,
    V1Operation,
    V1Polyaxonfile,
    get_polyaxonfile_model,
)
from polyaxon._polyaxonfile.specs import SPECIFICATION_BY_KIND
from polyaxon._polyaxonfile.specs.sections import Sections

NONE = type(None)
SCALARS = [  # order matters: bool is an int, datetime is a date
    (bool, "bool"),
    (int, "int"),
    (float, "float"),
    (datetime.datetime, "datetime"),
    (datetime.date, "date"),
    (datetime.timedelta, "timedelta"),
    (str, "str"),
]
BOGUS = "__pxdoctor_unknown__"

sections = {}  # name -> section dict, in discovery order
queue = []
classes = {}  # name -> class, to catch name clashes
direct_k8s = set()  # k8s classes used as a field type of a polyaxon model


def is_model(t):
    return inspect.isclass(t) and issubclass(t, BaseModel)


def is_k8s(t):
    return inspect.isclass(t) and hasattr(t, "openapi_types") and hasattr(t, "attribute_map")


def want(t):
    """Name of a model/k8s class, scheduling it for emission."""
    seen = classes.setdefault(t.__name__, t)
    if seen is not t:  # e.g. kubernetes.client.V1Job vs polyaxon V1Job
        raise SystemExit("two classes named %s: %r, %r" % (t.__name__, seen, t))
    if t.__name__ not in sections and t not in queue:
        queue.append(t)
    return t.__name__


def strip(ann, found=None):
    """Drop Annotated metadata; return (type, discriminator or None).

    A string pattern constraint, if any, is stored in `found["pattern"]`.
    """
    disc = None
    if isinstance(ann, typing.ForwardRef):  # e.g. V1Dag.operations
        ann = getattr(sys.modules[V1Polyaxonfile.__module__], ann.__forward_arg__)
    while typing.get_origin(ann) is typing.Annotated:
        ann, *meta = typing.get_args(ann)
        for m in meta:
            if isinstance(m, FieldInfo) and m.discriminator:
                disc = m.discriminator
            if getattr(m, "pattern", None) and found is not None:
                found["pattern"] = m.pattern
    return ann, disc


def kind_value(model, key):
    f = model.model_fields[key]
    args = typing.get_args(strip(f.annotation)[0])
    v = args[0] if args else f.default
    return v.value if isinstance(v, enum.Enum) else v


def scalar_of(t):
    if inspect.isclass(t) and issubclass(t, enum.Enum):
        return {"type": "scalar", "scalar": "str", "enum": [m.value for m in t]}
    if typing.get_origin(t) is typing.Literal:
        vals = [v.value if isinstance(v, enum.Enum) else v for v in typing.get_args(t)]
        return {"type": "scalar", "scalar": "str", "enum": vals}
    for py, name in SCALARS:
        if inspect.isclass(t) and issubclass(t, py):
            return {"type": "scalar", "scalar": name}
    return None


def merge_scalars(shapes):
    kinds = {s.get("scalar") for s in shapes}
    out = {"type": "scalar"}
    if kinds <= {"int", "float"}:
        out["scalar"] = "number" if len(kinds) > 1 else kinds.pop()
    elif len(kinds) == 1:
        out["scalar"] = kinds.pop()
    patterns = {s["pattern"] for s in shapes if "pattern" in s}
    if len(patterns) == 1 and all("pattern" in s for s in shapes):
        out["pattern"] = patterns.pop()
    enums = [v for s in shapes for v in s.get("enum", [])]
    if enums and all("enum" in s for s in shapes):
        out["enum"] = enums
    return out


def shape(ann):
    """Describe one annotation as a field entry (without snake/required)."""
    found = {}
    ann, disc = strip(ann, found)
    origin = typing.get_origin(ann)
    if ann is typing.Any or ann is object:
        return {"type": "any"}
    if ann is RefField:
        return {"type": "scalar", "scalar": "str", "template": True}
    if origin is typing.Union:
        members = [a for a in typing.get_args(ann) if a is not NONE]
        if disc:
            opts = {}
            for m in members:
                opts[kind_value(m, disc)] = want(m)
            return {"type": "union", "on": disc, "options": opts}
        return combine([shape(m) for m in members])
    if origin in (list, typing.List, tuple, set):
        args = typing.get_args(ann)
        return wrap("list", shape(args[0]) if args else {"type": "any"})
    if origin in (dict, typing.Dict):
        args = typing.get_args(ann)
        return wrap("map", shape(args[1]) if args else {"type": "any"})
    if ann in (list, dict):
        return {"type": "list" if ann is list else "map", "of": "any"}
    if is_model(ann):
        return {"type": "section", "of": want(ann)}
    if is_k8s(ann):
        direct_k8s.add(ann.__name__)
        return {"type": "k8s", "of": want(ann)}
    s = scalar_of(ann)
    if s:
        return dict(s, **found)
    if inspect.isclass(ann) and issubclass(ann, (list, tuple)):  # RangeList, PChoice
        return {"type": "list", "of": "any"}
    raise SystemExit("cannot describe annotation %r" % (ann,))


def wrap(kind, item):
    """A list/map whose items have the shape `item`."""
    out = {"type": kind}
    t = item["type"]
    if t in ("section", "k8s"):
        out["of"] = item["of"]
    elif t == "union":
        out["of"] = "union"
        out.update({k: item[k] for k in ("on", "options")})
    elif t == "scalar":
        out["of"] = "scalar"
        out.update({k: item[k] for k in ("scalar", "enum", "pattern") if k in item})
    else:
        out["of"] = "any"
    for flag in ("or_scalar", "template"):
        if item.get(flag):
            out["item_" + flag] = True
    if item.get("template") and t == "scalar":
        out["item_or_scalar"] = True
    return out


def combine(shapes):
    """Union[...] without a discriminator: one main shape plus alternatives."""
    template = any(s.get("template") for s in shapes)
    plain = [s for s in shapes if not (s["type"] == "scalar" and s.get("template"))]
    structured = [s for s in plain if s["type"] != "scalar"]
    scalars = [s for s in plain if s["type"] == "scalar"]
    if not structured:
        out = merge_scalars(scalars or [{"scalar": "str"}])
    else:
        order = ["union", "section", "k8s", "list", "map", "any"]
        structured.sort(key=lambda s: order.index(s["type"]))
        out = dict(structured[0])
        for s in structured[1:]:
            if s["type"] == "any":
                out["or_any"] = True
            elif s["type"] in ("list", "map") and s["type"] != out["type"]:
                out["or_" + s["type"]] = True
        if scalars:
            out["or_scalar"] = True
    if template:
        out["template"] = True
        if out["type"] != "scalar":
            out["or_scalar"] = True
    return out


def probe(model, alias, value):
    """Validate `model` with only `alias` set: (errors caused by it, instance or None).

    Errors raised inside nested validators lose their location, so every error
    counts except the `missing` ones of the model's other required fields.
    """
    try:
        return [], model.model_validate({alias: value})
    except ValidationError as e:
        others = {f.alias or n for n, f in model.model_fields.items() if f.is_required()}
        others.discard(alias)
        return [x for x in e.errors()
                if not (x["type"] == "missing" and x["loc"][:1] and x["loc"][0] in others)], None
    except Exception as e:  # custom validators raising non-pydantic errors
        return [str(e)], None


def accepts(model, alias, name, value):
    """Does `model` accept `value` for this field? (only errors located at the field count)"""
    try:
        model.model_validate({alias: value})
    except ValidationError as e:
        return not any(x["loc"][:1] in ((alias,), (name,)) for x in e.errors())
    except Exception:
        return False
    return True


def refine(model, alias, name, entry):
    """Correct what the annotation says with what the field validators really do.

    They may refuse a "{{ }}" string the annotation allows (e.g. `container`),
    or accept more than it says ("a,b" for a list of str, short-form params).
    """
    t = "{{ x }}"
    if entry.get("template") and not accepts(model, alias, name, t):
        del entry["template"]
        if entry["type"] != "scalar":
            entry.pop("or_scalar", None)

    def item(v):
        return [v] if entry["type"] == "list" else {"x": v}

    if entry.get("item_template") and not accepts(model, alias, name, item(t)):
        del entry["item_template"]
        entry.pop("item_or_scalar", None)
    # A Dict alternative is moot when a validator builds the model from any dict.
    if entry.get("or_map") and not accepts(model, alias, name, {"zz_not_a_key": 1}):
        del entry["or_map"]
    if entry["type"] in ("list", "map", "section") and not entry.get("or_scalar"):
        if accepts(model, alias, name, "x"):
            entry["or_scalar"] = True
    if entry["type"] in ("list", "map") and entry["of"] in classes:
        if not entry.get("item_or_scalar") and accepts(model, alias, name, item(1)):
            entry["item_or_scalar"] = True
        if accepts(model, alias, name, item({"zz_not_a_key": 1})):
            entry["item_short_form"] = True
    return entry


def dispatch_polyaxonfile(model, alias, entry, fixed):
    """Fields typed V1Polyaxonfile really dispatch on `kind` (see get_polyaxonfile_model)."""
    opts = {k: get_polyaxonfile_model(k).__name__ for k in ("component", "operation")}
    for name in opts.values():
        want(getattr(sys.modules[V1Polyaxonfile.__module__], name))
    sample = {} if entry["type"] == "section" else [{}]
    _, inst = probe(model, alias, sample)
    got = getattr(inst, fixed, None) if inst is not None else None
    got = got[0] if isinstance(got, list) and got else got
    default = type(got).__name__ if got is not None else "V1Polyaxonfile"
    if entry["type"] == "section":
        entry = {"type": "union", "on": "kind", "options": opts, "default": default}
    else:
        entry = dict(entry, of="union", on="kind", options=opts, default=default)
    want(V1Polyaxonfile)
    return entry


def probe_union(model, alias, entry):
    """Ask pydantic what a bogus / missing discriminator does in this field."""
    def wrapped(v):
        return [v] if entry["type"] == "list" else {"x": v} if entry["type"] == "map" else v

    errs, _ = probe(model, alias, wrapped({entry["on"]: BOGUS}))
    entry["unknown"] = "error" if errs else "accepted"
    errs, _ = probe(model, alias, wrapped({}))
    entry["missing"] = "error" if errs else "accepted"
    return entry


def model_section(model):
    cfg = model.model_config
    fields, required = {}, []
    for name, f in model.model_fields.items():
        key = f.alias or name
        entry = shape(f.annotation)
        core, _ = strip(f.annotation)
        if V1Polyaxonfile in [strip(a)[0] for a in all_types(core)]:
            entry = dispatch_polyaxonfile(model, key, entry, name)
        entry = refine(model, key, name, entry)
        if key != name:
            entry["snake"] = name
        if entry.get("on"):
            entry = probe_union(model, key, entry)
        if entry["type"] == "union" and entry.get("or_map"):
            entry["untagged_map"] = True  # e.g. `run:` without kind is a patch
        if f.is_required():
            required.append(key)
        fields[key] = entry
    sec = {"extra": cfg.get("extra") or "ignore"}
    if required:
        sec["required"] = required
    if cfg.get("populate_by_name"):
        sec["snake_ok"] = True
    sec["fields"] = fields
    return sec


def all_types(t):
    out = [t]
    for a in typing.get_args(t):
        out += all_types(a)
    return out


K8S_TYPE = re.compile(r"^(list)\[(.*)\]$|^dict[\[(]\w+, (.*)[\])]$")


def k8s_shape(spec):
    """Shape of a kubernetes client `openapi_types` string, e.g. list[V1EnvVar]."""
    m = K8S_TYPE.match(spec)
    if m and m.group(1):
        return wrap("list", k8s_shape(m.group(2)))
    if m:
        return wrap("map", k8s_shape(m.group(3)))
    if spec == "object":
        return {"type": "any"}
    prim = {"str": "str", "int": "int", "float": "float", "bool": "bool",
            "datetime": "datetime", "date": "date"}
    if spec in prim:
        return {"type": "scalar", "scalar": prim[spec]}
    return {"type": "k8s", "of": want(getattr(kubernetes.client, spec))}


def k8s_required(cls):
    """Attributes the kubernetes client refuses to leave None (client-side validation)."""
    kwargs, required = {}, []
    for _ in range(len(cls.attribute_map)):
        try:
            cls(**kwargs)
            break
        except ValueError as e:
            m = re.search(r"Invalid value for `(\w+)`, must not be `None`", str(e))
            if not m or m.group(1) in kwargs:
                break
            kwargs[m.group(1)] = "x"
            required.append(cls.attribute_map[m.group(1)])
    return required


def k8s_section(cls):
    fields = {}
    for attr, key in cls.attribute_map.items():
        entry = k8s_shape(cls.openapi_types[attr])
        if entry["type"] == "k8s" or entry.get("of") in classes:
            # Polyaxon builds a k8s object with cls(**keys) from the top-level
            # dict only; nested dicts are passed through, never checked.
            entry["unchecked"] = True
        if key != attr:
            entry["snake"] = attr
        fields[key] = entry
    sec = {"extra": None, "kubernetes": True}  # extra: set in main()
    required = k8s_required(cls)
    if required:
        sec["required"] = required
    sec["snake_ok"] = True
    sec["fields"] = fields
    return sec


def main():
    top = {kind: spec.CONFIG for kind, spec in sorted(SPECIFICATION_BY_KIND.items())}
    top = {k: v for k, v in top.items() if v in (V1Component, V1Operation)}
    for model in list(top.values()) + [V1Polyaxonfile]:
        want(model)
    while queue:
        t = queue.pop(0)
        if t.__name__ in sections:
            continue
        sections[t.__name__] = k8s_section(t) if is_k8s(t) else model_section(t)
    for name, sec in sections.items():
        if sec["extra"] is None:  # k8s: unknown keys fail only where polyaxon builds it
            sec["extra"] = "forbid" if name in direct_k8s else "allow"
    out = {
        "top": {k: v.__name__ for k, v in top.items()},
        "top_default": get_polyaxonfile_model(None).__name__,
        # Files with a `kind:` are checked against this list before the model,
        # so python (snake_case) names are refused at their top level.
        "top_keys": list(Sections.SECTIONS),
        "sections": sections,
    }
    print("# Generated by tools/polyaxon_schema.py from polyaxon==%s "
          "(python3 tools/polyaxon_schema.py > src/lint/polyaxon-2.18.yaml). "
          "Do not edit by hand." % polyaxon.pkg.VERSION)
    legend = __doc__[__doc__.index("Field entries"):].rstrip()
    print("\n".join(("# " + line).rstrip() for line in legend.splitlines()))
    print('version: "%s"' % polyaxon.pkg.VERSION)
    yaml.safe_dump(out, sys.stdout, sort_keys=False, default_flow_style=None, width=100)


if __name__ == "__main__":
    main()
