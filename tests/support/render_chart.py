#!/usr/bin/env python3
"""Render the RBAC and platform objects of a default Polyaxon Helm install as
`kubectl get -o json` snapshots, without helm and without a YAML library.

Where the templates come from
    Every file is read with `git show TAG:<chart>/...` from a checkout of
    https://github.com/polyaxon/charts given by --charts (a bare or normal git
    directory; no work tree is needed). <chart> is `polyaxon` (the platform)
    or `agent` (the agent-only chart). Nothing is fetched from the network.

What is rendered
    * RBAC: `<chart>/templates/{agent-sa,agent-sa-cluster,operator-sa,
      operator-sa-cluster,runs-sa,runs-sa-cluster,operator-leader-election-sa}
      .yaml`, whichever exist at the tag, rendered in full.
    * Deployments `agent`, `operator`, `api`, `scheduler`, `worker`
      (`templates/<x>-deployment.yaml`, whichever exist) as minimal objects:
      the template is cut down, line by line and by YAML path, to apiVersion,
      kind, metadata.name, metadata.labels, spec.replicas, spec.selector,
      spec.template.metadata.labels, the pod's service-account include /
      serviceAccountName, and the first container's name and image. Every
      `{{ if/else/end/range }}` line is kept, so the file's own guard (e.g.
      `{{- if .Values.scheduler.enabled }}`) decides whether it exists. The cut
      template is then rendered like the RBAC files. status gets replicas /
      readyReplicas / availableReplicas / updatedReplicas equal to
      spec.replicas (a healthy install).
    * ConfigMap `<fullname>-agent-config` (`templates/agent-cm.yaml`), cut the
      same way to its metadata and the data keys listed in CONFIGMAP_KEYS.
    * CustomResourceDefinitions (`templates/crds/*.yaml` and `crds/*.yaml`),
      cut to metadata.name, spec.group, spec.names, spec.scope and the
      versions' name/served/storage.
    Helm's install-time metadata is then applied as `helm install` does
    (pkg/action setMetadataVisitor): label app.kubernetes.io/managed-by=Helm
    (overriding the chart's own "helm") and annotations meta.helm.sh/
    release-name / release-namespace; namespaced objects without
    metadata.namespace get the release namespace, as helm does.

The Go-template subset
    Only what these files and the partials they include use is implemented:
    text and actions with `{{-`/`-}}` trimming and `{{/* */}}` comments;
    `if`/`else`/`else if`/`end`, `range [$v :=] PIPE` / `range $i, $v := PIPE`,
    `define`, `template "name" [ARG]`, variable declaration/assignment,
    pipelines with `|`, parentheses, `.Field.Chains`, `$`, `$var.Field`,
    string/number/bool literals, and the functions include, and, or, not, eq,
    ne, gt, ge, lt, le, len, trim, lower, upper, printf/print (%s %d %v),
    trunc, trimSuffix, trimPrefix, replace, indent, nindent, default, quote,
    toJson. Partials (`templates/**/*.tpl`) are really evaluated through
    `include`, so label includes (config.labels.common, config.labels.roles.*)
    come out as the chart's `_labels.tpl` writes them, `config.singleNamespace`
    is the chart's own definition, and includes that print nothing with the
    default values (annotations, imagePullSecrets) print nothing. Field access
    follows Go/Helm: a missing map key is nil (printed as ""), a field of nil
    or of a string is an error, `and`/`or` short-circuit. Anything outside this
    subset -- another function (toYaml, sha256sum, ...), `with`, a value the
    values reader could not read, a field on a string -- aborts with an error
    naming the template and line. No YAML is ever written from a construct the
    script does not understand.

Values
    `.Values` comes from `<chart>/values.yaml` at the tag, read by a tiny
    block-YAML reader (maps by indentation, scalars, quoted strings, `{}`,
    `[]`, flow lists and block lists of scalars). Anything else it meets
    (block lists of maps, flow maps, block scalars) is kept as an opaque
    marker: testing it for truth works (it is non-empty), anything else fails
    loudly. The only override is agent.additionalNamespaces, set from
    --additional-namespace (refused if the chart at that tag has no such
    value). `.Release` is {Name: --release, Namespace: --namespace, Service:
    Helm, IsInstall: true, Revision: 1}; `.Chart` is Name/Version/AppVersion
    of `<chart>/Chart.yaml`.

YAML to JSON
    The rendered documents are split on `---` lines (empty documents are
    dropped, as helm does) and parsed by a strict parser for the subset they
    use: block maps and lists (lists also at the parent key's indentation,
    `- key: value` items), one-line flow lists of scalars, quoted strings and
    plain scalars (ints, true/false, null, strings). Floats, YAML 1.1 yes/no
    words, block scalars, anchors, tags and inline comments are refused. One
    leniency, matching go-yaml v2 (which helm and kubectl use): a duplicated
    key whose first occurrence is empty (`rules:` twice in a row, as in
    operator-sa-cluster.yaml since v2.12) takes the later value; this is
    reported on stderr and in SOURCE.md.

Output (--out DIR)
    roles.json, rolebindings.json, clusterroles.json, clusterrolebindings.json,
    serviceaccounts.json, deployments.json, configmaps.json, crds.json -- each
    {"apiVersion": "v1", "kind": "<Kind>List", "metadata": {"resourceVersion":
    ""}, "items": [...]}, written even when empty, items sorted by namespace
    and name -- and SOURCE.md (chart, tag, commit, the values the templates
    read, the command). Before writing, every RoleBinding/ClusterRoleBinding
    must point at a Role/ClusterRole and ServiceAccounts in the output, and
    every Deployment's serviceAccountName must exist; a per-snapshot summary is
    printed to stdout.

Usage
    python3 tests/support/render_chart.py --charts /work/.mirror/polyaxon+charts/repo \\
        --tag v2.15.1 --chart polyaxon --release plx --namespace polyaxon \\
        [--additional-namespace team-a ...] --out testdata/charts/polyaxon-2.15.1-single
"""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys

RBAC_TEMPLATES = [
    "agent-sa.yaml",
    "agent-sa-cluster.yaml",
    "operator-sa.yaml",
    "operator-sa-cluster.yaml",
    "runs-sa.yaml",
    "runs-sa-cluster.yaml",
    "operator-leader-election-sa.yaml",
]
DEPLOYMENTS = ["agent", "operator", "api", "scheduler", "worker"]
CONFIGMAP_TEMPLATE = "agent-cm.yaml"
# Data keys of the agent ConfigMap kept in the snapshot (when the template
# sets them): where runs go and as whom, and the operator feature switches.
CONFIGMAP_KEYS = [
    "POLYAXON_K8S_IN_CLUSTER",
    "POLYAXON_WATCH_CLUSTER",
    "POLYAXON_SINGLE_NAMESPACE",
    "POLYAXON_ADDITIONAL_NAMESPACES",
    "POLYAXON_SET_AGENT",
    "POLYAXON_AGENT_INSTANCE",
    "POLYAXON_AGENT_RUNS_SA",
    "POLYAXON_AGENT_SECRET_NAME",
    "POLYAXON_LEADER_ELECTION",
]

OUTPUT_FILES = [
    # file, item kind, namespaced
    ("roles.json", "Role", True),
    ("rolebindings.json", "RoleBinding", True),
    ("clusterroles.json", "ClusterRole", False),
    ("clusterrolebindings.json", "ClusterRoleBinding", False),
    ("serviceaccounts.json", "ServiceAccount", True),
    ("deployments.json", "Deployment", True),
    ("configmaps.json", "ConfigMap", True),
    ("crds.json", "CustomResourceDefinition", False),
]
KIND_FILE = {kind: (name, namespaced) for name, kind, namespaced in OUTPUT_FILES}


class RenderError(Exception):
    pass


def fail(msg):
    raise RenderError(msg)


# --------------------------------------------------------------------------
# git access
# --------------------------------------------------------------------------


class ChartSource:
    def __init__(self, repo, tag, chart):
        self.repo, self.tag, self.chart = repo, tag, chart
        self.commit = self._git("rev-parse", "--verify", "--quiet", tag + "^{commit}").strip()
        if not self.commit:
            fail("tag %s not found in %s" % (tag, repo))
        listing = self._git("ls-tree", "-r", "--name-only", self.commit, "--", chart + "/")
        self.files = sorted(line for line in listing.splitlines() if line)
        if not self.files:
            fail("chart directory %s/ does not exist at %s" % (chart, tag))

    def _git(self, *args):
        proc = subprocess.run(["git", "-C", self.repo] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if proc.returncode != 0 and args[0] != "rev-parse":
            fail("git %s failed: %s" % (" ".join(args), proc.stderr.decode().strip()))
        return proc.stdout.decode("utf-8")

    def exists(self, rel):
        return "%s/%s" % (self.chart, rel) in self.files

    def read(self, rel):
        if not self.exists(rel):
            fail("%s/%s does not exist at %s" % (self.chart, rel, self.tag))
        return self._git("show", "%s:%s/%s" % (self.commit, self.chart, rel))

    def list(self, prefix, suffix):
        start = "%s/%s" % (self.chart, prefix)
        return [f[len(self.chart) + 1:] for f in self.files
                if f.startswith(start) and f.endswith(suffix)]


# --------------------------------------------------------------------------
# values.yaml reader (lenient: unknown constructs become Opaque)
# --------------------------------------------------------------------------


class Opaque:
    """A value the values reader did not parse. Known to be non-empty."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return "<unparsed %s>" % self.what


def strip_comment(line):
    """Drop a `#` comment that starts a line or follows whitespace, outside quotes."""
    quote = None
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if quote == '"' and c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'" and (i == 0 or line[i - 1] in " \t[{,:-"):
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
        i += 1
    return line.rstrip()


class Line:
    __slots__ = ("no", "indent", "text")

    def __init__(self, no, indent, text):
        self.no, self.indent, self.text = no, indent, text


def split_lines(text, where, comments):
    out = []
    for no, raw in enumerate(text.split("\n"), 1):
        line = strip_comment(raw) if comments else raw.rstrip()
        if not line.strip():
            continue
        body = line.lstrip(" ")
        if body.startswith("\t") or "\t" in line[: len(line) - len(body)]:
            fail("%s:%d: tab in indentation" % (where, no))
        if not comments and body.startswith("#"):
            continue
        out.append(Line(no, len(line) - len(body), body))
    return out


def split_key(text):
    """`key: rest` -> (key, rest) with key unquoted; None if not a map entry."""
    if text.startswith('"') or text.startswith("'"):
        q = text[0]
        end = 1
        while end < len(text):
            if q == '"' and text[end] == "\\":
                end += 2
                continue
            if text[end] == q:
                break
            end += 1
        if end >= len(text):
            return None
        after = text[end + 1:]
        if not (after.startswith(":") and (len(after) == 1 or after[1] == " ")):
            return None
        return decode_quoted(text[: end + 1]), after[1:].strip()
    m = re.match(r"^([^\s\"'{}\[\],#&*!|>%@`][^:]*?)\s*:(?:\s+(.*))?$", text)
    if not m:
        return None
    if ": " in m.group(1):
        return None
    return m.group(1), (m.group(2) or "").strip()


def decode_quoted(s):
    if s[0] == "'":
        if not s.endswith("'") or len(s) < 2:
            fail("unterminated single-quoted string %r" % s)
        inner = s[1:-1]
        if re.search(r"(?<!')'(?!')", inner.replace("''", "")):
            fail("bad single-quoted string %r" % s)
        return inner.replace("''", "'")
    if not s.endswith('"') or len(s) < 2:
        fail("unterminated double-quoted string %r" % s)
    out = []
    i = 1
    inner_end = len(s) - 1
    while i < inner_end:
        c = s[i]
        if c == "\\":
            if i + 1 >= inner_end:
                fail("bad escape in %r" % s)
            e = s[i + 1]
            simple = {'"': '"', "\\": "\\", "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0"}
            if e in simple:
                out.append(simple[e])
                i += 2
            elif e in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[e]
                digits = s[i + 2: i + 2 + width]
                if len(digits) != width or not re.match(r"^[0-9a-fA-F]+$", digits):
                    fail("bad escape in %r" % s)
                out.append(chr(int(digits, 16)))
                i += 2 + width
            else:
                fail("unsupported escape \\%s in %r" % (e, s))
        elif c == '"':
            fail("unescaped quote inside %r" % s)
        else:
            out.append(c)
            i += 1
    return "".join(out)


def split_flow(inner, where):
    """Split the inside of a one-line flow list on commas outside quotes."""
    parts, cur, quote, i = [], [], None, 0
    while i < len(inner):
        c = inner[i]
        if quote:
            cur.append(c)
            if quote == '"' and c == "\\":
                cur.append(inner[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
            cur.append(c)
        elif c == ",":
            parts.append("".join(cur).strip())
            cur = []
        elif c in "[]{}":
            fail("%s: nested flow collection not supported: [%s]" % (where, inner))
        else:
            cur.append(c)
        i += 1
    if quote:
        fail("%s: unterminated quote in [%s]" % (where, inner))
    last = "".join(cur).strip()
    if parts or last:
        parts.append(last)
    if any(p == "" for p in parts):
        fail("%s: empty element in flow list [%s]" % (where, inner))
    return parts


YAML11_WORDS = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                "on", "On", "ON", "off", "Off", "OFF"}
FLOATISH = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$")


def plain_scalar(s, where, strict):
    """Resolve a plain scalar like go-yaml v2 would, refusing ambiguous ones."""
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if s in ("null", "Null", "NULL", "~"):
        return None
    if re.match(r"^[-+]?(0|[1-9][0-9]*)$", s):
        return int(s)
    ambiguous = (s in YAML11_WORDS or FLOATISH.match(s) or re.match(r"^[-+]?0[0-9xXoObB]", s)
                 or re.match(r"^\d{4}-\d\d?-\d\d?", s))
    special = s[0] in "-?:,[]{}#&*!|>'\"%@`" or ": " in s or " #" in s or s.endswith(":")
    if ambiguous or special or (strict and ":" in s):
        if strict:
            fail("%s: plain scalar %r is outside the supported YAML subset" % (where, s))
        return Opaque("scalar %r" % s)
    return s


def values_scalar(text, where):
    if text == "{}":
        return {}
    if text == "[]":
        return []
    if text.startswith("{"):
        return Opaque("flow map at %s" % where)
    if text.startswith("["):
        if not text.endswith("]"):
            return Opaque("flow list at %s" % where)
        try:
            return [values_scalar(p, where) for p in split_flow(text[1:-1], where)]
        except RenderError:
            return Opaque("flow list at %s" % where)
    if text[0] in "|>":
        return Opaque("block scalar at %s" % where)
    if text[0] in "\"'":
        return decode_quoted(text)
    return plain_scalar(text, where, strict=False)


def is_item(text):
    return text == "-" or text.startswith("- ")


def read_values(text, where):
    lines = split_lines(text, where, comments=True)
    if not lines:
        return {}
    if lines[0].indent != 0:
        fail("%s:%d: unexpected indentation" % (where, lines[0].no))
    value, i = _values_node(lines, 0, 0, where)
    if i != len(lines):
        fail("%s:%d: could not read this line" % (where, lines[i].no))
    if not isinstance(value, dict):
        fail("%s: top level is not a map" % where)
    return value


def _values_node(lines, i, indent, where):
    if is_item(lines[i].text):
        return _values_seq(lines, i, indent, where)
    return _values_map(lines, i, indent, where)


def _skip_deeper(lines, i, indent):
    while i < len(lines) and lines[i].indent > indent:
        i += 1
    return i


def _values_map(lines, i, indent, where):
    out = {}
    while i < len(lines) and lines[i].indent == indent and not is_item(lines[i].text):
        line = lines[i]
        kv = split_key(line.text)
        loc = "%s:%d" % (where, line.no)
        if kv is None:
            fail("%s: expected `key: value`, got %r" % (loc, line.text))
        key, rest = kv
        if key in out:
            fail("%s: duplicate key %r" % (loc, key))
        if rest == "":
            if i + 1 < len(lines) and lines[i + 1].indent > indent:
                value, i = _values_node(lines, i + 1, lines[i + 1].indent, where)
            elif i + 1 < len(lines) and lines[i + 1].indent == indent and is_item(lines[i + 1].text):
                value, i = _values_seq(lines, i + 1, indent, where)
            else:
                value, i = None, i + 1
        else:
            value = values_scalar(rest, loc)
            j = _skip_deeper(lines, i + 1, indent)
            if j != i + 1:
                value = Opaque("multi-line value at %s" % loc)
            i = j
        out[key] = value
    if i < len(lines) and lines[i].indent > indent:
        fail("%s:%d: unexpected indentation" % (where, lines[i].no))
    return out, i


def _values_seq(lines, i, indent, where):
    items, opaque_at = [], None
    while i < len(lines) and lines[i].indent == indent and is_item(lines[i].text):
        rest = lines[i].text[1:].strip()
        j = _skip_deeper(lines, i + 1, indent)
        if j != i + 1 or rest == "" or split_key(rest) is not None or is_item(rest):
            opaque_at = opaque_at or "%s:%d" % (where, lines[i].no)
        else:
            items.append(values_scalar(rest, "%s:%d" % (where, lines[i].no)))
        i = j
    if opaque_at:
        return Opaque("block list of collections at %s" % opaque_at), i
    return items, i


# --------------------------------------------------------------------------
# strict YAML subset parser for rendered documents
# --------------------------------------------------------------------------


class DocParser:
    def __init__(self, text, where, notes):
        self.where = where
        self.notes = notes
        self.lines = split_lines(text, where, comments=False)
        for line in self.lines:
            if re.search(r"(^|\s)#", strip_quoted(line.text)):
                fail("%s:%d: comments inside documents are not supported" % (where, line.no))

    def parse(self):
        if not self.lines:
            return None
        if self.lines[0].indent != 0:
            fail("%s:%d: unexpected indentation" % (self.where, self.lines[0].no))
        value, i = self.node(0, 0)
        if i != len(self.lines):
            fail("%s:%d: unexpected line %r" % (self.where, self.lines[i].no, self.lines[i].text))
        return value

    def loc(self, i):
        return "%s:%d" % (self.where, self.lines[i].no)

    def node(self, i, indent):
        if is_item(self.lines[i].text):
            return self.seq(i, indent)
        return self.mapping(i, indent)

    def scalar(self, text, loc):
        if text == "{}":
            return {}
        if text == "[]":
            return []
        if text.startswith("["):
            if not text.endswith("]"):
                fail("%s: multi-line flow list not supported" % loc)
            return [self.scalar(p, loc) for p in split_flow(text[1:-1], loc)]
        if text[0] in "{|>&*!":
            fail("%s: %r is outside the supported YAML subset" % (loc, text))
        if text[0] in "\"'":
            return decode_quoted(text)
        return plain_scalar(text, loc, strict=True)

    def mapping(self, i, indent):
        out = {}
        lines = self.lines
        while i < len(lines) and lines[i].indent == indent and not is_item(lines[i].text):
            kv = split_key(lines[i].text)
            loc = self.loc(i)
            if kv is None:
                fail("%s: expected `key: value`, got %r" % (loc, lines[i].text))
            key, rest = kv
            if rest == "":
                if i + 1 < len(lines) and lines[i + 1].indent > indent:
                    value, i = self.node(i + 1, lines[i + 1].indent)
                elif i + 1 < len(lines) and lines[i + 1].indent == indent and is_item(lines[i + 1].text):
                    value, i = self.seq(i + 1, indent)
                else:
                    value, i = None, i + 1
            else:
                value = self.scalar(rest, loc)
                i += 1
                if i < len(lines) and lines[i].indent > indent:
                    fail("%s: multi-line scalar not supported" % self.loc(i))
            if key in out:
                if out[key] is not None:
                    fail("%s: duplicate key %r" % (loc, key))
                self.notes.append("%s: key %r appears twice, the first time empty; the later value "
                                  "is kept, as go-yaml v2 (helm, kubectl) does" % (loc, key))
            out[key] = value
        if i < len(lines) and lines[i].indent > indent:
            fail("%s: unexpected indentation" % self.loc(i))
        return out, i

    def seq(self, i, indent):
        out = []
        lines = self.lines
        while i < len(lines) and lines[i].indent == indent and is_item(lines[i].text):
            line = lines[i]
            rest = line.text[1:]
            stripped = rest.lstrip(" ")
            loc = self.loc(i)
            if stripped == "":
                if i + 1 < len(lines) and lines[i + 1].indent > indent:
                    value, i = self.node(i + 1, lines[i + 1].indent)
                else:
                    value, i = None, i + 1
            elif is_item(stripped):
                fail("%s: nested `- -` lists not supported" % loc)
            elif split_key(stripped) is not None:
                # `- key: value`: the item is a map at the column of `key`.
                col = indent + 1 + (len(rest) - len(stripped))
                lines[i] = Line(line.no, col, stripped)
                value, i = self.mapping(i, col)
            else:
                value = self.scalar(stripped, loc)
                i += 1
                if i < len(lines) and lines[i].indent > indent:
                    fail("%s: multi-line scalar not supported" % self.loc(i))
            out.append(value)
        return out, i


def strip_quoted(text):
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', '""', text)


# --------------------------------------------------------------------------
# Go template lexer / parser
# --------------------------------------------------------------------------

WS = " \t\r\n"


class Text:
    def __init__(self, s):
        self.s = s


class Action:
    def __init__(self, inner, tl, tr, where):
        self.inner, self.tl, self.tr, self.where = inner, tl, tr, where


class Comment:
    def __init__(self, tl, tr):
        self.tl, self.tr = tl, tr


def lex(text, name):
    tokens = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            tokens.append(Text(text[pos:]))
            break
        tokens.append(Text(text[pos:start]))
        where = "%s:%d" % (name, text.count("\n", 0, start) + 1)
        j = start + 2
        tl = False
        if text[j] == "-" and j + 1 < len(text) and text[j + 1] in WS:
            tl = True
            j += 1
        k = j
        while k < len(text) and text[k] in WS:
            k += 1
        if text.startswith("/*", k):
            end = text.find("*/", k + 2)
            if end < 0:
                fail("%s: unterminated comment" % where)
            rest = end + 2
            tr = False
            m = re.compile(r"[ \t\r\n]+-}}").match(text, rest)
            if m:
                tr, close = True, m.end()
            elif text.startswith("}}", rest):
                close = rest + 2
            else:
                fail("%s: comment must end with */}}" % where)
            tokens.append(Comment(tl, tr))
            pos = close
            continue
        # find the closing }} outside string literals
        q = None
        m = j
        while True:
            if m >= len(text):
                fail("%s: unterminated action" % where)
            c = text[m]
            if q:
                if q == '"' and c == "\\":
                    m += 2
                    continue
                if c == q:
                    q = None
            elif c in "\"`'":
                q = c
            elif text.startswith("}}", m):
                break
            m += 1
        inner_end = m
        tr = False
        if inner_end >= 2 and text[inner_end - 1] == "-" and text[inner_end - 2] in WS:
            tr = True
            inner_end -= 1
        inner = text[j:inner_end].strip(WS)
        tokens.append(Action(inner, tl, tr, where))
        pos = m + 2
    # apply trim markers
    for idx, tok in enumerate(tokens):
        if isinstance(tok, (Action, Comment)):
            if tok.tl and idx > 0 and isinstance(tokens[idx - 1], Text):
                tokens[idx - 1].s = tokens[idx - 1].s.rstrip(WS)
            if tok.tr and idx + 1 < len(tokens) and isinstance(tokens[idx + 1], Text):
                tokens[idx + 1].s = tokens[idx + 1].s.lstrip(WS)
    return [t for t in tokens if not isinstance(t, Comment)]


class Node:
    pass


class TextNode(Node):
    def __init__(self, s):
        self.s = s


class OutputNode(Node):
    def __init__(self, action):
        self.action = action


class IfNode(Node):
    def __init__(self, action, cond):
        self.action, self.cond = action, cond
        self.body, self.else_body = [], None


class RangeNode(Node):
    def __init__(self, action, spec):
        self.action, self.spec = action, spec
        self.body, self.else_body = [], None


class TemplateNode(Node):
    def __init__(self, action, spec):
        self.action, self.spec = action, spec


class DefineNode(Node):
    def __init__(self, action, name):
        self.action, self.name = action, name
        self.body = []


class UnsupportedBlock(Node):
    def __init__(self, action, keyword):
        self.action, self.keyword = action, keyword
        self.body, self.else_body = [], None


def nodes_text(nodes):
    """All text and action source of a node tree (to look for words in a define)."""
    out = []
    for n in nodes:
        if isinstance(n, TextNode):
            out.append(n.s)
        else:
            out.append(getattr(n, "action", None).inner if getattr(n, "action", None) else "")
            for attr in ("body", "else_body"):
                out.append(nodes_text(getattr(n, attr, None) or []))
    return "\n".join(out)


def keyword_of(inner):
    m = re.match(r"^(if|else|end|range|define|template|with|block|break|continue)\b\s*(.*)$", inner, re.S)
    if m:
        return m.group(1), m.group(2).strip()
    return None, inner


def parse_template(text, name):
    tokens = lex(text, name)
    root = []
    stack = []  # (node, current list)
    current = root
    for tok in tokens:
        if isinstance(tok, Text):
            if tok.s:
                current.append(TextNode(tok.s))
            continue
        kw, rest = keyword_of(tok.inner)
        if kw is None:
            current.append(OutputNode(tok))
        elif kw in ("if", "range", "with", "block", "define"):
            if kw == "if":
                node = IfNode(tok, rest)
            elif kw == "range":
                node = RangeNode(tok, rest)
            elif kw == "define":
                m = re.match(r'^"([^"]+)"$', rest)
                if not m:
                    fail("%s: bad define %r" % (tok.where, tok.inner))
                node = DefineNode(tok, m.group(1))
            else:
                node = UnsupportedBlock(tok, kw)
            current.append(node)
            stack.append((node, current))
            current = node.body
        elif kw == "else":
            if not stack or not isinstance(stack[-1][0], (IfNode, RangeNode, UnsupportedBlock)):
                fail("%s: else outside if/range" % tok.where)
            node = stack[-1][0]
            if node.else_body is not None:
                fail("%s: second else" % tok.where)
            node.else_body = []
            if rest.startswith("if ") or rest.startswith("if\t"):
                # `else if X` == else { if X ... } sharing the same end
                inner_if = IfNode(tok, rest[3:].strip())
                node.else_body.append(inner_if)
                inner_if.chained = True
                stack.append((inner_if, node.else_body))
                current = inner_if.body
            elif rest:
                fail("%s: unsupported else form %r" % (tok.where, tok.inner))
            else:
                current = node.else_body
        elif kw == "end":
            if not stack:
                fail("%s: end without block" % tok.where)
            node, parent = stack.pop()
            while getattr(node, "chained", False):
                node, parent = stack.pop()
            current = parent
        elif kw == "template":
            current.append(TemplateNode(tok, rest))
        else:
            current.append(UnsupportedBlock(tok, kw))
    if stack:
        fail("%s: unclosed %r" % (name, stack[-1][0].action.inner))
    return root


# ---- expressions ---------------------------------------------------------

TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<pipe>\|)
  | (?P<comma>,)
  | (?P<num>-?\d+)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<dot>\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.X)


def tokenize_expr(s, where):
    out = []
    pos = 0
    while pos < len(s):
        m = TOKEN_RE.match(s, pos)
        if not m:
            fail("%s: cannot parse %r at %r" % (where, s, s[pos:]))
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class Expr:
    def __init__(self, kind, value=None, args=None):
        self.kind, self.value, self.args = kind, value, args


def parse_pipeline(tokens, pos, where, stop=None):
    """pipeline := command ('|' command)*; returns (list of commands, pos)."""
    cmds = []
    cmd = []
    while pos < len(tokens):
        kind, val = tokens[pos]
        if kind == stop:
            break
        if kind == "pipe":
            if not cmd:
                fail("%s: empty command in pipeline" % where)
            cmds.append(cmd)
            cmd = []
            pos += 1
            continue
        if kind == "lp":
            sub, pos = parse_pipeline(tokens, pos + 1, where, stop="rp")
            if pos >= len(tokens) or tokens[pos][0] != "rp":
                fail("%s: missing )" % where)
            pos += 1
            if pos < len(tokens) and tokens[pos][0] == "field":
                fail("%s: field access on a parenthesized value is not supported" % where)
            cmd.append(Expr("pipe", sub))
            continue
        if kind == "str":
            cmd.append(Expr("lit", decode_go_string(val, where)))
        elif kind == "raw":
            cmd.append(Expr("lit", val[1:-1]))
        elif kind == "num":
            cmd.append(Expr("lit", int(val)))
        elif kind == "ident":
            if val in ("true", "false"):
                cmd.append(Expr("lit", val == "true"))
            elif val == "nil":
                cmd.append(Expr("lit", None))
            else:
                cmd.append(Expr("func", val))
        elif kind == "field":
            cmd.append(Expr("field", val[1:].split(".")))
        elif kind == "dot":
            cmd.append(Expr("dot"))
        elif kind == "var":
            parts = val.split(".")
            cmd.append(Expr("var", parts[0], parts[1:]))
        else:
            fail("%s: unexpected %r" % (where, val))
        pos += 1
    if not cmd:
        fail("%s: empty pipeline" % where)
    cmds.append(cmd)
    return cmds, pos


def decode_go_string(lit, where):
    try:
        return decode_quoted(lit)
    except RenderError as err:
        fail("%s: %s" % (where, err))


class Compiled:
    """A parsed action: optional variable declaration plus a pipeline."""

    def __init__(self, inner, where, allow_range_decl=False):
        tokens = tokenize_expr(inner, where)
        self.decl = []  # variable names
        self.mode = None  # ":=" or "="
        for n in (1, 2):
            if allow_range_decl or n == 1:
                sig = []
                for k in range(n):
                    sig.append("var")
                    if k < n - 1:
                        sig.append("comma")
                if len(tokens) > len(sig) and [t[0] for t in tokens[: len(sig)]] == sig \
                        and tokens[len(sig)][0] in ("decl", "assign"):
                    self.decl = [tokens[k][1] for k in range(0, len(sig), 2)]
                    self.mode = tokens[len(sig)][1]
                    tokens = tokens[len(sig) + 1:]
                    break
        for name in self.decl:
            if "." in name:
                fail("%s: bad variable %r" % (where, name))
        self.cmds, pos = parse_pipeline(tokens, 0, where)
        if pos != len(tokens):
            fail("%s: unexpected %r" % (where, tokens[pos][1]))


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------


class Struct:
    """A Go struct (Release, Chart): a missing field is an error."""

    def __init__(self, name, fields):
        self.name, self.fields = name, fields


class Scope:
    def __init__(self, root):
        self.frames = [{"$": root}]

    def push(self):
        self.frames.append({})

    def pop(self):
        self.frames.pop()

    def get(self, name, where):
        for frame in reversed(self.frames):
            if name in frame:
                return frame[name]
        fail("%s: undefined variable %s" % (where, name))

    def declare(self, name, value):
        self.frames[-1][name] = value

    def assign(self, name, value, where):
        for frame in reversed(self.frames):
            if name in frame:
                frame[name] = value
                return
        fail("%s: assignment to undeclared variable %s" % (where, name))


def truth(v):
    if v is None:
        return False
    if isinstance(v, Opaque):
        return True
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, (str, list, dict)):
        return len(v) > 0
    if isinstance(v, Struct):
        return True
    fail("cannot test %r for truth" % (v,))


def go_type(v):
    if v is None:
        return "<nil>"
    return {bool: "bool", int: "int", str: "string", list: "[]interface {}",
            dict: "map[string]interface {}", float: "float64"}.get(type(v), type(v).__name__)


def go_print(v, where):
    if v is None:
        return ""  # helm renders <no value> as ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    fail("%s: printing a %s (%r) is not supported" % (where, go_type(v), v))


def go_quote(s, where):
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif 32 <= ord(c) < 127:
            out.append(c)
        else:
            fail("%s: quoting %r is not supported" % (where, s))
    out.append('"')
    return "".join(out)


def to_json(v, where):
    if isinstance(v, Opaque):
        fail("%s: toJson of a value the values reader did not parse (%s)" % (where, v.what))
    if isinstance(v, dict):
        return "{" + ",".join(to_json(k, where) + ":" + to_json(v[k], where) for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ",".join(to_json(x, where) for x in v) + "]"
    if isinstance(v, float):
        fail("%s: toJson of a float is not supported" % where)
    s = json.dumps(v, ensure_ascii=False)
    # Go's encoding/json escapes HTML characters
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def go_printf(fmt, args, where):
    out, ai, i = [], 0, 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        verb = fmt[i + 1: i + 2]
        if verb == "%":
            out.append("%")
        elif verb in ("s", "v", "d"):
            if ai >= len(args):
                fail("%s: printf: missing argument" % where)
            a = args[ai]
            ai += 1
            if verb == "d" and not (isinstance(a, int) and not isinstance(a, bool)):
                fail("%s: printf %%d of %s" % (where, go_type(a)))
            out.append(go_print(a, where) if a is not None else "<nil>")
        else:
            fail("%s: printf verb %%%s not supported" % (where, verb))
        i += 2
    if ai != len(args):
        fail("%s: printf: extra arguments" % where)
    return "".join(out)


def compare_args(a, b, where, fn):
    for x in (a, b):
        if x is not None and not isinstance(x, (bool, int, str)):
            fail("%s: %s on %s is not supported" % (where, fn, go_type(x)))
    if type(a) is not type(b):
        fail("%s: %s: incompatible types for comparison (%s, %s)" % (where, fn, go_type(a), go_type(b)))


class Renderer:
    def __init__(self, defines, root, values_log):
        self.defines = defines
        self.root = root
        self.values_log = values_log  # path -> value, for SOURCE.md
        self.depth = 0

    # -- public --
    def render(self, nodes, dot):
        scope = Scope(dot)
        out = []
        self.exec_list(nodes, dot, scope, out)
        return "".join(out)

    # -- nodes --
    def exec_list(self, nodes, dot, scope, out):
        for node in nodes:
            self.exec_node(node, dot, scope, out)

    @staticmethod
    def compile(action, range_decl=False, text=None):
        # cached on the action itself (an id()-keyed cache could be fooled by reuse)
        cache = action.__dict__.setdefault("compiled", {})
        if text not in cache:
            cache[text] = Compiled(text if text is not None else action.inner,
                                   action.where, allow_range_decl=range_decl)
        return cache[text]

    def exec_node(self, node, dot, scope, out):
        if isinstance(node, TextNode):
            out.append(node.s)
        elif isinstance(node, OutputNode):
            c = self.compile(node.action)
            value = self.eval_pipeline(c.cmds, dot, scope, node.action.where)
            if c.decl:
                if c.mode == ":=":
                    scope.declare(c.decl[0], value)
                else:
                    scope.assign(c.decl[0], value, node.action.where)
            else:
                out.append(go_print(value, node.action.where))
        elif isinstance(node, IfNode):
            c = self.compile(node.action, text=node.cond)
            if c.decl:
                fail("%s: declarations in if are not supported" % node.action.where)
            cond = self.eval_pipeline(c.cmds, dot, scope, node.action.where)
            scope.push()
            try:
                if truth(cond):
                    self.exec_list(node.body, dot, scope, out)
                elif node.else_body is not None:
                    self.exec_list(node.else_body, dot, scope, out)
            finally:
                scope.pop()
        elif isinstance(node, RangeNode):
            c = self.compile(node.action, range_decl=True, text=node.spec)
            if c.decl and c.mode != ":=":
                fail("%s: range needs :=" % node.action.where)
            seq = self.eval_pipeline(c.cmds, dot, scope, node.action.where)
            if isinstance(seq, Opaque):
                fail("%s: range over a value the values reader did not parse (%s)"
                     % (node.action.where, seq.what))
            if seq is None:
                items = []
            elif isinstance(seq, list):
                items = list(enumerate(seq))
            elif isinstance(seq, dict):
                items = [(k, seq[k]) for k in sorted(seq)]
            elif isinstance(seq, int) and not isinstance(seq, bool):
                items = [(k, k) for k in range(seq)]
            else:
                fail("%s: range can't iterate over %s" % (node.action.where, go_type(seq)))
            if not items and node.else_body is not None:
                scope.push()
                self.exec_list(node.else_body, dot, scope, out)
                scope.pop()
            for k, v in items:
                scope.push()
                if len(c.decl) == 1:
                    scope.declare(c.decl[0], v)
                elif len(c.decl) == 2:
                    scope.declare(c.decl[0], k)
                    scope.declare(c.decl[1], v)
                self.exec_list(node.body, v, scope, out)
                scope.pop()
        elif isinstance(node, TemplateNode):
            m = re.match(r'^"([^"]+)"\s*(.*)$', node.spec, re.S)
            if not m:
                fail("%s: bad template action %r" % (node.action.where, node.action.inner))
            arg = None
            if m.group(2):
                c = self.compile(node.action, text=m.group(2))
                if c.decl:
                    fail("%s: declaration in template action" % node.action.where)
                arg = self.eval_pipeline(c.cmds, dot, scope, node.action.where)
            out.append(self.call_define(m.group(1), arg, node.action.where))
        elif isinstance(node, DefineNode):
            pass  # collected separately
        elif isinstance(node, UnsupportedBlock):
            fail("%s: `%s` is not supported by this renderer" % (node.action.where, node.keyword))
        else:
            fail("unknown node %r" % node)

    def call_define(self, name, arg, where):
        if name not in self.defines:
            fail("%s: template %r is not defined" % (where, name))
        self.depth += 1
        if self.depth > 50:
            fail("%s: template recursion too deep" % where)
        try:
            return self.render(self.defines[name], arg)
        except RenderError as err:
            fail("%s: in template %r: %s" % (where, name, err))
        finally:
            self.depth -= 1

    # -- expressions --
    def eval_pipeline(self, cmds, dot, scope, where):
        value = _NOTHING
        for cmd in cmds:
            value = self.eval_command(cmd, dot, scope, where, value)
        return value

    def eval_command(self, cmd, dot, scope, where, piped):
        head = cmd[0]
        if head.kind == "func":
            return self.call(head.value, cmd[1:], dot, scope, where, piped)
        if len(cmd) != 1:
            fail("%s: can't give arguments to a non-function" % where)
        if piped is not _NOTHING:
            fail("%s: can't pipe into a non-function" % where)
        return self.eval_arg(head, dot, scope, where)

    def eval_arg(self, e, dot, scope, where):
        if e.kind == "lit":
            return e.value
        if e.kind == "dot":
            return dot
        if e.kind == "field":
            return self.fields(dot, e.value, where, ".")
        if e.kind == "var":
            base = scope.get(e.value, where)
            return self.fields(base, e.args, where, e.value)
        if e.kind == "pipe":
            return self.eval_pipeline(e.value, dot, scope, where)
        if e.kind == "func":
            return self.call(e.value, [], dot, scope, where, _NOTHING)
        fail("%s: bad operand" % where)

    def fields(self, value, names, where, base):
        from_root = value is self.root
        path = base
        for name in names:
            shown = path + ("" if path.endswith(".") else ".") + name
            if isinstance(value, Struct):
                if name not in value.fields:
                    fail("%s: can't evaluate field %s in type %s" % (where, name, value.name))
                value = value.fields[name]
            elif isinstance(value, dict):
                value = value.get(name)
            elif value is None:
                fail("%s: nil pointer evaluating interface {}.%s (%s)" % (where, name, shown))
            elif isinstance(value, Opaque):
                fail("%s: %s is a value the values reader did not parse (%s)" % (where, path, value.what))
            else:
                fail("%s: can't evaluate field %s in type %s (%s)" % (where, name, go_type(value), shown))
            path = shown
        if from_root and len(names) > 1 and names[0] == "Values":
            self.values_log.setdefault(".".join(names[1:]), value)
        return value

    def call(self, fn, arg_exprs, dot, scope, where, piped):
        def args():
            vals = [self.eval_arg(a, dot, scope, where) for a in arg_exprs]
            if piped is not _NOTHING:
                vals.append(piped)
            return vals

        def need(n, vals):
            if len(vals) != n:
                fail("%s: %s wants %d arguments, got %d" % (where, fn, n, len(vals)))

        if fn in ("and", "or"):
            items = list(arg_exprs) + ([_Piped(piped)] if piped is not _NOTHING else [])
            if not items:
                fail("%s: %s needs arguments" % (where, fn))
            value = None
            for item in items:
                value = item.value if isinstance(item, _Piped) else self.eval_arg(item, dot, scope, where)
                if (fn == "and") != truth(value):
                    return value
            return value
        if fn == "include":
            vals = args()
            need(2, vals)
            if not isinstance(vals[0], str):
                fail("%s: include needs a template name" % where)
            return self.call_define(vals[0], vals[1], where)
        vals = args()
        if fn == "not":
            need(1, vals)
            return not truth(vals[0])
        if fn in ("eq", "ne"):
            if len(vals) < 2:
                fail("%s: %s needs 2 arguments" % (where, fn))
            if fn == "ne":
                need(2, vals)
            for other in vals[1:]:
                compare_args(vals[0], other, where, fn)
            hit = any(vals[0] == o for o in vals[1:])
            return hit if fn == "eq" else not hit
        if fn in ("gt", "ge", "lt", "le"):
            need(2, vals)
            a, b = vals
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b)):
                fail("%s: %s supports integers only (%s, %s)" % (where, fn, go_type(a), go_type(b)))
            return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[fn]
        if fn == "len":
            need(1, vals)
            v = vals[0]
            if isinstance(v, (str, list, dict)):
                return len(v)
            fail("%s: len of %s" % (where, go_type(v)))
        if fn in ("trim", "lower", "upper"):
            need(1, vals)
            s = self.as_str(vals[0], fn, where)
            return {"trim": s.strip(" \t\r\n\v\f"), "lower": s.lower(), "upper": s.upper()}[fn]
        if fn == "printf":
            if not vals or not isinstance(vals[0], str):
                fail("%s: printf needs a format" % where)
            return go_printf(vals[0], vals[1:], where)
        if fn == "print":
            return "".join(go_print(v, where) for v in vals)
        if fn == "trunc":
            need(2, vals)
            n, s = vals
            if not isinstance(n, int) or n < 0:
                fail("%s: trunc supports non-negative lengths only" % where)
            s = self.as_str(s, fn, where)
            return s[:n]
        if fn in ("trimSuffix", "trimPrefix"):
            need(2, vals)
            a, s = self.as_str(vals[0], fn, where), self.as_str(vals[1], fn, where)
            if fn == "trimSuffix":
                return s[: -len(a)] if a and s.endswith(a) else s
            return s[len(a):] if a and s.startswith(a) else s
        if fn == "replace":
            need(3, vals)
            old, new, s = (self.as_str(v, fn, where) for v in vals)
            return s.replace(old, new)
        if fn in ("indent", "nindent"):
            need(2, vals)
            n, s = vals
            if not isinstance(n, int) or isinstance(n, bool):
                fail("%s: %s needs a number" % (where, fn))
            s = self.as_str(s, fn, where)
            pad = " " * n
            text = pad + s.replace("\n", "\n" + pad)
            return "\n" + text if fn == "nindent" else text
        if fn == "default":
            need(2, vals)
            return vals[1] if truth(vals[1]) else vals[0]
        if fn == "quote":
            return " ".join(go_quote(go_print(v, where), where) for v in vals if v is not None)
        if fn == "toJson":
            need(1, vals)
            return to_json(vals[0], where)
        fail("%s: function %r is not supported by this renderer" % (where, fn))

    @staticmethod
    def as_str(v, fn, where):
        if isinstance(v, str):
            return v
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        fail("%s: %s of %s is not supported" % (where, fn, go_type(v)))


class _Piped:
    def __init__(self, value):
        self.value = value


_NOTHING = object()


# --------------------------------------------------------------------------
# cutting a template down to chosen YAML paths (deployments, configmap, CRDs)
# --------------------------------------------------------------------------

CONTROL_LINE = re.compile(r"^\s*\{\{-?\s+(?:(?:if|else|end|range)\b|\$[A-Za-z0-9_]+\s*:?=).*?\}\}\s*$|"
                          r"^\s*\{\{-?\s*end\s*-?\}\}\s*$")
INDENTED_ACTION = re.compile(r"^\{\{-?\s+(.*?)\s*-?\}\}$")


def line_paths(text, where):
    """Yield (line, kind, path) for each template line.

    kind: 'blank', 'control', 'literal', 'action'. path is the YAML path the
    line contributes to (keys and list indices); for action lines the path
    ends with '<include:NAME>' or '<action>'.
    """
    stack = []  # entries: (indent, key) ; key may be int for list items
    counters = {}
    for no, line in enumerate(text.split("\n"), 1):
        stripped = line.strip()
        if not stripped:
            yield line, "blank", None
            continue
        if CONTROL_LINE.match(line) and line.count("{{") == 1:
            yield line, "control", None
            continue
        body = line.lstrip(" ")
        indent = len(line) - len(body)
        if body.startswith("{{"):
            m = INDENTED_ACTION.match(body)
            if not m or line.count("{{") != 1:
                fail("%s:%d: cannot place line %r" % (where, no, line))
            inner = m.group(1)
            im = re.search(r"\|\s*n?indent\s+(\d+)\s*$", inner)
            eff = int(im.group(1)) if im else indent
            name = re.match(r'^(?:include|template)\s+"([^"]+)"', inner)
            parent = [k for (d, k) in stack if d < eff]
            yield line, "action", tuple(parent) + (("<include:%s>" % name.group(1)) if name else "<action>",)
            continue
        if body.startswith("#"):
            yield line, "blank", None
            continue
        if is_item(body):
            while stack and (stack[-1][0] > indent or (stack[-1][0] == indent and isinstance(stack[-1][1], int))):
                stack.pop()
            parent = tuple(k for _, k in stack)
            idx = counters.get(parent, -1) + 1
            counters[parent] = idx
            stack.append((indent, idx))
            rest = body[1:]
            item = rest.lstrip(" ")
            kv = split_key(item) if item else None
            if kv is not None:
                col = indent + 1 + len(rest) - len(item)
                stack.append((col, kv[0]))
                # forget counters of the new item's children
                yield line, "literal", tuple(k for _, k in stack)
            else:
                yield line, "literal", tuple(k for _, k in stack)
            continue
        kv = split_key(body)
        if kv is None:
            # continuation of a multi-line scalar etc.; belongs to the parent
            yield line, "literal", tuple(k for d, k in stack if d < indent) + ("<text>",)
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, kv[0]))
        parent = tuple(k for _, k in stack)
        for key in [c for c in counters if c[: len(parent)] == parent]:
            del counters[key]
        yield line, "literal", parent


def cut_template(text, where, keep):
    """Keep control lines and the lines whose path `keep(kind, path)` accepts."""
    out = []
    kept_any = False
    for line, kind, path in line_paths(text, where):
        if kind == "control":
            out.append(line)
        elif kind == "blank":
            continue
        elif keep(kind, path):
            out.append(line)
            kept_any = True
    if not kept_any:
        fail("%s: nothing left after cutting the template" % where)
    return "\n".join(out) + "\n"


def prefix_in(path, allowed):
    for a in allowed:
        if a[-1] == "*":
            if path[: len(a) - 1] == a[:-1]:
                return True
        elif path == a:
            return True
    return False


DEPLOYMENT_KEEP = [
    ("apiVersion",), ("kind",), ("metadata",), ("metadata", "name"),
    ("metadata", "labels", "*"), ("spec",), ("spec", "replicas"), ("spec", "selector", "*"),
    ("spec", "template"), ("spec", "template", "metadata"),
    ("spec", "template", "metadata", "labels", "*"), ("spec", "template", "spec"),
    ("spec", "template", "spec", "serviceAccountName"),
    ("spec", "template", "spec", "containers"), ("spec", "template", "spec", "containers", 0),
    ("spec", "template", "spec", "containers", 0, "name"),
    ("spec", "template", "spec", "containers", 0, "image"),
]


def deployment_keep(defines_text, where):
    def keep(kind, path):
        if kind == "action" and path[:3] == ("spec", "template", "spec") and len(path) == 4:
            name = path[3]
            if name.startswith("<include:") and name.endswith('.sa>'):
                return True
            inc = name[len("<include:"):-1] if name.startswith("<include:") else None
            if inc is None or "serviceAccount" in defines_text.get(inc, "serviceAccount"):
                fail("%s: pod-spec line %s might set the service account; not understood" % (where, name))
            return False
        if kind == "action" and path[-1] == "<action>" and prefix_in(path[:-1] + ("x",), [
                ("metadata", "labels", "*"), ("spec", "template", "metadata", "labels", "*")]):
            fail("%s: non-include action inside labels: %r" % (where, path))
        return prefix_in(path, DEPLOYMENT_KEEP)
    return keep


def configmap_keep(kind, path):
    allowed = [("apiVersion",), ("kind",), ("metadata",), ("metadata", "name"),
               ("metadata", "labels", "*"), ("data",)]
    allowed += [("data", k) for k in CONFIGMAP_KEYS]
    return prefix_in(path, allowed)


def crd_keep(kind, path):
    allowed = [("apiVersion",), ("kind",), ("metadata",), ("metadata", "name"),
               ("spec",), ("spec", "group"), ("spec", "names", "*"), ("spec", "scope"),
               ("spec", "versions")]
    if len(path) >= 3 and path[:2] == ("spec", "versions") and isinstance(path[2], int):
        return len(path) == 3 or (len(path) == 4 and path[3] in ("name", "served", "storage"))
    return prefix_in(path, allowed)


# --------------------------------------------------------------------------
# chart rendering
# --------------------------------------------------------------------------


def split_documents(text):
    docs, cur = [], []
    for line in text.split("\n"):
        if re.match(r"^---\s*$", line):
            docs.append("\n".join(cur))
            cur = []
        elif line.startswith("---"):
            fail("document separator with trailing content: %r" % line)
        else:
            cur.append(line)
    docs.append("\n".join(cur))
    return [d for d in docs if d.strip()]


class Chart:
    def __init__(self, args):
        self.args = args
        self.src = ChartSource(args.charts, args.tag, args.chart)
        self.notes = []
        self.values_log = {}
        chart_yaml = self.src.read("Chart.yaml")
        meta = {}
        for line in chart_yaml.split("\n"):
            m = re.match(r"^(name|version|appVersion):\s*(.*?)\s*$", line)
            if m:
                v = m.group(2)
                if v[:1] in "\"'":
                    v = decode_quoted(v)
                meta[m.group(1)] = v
        for k in ("name", "version"):
            if k not in meta:
                fail("Chart.yaml at %s has no %s" % (args.tag, k))
        self.chart_meta = meta
        self.values = read_values(self.src.read("values.yaml"), "%s/values.yaml@%s" % (args.chart, args.tag))
        self.overrides = {}
        if args.additional_namespace:
            agent = self.values.get("agent")
            if not isinstance(agent, dict) or "additionalNamespaces" not in agent:
                fail("%s chart at %s has no agent.additionalNamespaces value; it does not support "
                     "additional namespaces" % (args.chart, args.tag))
            agent["additionalNamespaces"] = list(args.additional_namespace)
            self.overrides["agent.additionalNamespaces"] = list(args.additional_namespace)
        self.root = {
            "Values": self.values,
            "Release": Struct("Release", {"Name": args.release, "Namespace": args.namespace,
                                          "Service": "Helm", "IsInstall": True,
                                          "IsUpgrade": False, "Revision": 1}),
            "Chart": Struct("Chart", {"Name": meta["name"], "Version": meta["version"],
                                      "AppVersion": meta.get("appVersion", "")}),
        }
        self.root_struct = Struct("root", self.root)
        self.defines, self.define_text = self.collect_defines()
        self.renderer = Renderer(self.defines, self.root_struct, self.values_log)

    def collect_defines(self):
        defines, texts = {}, {}
        for rel in self.src.list("templates/", ".tpl"):
            text = self.src.read(rel)
            nodes = parse_template(text, "%s/%s@%s" % (self.args.chart, rel, self.args.tag))
            for node in nodes:
                if isinstance(node, DefineNode):
                    if node.name in defines:
                        fail("%s: template %r defined twice" % (rel, node.name))
                    defines[node.name] = node.body
                    texts[node.name] = nodes_text(node.body)
                elif isinstance(node, TextNode) and node.s.strip():
                    fail("%s: text outside define in a partial" % rel)
        return defines, texts

    def where(self, rel):
        return "%s/%s@%s" % (self.args.chart, rel, self.args.tag)

    def render_text(self, text, where):
        nodes = parse_template(text, where)
        for node in nodes:
            if isinstance(node, DefineNode):
                fail("%s: define inside a manifest is not supported" % where)
        try:
            return self.renderer.render(nodes, self.root_struct)
        except RenderError as err:
            fail("%s: %s" % (where, err))

    def documents(self, rendered, where):
        objs = []
        for n, doc in enumerate(split_documents(rendered), 1):
            obj = DocParser(doc, "%s (rendered document %d)" % (where, n), self.notes).parse()
            if obj is None:
                continue
            if not isinstance(obj, dict) or "kind" not in obj or "apiVersion" not in obj:
                fail("%s: rendered document %d is not a Kubernetes object" % (where, n))
            objs.append(obj)
        return objs

    def render_rbac(self):
        objs, rendered_files = [], []
        for name in RBAC_TEMPLATES:
            rel = "templates/" + name
            if not self.src.exists(rel):
                continue
            where = self.where(rel)
            found = self.documents(self.render_text(self.src.read(rel), where), where)
            rendered_files.append((rel, [o["kind"] + "/" + o["metadata"]["name"] for o in found]))
            objs += found
        return objs, rendered_files

    def render_cut(self, rel, keep):
        where = self.where(rel) + " (cut)"
        text = cut_template(self.src.read(rel), where, keep)
        return self.documents(self.render_text(text, where), where)

    def render_deployments(self):
        objs, report = [], []
        for d in DEPLOYMENTS:
            rel = "templates/%s-deployment.yaml" % d
            if not self.src.exists(rel):
                continue
            found = self.render_cut(rel, deployment_keep(self.define_text, self.where(rel)))
            if not found:
                guard = self.src.read(rel).split("\n", 1)[0].strip()
                report.append((rel, "not created with these values (%s)" % guard))
                continue
            for obj in found:
                if obj.get("kind") != "Deployment":
                    fail("%s rendered a %s" % (rel, obj.get("kind")))
                replicas = obj.get("spec", {}).get("replicas")
                if not isinstance(replicas, int) or isinstance(replicas, bool):
                    fail("%s: spec.replicas is not a number: %r" % (rel, replicas))
                obj["status"] = {"replicas": replicas, "readyReplicas": replicas,
                                 "availableReplicas": replicas, "updatedReplicas": replicas}
                report.append((rel, "Deployment/%s" % obj["metadata"]["name"]))
            objs += found
        return objs, report

    def render_configmap(self):
        rel = "templates/" + CONFIGMAP_TEMPLATE
        if not self.src.exists(rel):
            return [], [(rel, "absent at this tag")]
        found = self.render_cut(rel, configmap_keep)
        for obj in found:
            for k, v in (obj.get("data") or {}).items():
                if not isinstance(v, str):
                    fail("%s: data.%s rendered as %r, not a string" % (rel, k, v))
        if not found:
            return [], [(rel, "not created with these values")]
        return found, [(rel, "ConfigMap/%s (data keys kept: %s)" % (
            o["metadata"]["name"], ", ".join(sorted(o.get("data") or {})))) for o in found]

    def render_crds(self):
        objs, report = [], []
        rels = sorted(self.src.list("templates/crds/", ".yaml") + self.src.list("crds/", ".yaml"))
        for rel in rels:
            text = self.src.read(rel)
            actions = text.count("{{")
            if rel.startswith("templates/") and actions != 2:
                fail("%s: expected only a guard and its end, found %d actions" % (rel, actions))
            if rel.startswith("crds/") and actions:
                fail("%s: templates in crds/ are not rendered by helm; not supported" % rel)
            found = self.render_cut(rel, crd_keep)
            for obj in found:
                if obj.get("kind") != "CustomResourceDefinition":
                    fail("%s rendered a %s" % (rel, obj.get("kind")))
                report.append((rel, "CRD/%s" % obj["metadata"]["name"]))
            if not found:
                report.append((rel, "not created with these values (%s)" % text.split("\n", 1)[0].strip()))
            objs += found
        return objs, report


def apply_install_metadata(obj, release, namespace):
    kind = obj["kind"]
    if kind not in KIND_FILE:
        fail("unexpected kind %s (%s)" % (kind, obj.get("metadata", {}).get("name")))
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        fail("%s without metadata.name" % kind)
    namespaced = KIND_FILE[kind][1]
    if namespaced:
        if not meta.get("namespace"):
            # helm installs namespaced objects without a namespace into the release's
            new = {}
            for k, v in meta.items():
                new[k] = v
                if k == "name":
                    new["namespace"] = namespace
            meta.clear()
            meta.update(new)
    elif "namespace" in meta:
        fail("cluster-scoped %s/%s has a namespace" % (kind, meta["name"]))
    labels = meta.get("labels") or {}
    labels["app.kubernetes.io/managed-by"] = "Helm"
    meta["labels"] = dict(sorted(labels.items()))
    annotations = meta.get("annotations") or {}
    annotations["meta.helm.sh/release-name"] = release
    annotations["meta.helm.sh/release-namespace"] = namespace
    meta["annotations"] = dict(sorted(annotations.items()))
    for key in ("labels", "annotations"):
        for k, v in meta[key].items():
            if not isinstance(v, str):
                fail("%s/%s: metadata.%s.%s is %r, not a string" % (kind, meta["name"], key, k, v))
    # maps that kubectl prints with sorted keys
    if kind == "Deployment":
        tmeta = obj["spec"]["template"]["metadata"]
        tmeta["labels"] = dict(sorted((tmeta.get("labels") or {}).items()))
        sel = obj["spec"].get("selector", {}).get("matchLabels")
        if sel is not None:
            obj["spec"]["selector"]["matchLabels"] = dict(sorted(sel.items()))
    if kind == "ConfigMap" and obj.get("data") is not None:
        obj["data"] = dict(sorted(obj["data"].items()))


def check(objs):
    """Bindings point at roles and service accounts present in the output."""
    problems = []
    idx = {}
    for o in objs:
        m = o["metadata"]
        key = (o["kind"], m.get("namespace", ""), m["name"])
        if key in idx:
            problems.append("duplicate %s %s/%s" % key)
        idx[key] = o
    for o in objs:
        m = o["metadata"]
        if o["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            ref = o.get("roleRef") or {}
            rk = ref.get("kind")
            ns = m.get("namespace", "") if rk == "Role" else ""
            if rk not in ("Role", "ClusterRole") or (rk, ns, ref.get("name")) not in idx:
                problems.append("%s %s: roleRef %s/%s not in the output" % (o["kind"], m["name"], rk, ref.get("name")))
            for s in o.get("subjects") or []:
                if s.get("kind") == "ServiceAccount":
                    sns = s.get("namespace") or m.get("namespace", "")
                    if ("ServiceAccount", sns, s.get("name")) not in idx:
                        problems.append("%s %s: subject ServiceAccount %s/%s not in the output"
                                        % (o["kind"], m["name"], sns, s.get("name")))
        if o["kind"] == "Deployment":
            sa = o["spec"]["template"]["spec"].get("serviceAccountName")
            if sa and ("ServiceAccount", m["namespace"], sa) not in idx:
                problems.append("Deployment %s: serviceAccountName %s not in the output" % (m["name"], sa))
    if problems:
        fail("sanity check failed:\n  " + "\n  ".join(problems))


def rule_line(rule):
    if "nonResourceURLs" in rule:
        return "nonResourceURLs=%s verbs=%s" % (",".join(rule["nonResourceURLs"]), ",".join(rule.get("verbs", [])))
    groups = ",".join('""' if g == "" else g for g in rule.get("apiGroups", []))
    return "%s/%s: %s" % (groups, ",".join(rule.get("resources", [])), ",".join(rule.get("verbs", [])))


def summary(objs, label):
    lines = ["== %s" % label]
    for o in objs:
        m = o["metadata"]
        name = ("%s/%s" % (m["namespace"], m["name"])) if "namespace" in m else m["name"]
        if o["kind"] in ("Role", "ClusterRole"):
            lines.append("  %s %s: %d rules" % (o["kind"], name, len(o.get("rules") or [])))
            for r in o.get("rules") or []:
                lines.append("      " + rule_line(r))
        elif o["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            subj = ", ".join("%s/%s" % (s.get("namespace", ""), s.get("name")) for s in o.get("subjects") or [])
            lines.append("  %s %s -> %s %s [%s]" % (o["kind"], name, o["roleRef"]["kind"], o["roleRef"]["name"], subj))
        elif o["kind"] == "ServiceAccount":
            lines.append("  ServiceAccount %s" % name)
        elif o["kind"] == "Deployment":
            lines.append("  Deployment %s: component=%s sa=%s image=%s" % (
                name, o["metadata"]["labels"].get("app.kubernetes.io/component"),
                o["spec"]["template"]["spec"].get("serviceAccountName"),
                o["spec"]["template"]["spec"]["containers"][0].get("image")))
        elif o["kind"] == "ConfigMap":
            d = o.get("data") or {}
            lines.append("  ConfigMap %s: RUNS_SA=%s ADDITIONAL_NAMESPACES=%s" % (
                name, d.get("POLYAXON_AGENT_RUNS_SA"), d.get("POLYAXON_ADDITIONAL_NAMESPACES")))
        elif o["kind"] == "CustomResourceDefinition":
            lines.append("  CRD %s (group %s, plural %s)" % (name, o["spec"]["group"], o["spec"]["names"]["plural"]))
    return "\n".join(lines)


def fmt_value(v):
    if isinstance(v, Opaque):
        return "(not read: %s)" % v.what
    return json.dumps(v, default=repr)


def write_outputs(chart, objs, reports, command):
    args = chart.args
    os.makedirs(args.out, exist_ok=True)
    by_kind = {k: [] for _, k, _ in OUTPUT_FILES}
    for o in objs:
        by_kind[o["kind"]].append(o)
    for fname, kind, _ in OUTPUT_FILES:
        items = sorted(by_kind[kind], key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        doc = {"apiVersion": "v1", "kind": kind + "List", "metadata": {"resourceVersion": ""}, "items": items}
        with open(os.path.join(args.out, fname), "w") as f:
            f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    src = chart.src
    md = []
    md.append("# %s chart %s, release `%s` in namespace `%s`" % (args.chart, args.tag, args.release, args.namespace))
    md.append("")
    md.append("Rendered by `tests/support/render_chart.py` from the Polyaxon Helm charts "
              "repository (github.com/polyaxon/charts), not by helm.")
    md.append("")
    md.append("- chart: `%s/` (Chart.yaml name `%s`, version `%s`, appVersion `%s`)" % (
        args.chart, chart.chart_meta["name"], chart.chart_meta["version"], chart.chart_meta.get("appVersion", "")))
    md.append("- tag: `%s`" % args.tag)
    md.append("- commit: `%s`" % src.commit)
    md.append("- release: `%s`, namespace: `%s`" % (args.release, args.namespace))
    if args.additional_namespace:
        md.append("- additional namespaces: %s" % ", ".join("`%s`" % n for n in args.additional_namespace))
    else:
        md.append("- additional namespaces: none (single-namespace install)")
    md.append("")
    md.append("## Command")
    md.append("")
    md.append("```sh")
    md.append(command)
    md.append("```")
    md.append("")
    md.append("## Values")
    md.append("")
    md.append("The chart's own `%s/values.yaml` at `%s`, overridden only by the flags. "
              "The values the rendered templates read:" % (args.chart, args.tag))
    md.append("")
    for path in sorted(chart.values_log):
        flag = " (from --additional-namespace)" if path in chart.overrides else ""
        md.append("- `%s` = `%s`%s" % (path, fmt_value(chart.values_log[path]), flag))
    md.append("")
    md.append("## Templates")
    md.append("")
    for rel, what in reports:
        if isinstance(what, list):
            what = ", ".join(what) if what else "nothing (its condition is false with these values)"
        md.append("- `%s`: %s" % (rel, what))
    md.append("")
    md.append("RBAC templates are rendered in full. Deployments, the agent ConfigMap and CRDs are cut "
              "to the fields pxdoctor needs (see the script's docstring) and then rendered; "
              "Deployment status is set to a healthy `replicas == readyReplicas`.")
    md.append("Helm's install metadata is applied to every object (label "
              "`app.kubernetes.io/managed-by: Helm`, annotations `meta.helm.sh/release-name` and "
              "`meta.helm.sh/release-namespace`), and namespaced objects the chart leaves without "
              "a namespace get the release namespace, as `helm install` does.")
    if chart.notes:
        md.append("")
        md.append("## Notes")
        md.append("")
        for n in chart.notes:
            md.append("- " + n)
    with open(os.path.join(args.out, "SOURCE.md"), "w") as f:
        f.write("\n".join(md) + "\n")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--charts", required=True, help="git directory of github.com/polyaxon/charts")
    p.add_argument("--tag", required=True, help="chart tag, e.g. v2.15.1")
    p.add_argument("--chart", required=True, choices=["polyaxon", "agent"])
    p.add_argument("--release", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--additional-namespace", action="append", default=[],
                   help="sets agent.additionalNamespaces (repeatable)")
    p.add_argument("--out", required=True, help="output directory")
    args = p.parse_args(argv)
    command = "python3 tests/support/render_chart.py " + " ".join(shlex.quote(a) for a in argv)
    try:
        chart = Chart(args)
        rbac, rbac_files = chart.render_rbac()
        deps, dep_report = chart.render_deployments()
        cms, cm_report = chart.render_configmap()
        crds, crd_report = chart.render_crds()
        objs = rbac + deps + cms + crds
        for o in objs:
            apply_install_metadata(o, args.release, args.namespace)
        check(objs)
        for n in chart.notes:
            print("note: " + n, file=sys.stderr)
        write_outputs(chart, objs, rbac_files + dep_report + cm_report + crd_report, command)
        order = {k: i for i, (_, k, _) in enumerate(OUTPUT_FILES)}
        objs.sort(key=lambda o: (order[o["kind"]], o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        print(summary(objs, "%s (%s %s)" % (args.out, args.chart, args.tag)))
    except RenderError as err:
        print("render_chart.py: error: %s" % err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
