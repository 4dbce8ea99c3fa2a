"""Terraform modules as Terraform evaluates them: variables, locals, module calls and expansion.

A `Module` is one directory's configuration; a `ModuleInstance` is that configuration called with
particular inputs at a particular address (`module.storefront`). Values are evaluated lazily and
memoised per instance, so only what a load balancer chain needs is ever computed. Anything that cannot
be followed (a registry module that is not downloaded, a variable without a value, a cycle) becomes an
`Unknown` that says so.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from policies.loaders.reading import ANYWHERE, Reader
from policies.loaders.terraform import types
from policies.loaders.terraform.config import Attribute, Block, ConfigFile, parse_hcl
from policies.loaders.terraform.evaluate import (
    Env,
    Namespace,
    Node,
    evaluate,
    evaluate_template_text,
    line_of,
    parse_template_text,
    subtrees,
)
from policies.loaders.terraform.files import Files
from policies.loaders.terraform.jsontext import JsonTextError, parse_json_text
from policies.loaders.terraform.parsing import Parser, mentions, needed_soon
from policies.loaders.terraform.values import (
    EvalError,
    Obj,
    ResourceRef,
    Text,
    Unknown,
    all_refs,
    known,
    located,
    to_number,
    to_string,
)
from policies.model import InputError, Location, Opaque, ResourceId, shown_path

T = TypeVar("T")

MAX_MODULE_DEPTH = 16
MAX_INSTANCES = 1000  # count/for_each beyond this are checked as their first instances, and said so
_RESERVED = frozenset({"var", "local", "module", "data", "path", "terraform", "count", "each", "self"})
# Module sources or names that suggest load balancers or ECS services inside (for KA002 when hidden).
_LB_OR_ECS = re.compile(r"(?<![a-z])(alb|elb|nlb|lb|ecs|fargate)(?![a-z])|load.?balanc", re.I)


@dataclass
class Module:
    """The configuration of one directory."""

    directory: Path
    files: list[ConfigFile]
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Attribute] = field(default_factory=dict)
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    calls: dict[str, Block] = field(default_factory=dict)
    outputs: dict[str, Block] = field(default_factory=dict)
    errors: list[InputError] = field(default_factory=list)
    # (path, text) of the files the pre-filter left unparsed (policies.loaders.terraform.parsing)
    pending: list[tuple[Path, str]] = field(default_factory=list)

    @staticmethod
    def read(directory: Path, files: list[ConfigFile], pending: list[tuple[Path, str]]) -> Module:
        """The module as Terraform sees it: override files (override.tf, *_override.tf) are merged into
        the blocks they override, after all other files
        (https://developer.hashicorp.com/terraform/language/files/override)."""
        module = Module(directory, files, pending=pending)
        ordinary = [config for config in files if not _is_override(config.path)]
        for config in ordinary + [config for config in files if _is_override(config.path)]:
            overriding = _is_override(config.path)
            for block in config.blocks:
                module._add(block, overriding)
        return module

    def add(self, files: list[ConfigFile]) -> None:
        """Files parsed after the others (pending ones; never override files)."""
        self.files.extend(files)
        for config in files:
            for block in config.blocks:
                self._add(block, False)

    def _add(self, block: Block, overriding: bool) -> None:
        if block.type == "locals":
            self.locals.update(block.attributes)
            return
        tables: dict[str, tuple[dict[Any, Block], tuple[str, ...]]] = {
            "variable": (self.variables, block.labels[:1]),
            "resource": (self.resources, block.labels),
            "data": (self.data, block.labels),
            "module": (self.calls, block.labels[:1]),
            "output": (self.outputs, block.labels[:1]),
        }
        table, key = tables.get(block.type, ({}, ()))
        if not key or (block.type in ("resource", "data") and len(key) != 2):
            return
        name = key if len(key) == 2 else key[0]
        existing = table.get(name)
        if existing is not None and overriding:
            table[name] = _merged(existing, block)
        elif existing is not None:
            kind = " ".join(f'"{label}"' for label in block.labels)
            self.errors.append(
                InputError(
                    block.location.path,
                    f"duplicate {block.type} {kind}: first declared at {existing.location}",
                    block.location.line,
                )
            )
        else:
            table[name] = block

    def local_sources(self) -> Iterator[Path]:
        """Paths of the local modules (`source = "./..."`) this module calls, as written (unresolved)."""
        for block in self.calls.values():
            source = literal_string(block.attributes.get("source"))
            if source is not None and source.startswith(("./", "../")):
                yield self.directory / source


def _is_override(path: str) -> bool:
    name = Path(path).name
    return name == "override.tf" or name.endswith("_override.tf")


def _merged(primary: Block, override: Block) -> Block:
    """Terraform's override merge: attributes replace attributes; nested blocks of a type present in
    the override replace all nested blocks of that type."""
    replaced = {block.type for block in override.blocks}
    blocks = tuple(block for block in primary.blocks if block.type not in replaced) + override.blocks
    return Block(
        primary.type, primary.labels, {**primary.attributes, **override.attributes}, blocks, primary.location
    )


def literal_string(attribute: Attribute | None) -> str | None:
    """The value of an attribute that is a plain string literal, without evaluating anything."""
    value = literal_value(attribute)
    return value if isinstance(value, str) else None


class _NoScope:
    """A scope with nothing in it: for literals such as module sources and variable defaults."""

    def __init__(self, path: str):
        self.path = path
        self.refused: list[str] = []  # the names looked up, in order

    def lookup(self, name: str) -> Any:
        self.refused.append(name)
        raise EvalError(f'"{name}" cannot be used here')

    def function(self, name: str, line: int | None) -> Callable[..., Any] | None:
        return None


@dataclass(frozen=True)
class Input:
    """A value given to a module variable: already known (root) or an expression in the caller."""

    location: Location
    value: Any = None
    node: Node | None = None
    env: Env | None = None


class Loader:
    """State shared by every instance of one scan: parsed files, errors, the opaque modules found.

    `relevant` is the pre-filter (`parsing.prefilter`): files of which it is false are parsed only when
    evaluation looks up a name the module's other files do not declare (`ModuleInstance.declared`)."""

    def __init__(
        self,
        skip: Callable[[Path], bool] = lambda path: False,
        parser: Parser | None = None,
        relevant: Callable[[str], bool] | None = None,
        reader: Reader = ANYWHERE,
    ) -> None:
        self.skip = skip  # files not to read (excluded by the configuration or --exclude)
        self.parser = parser or Parser()
        self.files = Files(reader)  # every read and probe of the file system, recorded
        self.relevant = relevant
        self.texts: dict[Path, list[tuple[Path, str | None, InputError | None, bool]]] = {}
        self.modules: dict[Path, Module] = {}
        self.errors: dict[tuple[str, int | None, str], InputError] = {}
        self.opaque: list[Opaque] = []
        self.read_files: list[str] = []

    def error(self, path: str, message: str, line: int | None = None) -> None:
        self.report(InputError(path, message, line))

    def read(self, directories: Sequence[Path]) -> None:
        """Read the .tf files of `directories` and parse ahead of use, in worker processes when there
        are many, the ones the pre-filter keeps, the pending ones that they seem to refer to, and the
        tfvars files a root reads."""
        texts = []
        for directory in directories:
            files = self._texts(directory.resolve())
            eager = [text for _, text, _, now in files if text is not None and now]
            pending = [text for _, text, _, now in files if text is not None and not now]
            texts += eager + needed_soon(eager, pending)
            for path in automatic_var_files(directory, self.files):
                text, _ = self.files.read(path, shown_path(path))
                texts += [text] if text is not None and path.suffix == ".tfvars" else []
        self.parser.prepare(texts)

    def _texts(self, directory: Path) -> list[tuple[Path, str | None, InputError | None, bool]]:
        """(path, text, why it cannot be read, whether to parse it now) of the directory's .tf files.
        The pre-filter leaves none pending in a module with override files: they merge by name."""
        if directory not in self.texts:
            paths = [path for path in self.files.files(directory, "*.tf") if not self.skip(path)]
            read = [(path, *self.files.read(path, shown_path(path))) for path in paths]
            relevant = self.relevant
            if any(_is_override(str(path)) for path in paths):
                relevant = None
            self.texts[directory] = [
                (path, text, error, text is None or relevant is None or relevant(text))
                for path, text, error in read
            ]
        return self.texts[directory]

    def module(self, directory: Path) -> Module:
        directory = directory.resolve()
        if directory not in self.modules:
            files, pending = [], []
            for path, text, error, now in self._texts(directory):
                shown = shown_path(path)
                self.read_files.append(shown)
                if text is None:
                    config = ConfigFile(shown, error=error)
                elif now:
                    config = self.parser.parse(text, shown)
                else:
                    pending.append((path, text))
                    continue
                if config.error is not None:
                    self.report(config.error)
                files.append(config)
            for path in self.files.glob(directory, "*.tf.json"):
                if self.skip(path):
                    continue
                message = "Terraform JSON configuration (.tf.json) is not analysed by keepalive-guard yet"
                self.report(InputError(shown_path(path), message))
            del self.texts[directory]
            module = Module.read(directory, files, pending)
            for error in module.errors:
                self.report(error)
            self.modules[directory] = module
        return self.modules[directory]

    def complete(self, module: Module, word: str) -> bool:
        """Parse the files of `module` that the pre-filter left pending and that mention `word` (a
        block type): only they can declare a block of that type. Whether there were any."""
        mention = mentions(word)
        needed = [(path, text) for path, text in module.pending if mention(text)]
        if not needed:
            return False
        files = [self.parser.parse(text, shown_path(path)) for path, text in needed]
        module.pending = [item for item in module.pending if item not in needed]
        errors = len(module.errors)
        module.add(files)
        for error in [config.error for config in files if config.error is not None] + module.errors[errors:]:
            self.report(error)
        return True

    def parse_tfvars(self, path: Path, shown: str) -> ConfigFile:
        text, error = self.files.read(path, shown)
        return ConfigFile(shown, error=error) if text is None else self.parser.parse(text, shown)

    def report(self, error: InputError) -> None:
        self.errors.setdefault((error.path, error.line, error.message), error)

    def valid_template(self, template: Text) -> bool:
        """Whether template text parses; an error names the template file when it does not."""
        try:
            parse_template_text(str(template))
        except EvalError as error:
            self.report(InputError(template.start.path, f"template error: {error}", template.start.line))
            return False
        return True


Expansion = tuple[str, dict[str, Any]]  # (address suffix, names bound inside the instance)


def expansions(block: Block, env: Env, what: str) -> tuple[list[Expansion], int]:
    """The instances `count`/`for_each` create (at most MAX_INSTANCES), and how many there are.

    When the count or the collection is unknown the block is checked as one instance whose
    `count.index` / `each` are unknown (with the reason), rather than not at all."""
    if "count" in block.attributes:
        value = evaluate(block.attributes["count"].node, env)
        try:
            count = value if isinstance(value, Unknown) else to_number(value)
        except EvalError as error:
            count = Unknown(f"count of {what} is not a number: {error}")
        if isinstance(count, Unknown) or not isinstance(count, int) or count < 0:
            reason = count.reason if isinstance(count, Unknown) else f"count of {what} is not a whole number"
            unknown_index = Unknown(f"count of {what} is unknown ({reason})")
            return [("", {"count": Obj({"index": unknown_index}.items())})], 1
        indexes = range(min(count, MAX_INSTANCES))
        return [(f"[{index}]", {"count": Obj({"index": index}.items())}) for index in indexes], count
    if "for_each" in block.attributes:
        value = evaluate(block.attributes["for_each"].node, env)
        keys = _for_each_items(value)
        if isinstance(keys, Unknown):
            unknown = Unknown(f"for_each of {what} is unknown ({keys.reason})", keys.refs)
            return [("", {"each": Obj({"key": unknown, "value": unknown}.items())})], 1
        found = [
            (f'["{key}"]', {"each": Obj({"key": key, "value": item}.items())})
            for key, item in keys[:MAX_INSTANCES]
        ]
        return found, len(keys)
    return [("", {})], 1


def _for_each_items(value: Any) -> list[tuple[str, Any]] | Unknown:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, dict):
        return [(key, value[key]) for key in sorted(value)]
    if not isinstance(value, list):
        return Unknown("for_each is not a map or a set")
    items = []
    for item in value:
        text = None if isinstance(item, (Unknown, dict, list, ResourceRef)) else to_string(item)
        if text is None:
            return Unknown("for_each holds keys that are not known strings", all_refs(item))
        items.append((text, text))
    return items


def source_directory(source: str, key: str, caller: Path, root: Path, loader: Loader) -> Path | None:
    """The directory of the module a call with `source` loads, None when it is not there: a local source
    (`./x`, `../x`) relative to the calling module's directory `caller`; any other (registry, git) where
    `terraform init` put it, by the call's dotted `key` (`alb`, `api.service`) in
    `.terraform/modules/modules.json` under the root module directory `root`."""
    if source.startswith(("./", "../")):
        return loader.files.directory(caller / source)
    manifest = root / ".terraform" / "modules" / "modules.json"
    text, _ = (
        loader.files.read(manifest, shown_path(manifest)) if loader.files.is_file(manifest) else (None, None)
    )
    if text is None:
        return None
    try:
        entries = json.loads(text).get("Modules", [])
    except (ValueError, AttributeError, RecursionError):
        loader.error(shown_path(manifest), "not a valid modules.json")
        return None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("Key") == key and isinstance(entry.get("Dir"), str):
            return loader.files.directory(root / entry["Dir"])
    return None


class ModuleInstance:
    """One instance of a module: `address` is "" for a root, else like `module.a["k"].module.b`."""

    def __init__(
        self,
        loader: Loader,
        module: Module,
        address: str,
        inputs: dict[str, Input],
        *,
        root: ModuleInstance | None = None,
        key: str = "",
        depth: int = 0,
        ancestors: tuple[Path, ...] = (),
    ):
        self.loader = loader
        self.module = module
        self.address = address
        self.inputs = inputs
        self.root = root or self
        self.key = key  # the dotted key of this call in .terraform/modules/modules.json
        self.depth = depth
        self.ancestors = (*ancestors, module.directory)
        self.unit = shown_path(self.root.module.directory)
        self._values: dict[tuple[str, str], Any] = {}
        self._busy: dict[tuple[str, str], Location | None] = {}  # being computed, in order
        self._scopes: dict[str, FileScope] = {}
        self._children: dict[str, list[tuple[str, ModuleInstance | None]]] = {}

    # --- naming ---------------------------------------------------------------------------------

    def qualify(self, local_address: str) -> str:
        return f"{self.address}.{local_address}" if self.address else local_address

    def resource_id(self, local_address: str, location: Location) -> ResourceId:
        return ResourceId(self.unit, self.qualify(local_address), location)

    def scope(self, path: str) -> FileScope:
        if path not in self._scopes:
            self._scopes[path] = FileScope(self, path)
        return self._scopes[path]

    def env(self, block: Block, names: dict[str, Any] | None = None) -> Env:
        env = Env(self.scope(block.location.path))
        return env.bind(**names) if names else env

    def declared(self, block_type: str, find: Callable[[Module], T | None]) -> T | None:
        """What `find` finds among the module's resources or data sources of `block_type`; when it
        finds nothing, what it finds once the module's pending files that mention `block_type` are
        parsed too (the pre-filter, policies.loaders.terraform.parsing: variables, locals, outputs and
        module calls are never in pending files)."""
        found = find(self.module)
        if found is None and self.loader.complete(self.module, block_type):
            found = find(self.module)
        return found

    # --- memoised values ------------------------------------------------------------------------

    def _memo(self, kind: str, name: str, compute: Callable[[], Any], where: Location | None = None) -> Any:
        key = (kind, name)
        if key in self._values:
            return self._values[key]
        if key in self._busy:
            return self._cycle(key)
        self._busy[key] = where
        try:
            value = compute()
        finally:
            del self._busy[key]
        self._values[key] = value
        return value

    def _cycle(self, key: tuple[str, str]) -> Unknown:
        """A value that depends on itself: an input error, as Terraform's "Cycle:", said once however
        the cycle was entered (from its first name in sorted order)."""
        busy = list(self._busy)
        cycle = busy[busy.index(key) :]
        start = cycle.index(min(cycle))
        cycle = cycle[start:] + cycle[:start]
        names = " → ".join(
            self.qualify(name if kind == "instances" else f"{kind}.{name}")
            for kind, name in [*cycle, cycle[0]]
        )
        message = f"{names}: the value depends on itself (a cycle)"
        where = self._busy[cycle[0]]
        if where is not None:
            self.loader.error(where.path, message, where.line)
        return Unknown(message)

    def variable(self, name: str) -> Any:
        block = self.module.variables.get(name)
        if block is None:
            raise EvalError(f"var.{name} is not declared")
        return self._memo("var", name, lambda: self._variable(name, block), block.location)

    def _variable(self, name: str, block: Block) -> Any:
        given = self.inputs.get(name)
        value: Any
        if given is not None:
            value = (
                given.value if given.node is None else evaluate(given.node, given.env or Env(_NoScope("")))
            )
            nullable = literal_value(block.attributes.get("nullable"))
            if value is None and nullable is False and "default" in block.attributes:
                value = self._default(name, block.attributes["default"])
        elif "default" in block.attributes:
            value = self._default(name, block.attributes["default"])
        else:
            where = f" of {self.address}" if self.address else ""
            return Unknown(f"var.{name}{where} has no default and no value was given")
        return convert(value, block.attributes.get("type"))

    def _default(self, name: str, default: Attribute) -> Any:
        """A variable's default, which Terraform requires to be a literal value ("Variables not
        allowed"): a reference in it is an input error."""
        scope = _NoScope(default.location.path)
        value = evaluate(default.node, Env(scope))
        if scope.refused:
            message = (
                f'the default of var.{name} refers to "{scope.refused[0]}": a default must be a literal value'
            )
            self.loader.error(default.location.path, message, default.location.line)
        return value

    def local(self, name: str) -> Any:
        attribute = self.module.locals.get(name)
        if attribute is None:
            raise EvalError(f"local.{name} is not declared")
        return self._memo(
            "local",
            name,
            lambda: evaluate(attribute.node, Env(self.scope(attribute.location.path))),
            attribute.location,
        )

    def output(self, name: str) -> Any:
        block = self.module.outputs.get(name)
        if block is None or "value" not in block.attributes:
            raise EvalError(f'{self.address} has no output "{name}"')
        node = block.attributes["value"].node
        return self._memo("output", name, lambda: evaluate(node, self.env(block)), block.location)

    # --- resources and data -----------------------------------------------------------------------

    def instances(self, block: Block) -> list[tuple[str, Env]]:
        """(local address, evaluation environment) of each instance of a resource block."""
        kind = "data." if block.type == "data" else ""
        base = f"{kind}{block.labels[0]}.{block.labels[1]}"
        found: list[tuple[str, Env]] = self._memo(
            "instances", base, lambda: self._instances(block, base), block.location
        )
        return found

    def _instances(self, block: Block, base: str) -> list[tuple[str, Env]]:
        expanded, total = expansions(block, self.env(block), self.qualify(base))
        self._truncated(base, block, total)
        return [(base + suffix, self.env(block, names)) for suffix, names in expanded]

    def _truncated(self, address: str, block: Block, total: int) -> None:
        if total > MAX_INSTANCES:
            reason = f"it has {total} instances, and only the first {MAX_INSTANCES} are checked"
            self.loader.opaque.append(Opaque(self.resource_id(address, block.location), reason, True))

    def resource(self, resource_type: str, name: str) -> ResourceRef | Unknown:
        block = self.declared(resource_type, lambda module: module.resources.get((resource_type, name)))
        if block is None:
            raise EvalError(f"reference to undeclared resource {resource_type}.{name}")
        local_address = f"{resource_type}.{name}"
        if ("instances", local_address) in self._busy:  # its count or for_each refers to it
            return self._cycle(("instances", local_address))
        expanded = tuple(self.qualify(address) for address, _ in self.instances(block))
        if expanded == (self.qualify(local_address),):
            expanded = ()
        return ResourceRef(self.qualify(local_address), expanded)

    def data_source(self, data_type: str, name: str) -> Any:
        block = self.declared(data_type, lambda module: module.data.get((data_type, name)))
        if block is None:
            raise EvalError(f"reference to undeclared data source data.{data_type}.{name}")
        if data_type == "template_file":  # the legacy template provider: rendered = templatefile
            return self._memo(
                "data", f"template_file.{name}", lambda: self._template_file(block), block.location
            )
        return ResourceRef(self.qualify(f"data.{data_type}.{name}"))

    def _template_file(self, block: Block) -> Obj:
        env = self.env(block)
        template = evaluate(block.attributes["template"].node, env) if "template" in block.attributes else ""
        if isinstance(template, Text) and not self.loader.valid_template(template):
            template = Unknown(f"the template {template.start.path} is not valid")
        variables = evaluate(block.attributes["vars"].node, env) if "vars" in block.attributes else Obj()
        rendered = render(template, variables, block.location, self.loader)
        return Obj({"rendered": rendered, "template": template, "vars": variables}.items())

    # --- child modules ----------------------------------------------------------------------------

    def children(self, call: str) -> list[tuple[str, ModuleInstance | None]]:
        """The instances of a module call: (address, instance or None when not available)."""
        if call not in self._children:
            self._children[call] = self._instantiate(call)
        return self._children[call]

    def _instantiate(self, call: str) -> list[tuple[str, ModuleInstance | None]]:
        block = self.module.calls[call]
        base = self.qualify(f"module.{call}")
        source = literal_string(block.attributes.get("source")) or "(not a literal)"
        key = f"{self.key}.{call}" if self.key else call
        directory = self._source_directory(source, key)
        local = source.startswith(("./", "../"))
        if directory is None and local:
            where = block.attributes["source"].location if "source" in block.attributes else block.location
            self.loader.error(where.path, f'module.{call}: source "{source}" is not a directory', where.line)
        result: list[tuple[str, ModuleInstance | None]] = []
        expanded, total = expansions(block, self.env(block), base)
        self._truncated(f"module.{call}", block, total)
        for suffix, names in expanded:
            address = base + suffix
            if directory is None:
                reason = (
                    f'source "{source}" does not exist'
                    if local
                    else f'source "{source}" is not available locally (run terraform init to download it)'
                )
                self._opaque(address, block, reason, source + " " + call)
                result.append((address, None))
                continue
            if directory in self.ancestors or self.depth >= MAX_MODULE_DEPTH:
                self.loader.error(
                    block.location.path, f"module.{call} calls itself recursively", block.location.line
                )
                self._opaque(address, block, "recursive module call", "")
                result.append((address, None))
                continue
            env = self.env(block, names)
            inputs = {
                name: Input(attribute.location, node=attribute.node, env=env)
                for name, attribute in block.attributes.items()
                if name not in ("source", "version", "count", "for_each", "providers", "depends_on")
            }
            child = ModuleInstance(
                self.loader,
                self.loader.module(directory),
                address,
                inputs,
                root=self.root,
                key=key,
                depth=self.depth + 1,
                ancestors=self.ancestors,
            )
            result.append((address, child))
        return result

    def _opaque(self, address: str, block: Block, reason: str, hint: str) -> None:
        self.loader.opaque.append(
            Opaque(ResourceId(self.unit, address, block.location), reason, bool(_LB_OR_ECS.search(hint)))
        )

    def _source_directory(self, source: str, key: str) -> Path | None:
        return source_directory(source, key, self.module.directory, self.root.module.directory, self.loader)

    def module_value(self, call: str) -> Any:
        if call not in self.module.calls:
            raise EvalError(f"reference to undeclared module.{call}")
        instances = self.children(call)

        def outputs(address: str, child: ModuleInstance | None) -> Any:
            if child is None:
                reason = f"{address} is not available locally"
                return Namespace(address, lambda _name: Unknown(reason, frozenset({address})))
            return Namespace(address, child.output)

        if len(instances) == 1 and not instances[0][0].endswith("]"):
            return outputs(*instances[0])
        keyed = Obj()
        for address, child in instances:
            keyed[address[address.rindex("[") + 1 : -1].strip('"')] = outputs(address, child)
        return keyed


class _TemplateScope(_NoScope):
    """What a template sees: only the variables it is given. Names it uses beyond those are noted."""

    def __init__(self, path: str):
        super().__init__(path)
        self.missing: list[str] = []

    def lookup(self, name: str) -> Any:
        self.missing.append(name)
        raise EvalError(f'the template uses "{name}", which is not among the variables it is given')


def render(template: Any, variables: Any, location: Location, loader: Loader | None = None) -> Any:
    """Render template text with `variables`, as `templatefile` and `template_file` do; a variable the
    template uses but is not given is an input error at the template, as it is for Terraform."""
    if isinstance(template, Unknown):
        return template
    if not isinstance(variables, dict):
        if isinstance(variables, Unknown):
            return Unknown(f"template variables are unknown ({variables.reason})", variables.refs)
        return Unknown("template variables are not a map")
    text = str(known(template))
    start = template.start if isinstance(template, Text) else location
    scope = _TemplateScope(start.path)
    value = evaluate_template_text(text, Env(scope).bind(**variables))
    if loader is not None:
        for name in dict.fromkeys(scope.missing):
            loader.error(start.path, f'template uses "{name}", which is not passed to it', start.line)
    if isinstance(value, str):
        return Text(value, start)
    if isinstance(value, Unknown) and value.partial is not None:
        return Unknown(value.reason, value.refs, Text(value.partial, start, value.partial.spans), value.holes)
    return value


def literal_value(attribute: Attribute | None) -> Any:
    """The value of an attribute that needs nothing but literals (a source, a default, `nullable`)."""
    if attribute is None:
        return None
    return evaluate(attribute.node, Env(_NoScope(attribute.location.path)))


def convert(value: Any, type_attribute: Attribute | None) -> Any:
    """A variable's value converted to its declared type, with optional() attributes filled in."""
    if type_attribute is None:
        return value
    path = type_attribute.location.path
    return types.convert(
        value, types.parse_type(type_attribute.node), lambda node: evaluate(node, Env(_NoScope(path)))
    )


class FileScope:
    """What expressions in one file of one module instance can see."""

    def __init__(self, instance: ModuleInstance, path: str):
        self.instance = instance
        self.path = path

    def lookup(self, name: str) -> Any:
        instance = self.instance
        if name == "var":
            return Namespace("var", instance.variable)
        if name == "local":
            return Namespace("local", instance.local)
        if name == "module":
            return Namespace("module", instance.module_value)
        if name == "data":
            return Namespace(
                "data", lambda kind: Namespace(f"data.{kind}", lambda n: instance.data_source(kind, n))
            )
        if name == "path":
            root = instance.root.module.directory
            return Obj(
                {
                    "module": _relative(instance.module.directory, root),
                    "root": ".",
                    "cwd": ".",
                }.items()
            )
        if name == "terraform":
            return Obj({"workspace": "default"}.items())
        if name in ("count", "each"):
            raise EvalError(f"{name} is only available in a resource or module with {name}")
        if name == "self":
            return Unknown("self is known only during provisioning")
        if instance.declared(name, lambda module: any(kind == name for kind, _ in module.resources) or None):
            return Namespace(name, lambda resource_name: instance.resource(name, resource_name))
        raise EvalError(f'unknown name "{name}"')

    def function(self, name: str, line: int | None) -> Callable[..., Any] | None:
        functions: dict[str, Callable[..., Any]] = {
            "file": lambda path: self._file(path, line),
            "templatefile": lambda path, variables: self._templatefile(path, variables, line),
            "fileexists": lambda path: self.instance.loader.files.is_file(self._resolve(path)),
            "abspath": lambda path: str(self._resolve(path)),
            "basename": lambda path: os.path.basename(str(known(path))),
            "dirname": lambda path: os.path.dirname(str(known(path))),
        }
        return functions.get(name)

    def _resolve(self, path: Any) -> Path:
        text = known(path)
        if not isinstance(text, str):
            raise EvalError("file path is not a string")
        return self.instance.root.module.directory / text  # Terraform resolves from the root module

    def _read(self, path: Any, line: int | None, function: str) -> Text | Unknown:
        if isinstance(path, Unknown):
            return Unknown(f"{function}() of an unknown path", path.refs)
        resolved = self._resolve(path)
        shown = shown_path(Path(os.path.normpath(resolved)))  # "a/../../b" shown as the file it names
        files = self.instance.loader.files
        if not files.exists(resolved):
            message = f'{function}("{path}"): no such file {shown}'
            self.instance.loader.error(self.path, message, line)
            return Unknown(message)
        text, error = files.read(resolved, shown)
        if text is None:
            message = f'{function}("{path}"): {shown}: {error.message if error else "unreadable"}'
            self.instance.loader.error(self.path, message, line)
            return Unknown(message)
        self.instance.loader.read_files.append(shown)
        return Text(text, Location(shown, 1))

    def _file(self, path: Any, line: int | None) -> Any:
        return self._read(path, line, "file")

    def _templatefile(self, path: Any, variables: Any, line: int | None) -> Any:
        template = self._read(path, line, "templatefile")
        if isinstance(template, Text) and not self.instance.loader.valid_template(template):
            return Unknown(f"the template {template.start.path} is not valid")
        return render(template, variables, Location(self.path, line), self.instance.loader)


def _relative(directory: Path, root: Path) -> str:
    try:
        return str(directory.relative_to(root)) or "."
    except ValueError:
        return os.path.relpath(directory, root)


Assignment = Path | tuple[str, str]  # a --var-file, or a --var NAME=VALUE


def automatic_var_files(directory: Path, files: Files) -> list[Path]:
    """The variable files `terraform plan` reads by itself in a root module directory, in order."""
    automatic = [directory / "terraform.tfvars", directory / "terraform.tfvars.json"]
    automatic += files.glob(directory, "*.auto.tfvars") + files.glob(directory, "*.auto.tfvars.json")
    return [path for path in automatic if files.is_file(path)]


def root_inputs(module: Module, loader: Loader, assignments: Sequence[Assignment]) -> dict[str, Input]:
    """Values for a root module as `terraform plan` takes them: terraform.tfvars, *.auto.tfvars, then
    --var-file and --var in command-line order, the later winning. A value that does not convert to
    its variable's declared type is an input error, as it is for Terraform."""
    inputs: dict[str, Input] = {}
    directory = module.directory
    for assignment in [*automatic_var_files(directory, loader.files), *assignments]:
        if isinstance(assignment, tuple):
            name, text = assignment
            declared = module.variables.get(name)
            type_attribute = declared.attributes.get("type") if declared else None
            value: Any = text
            if type_attribute is not None and not _is_string_type(type_attribute):
                value = _parse_cli_value(text)
            where = Location(f"--var {name}")
            inputs[name] = Input(where, value=located(value, where))
        elif loader.files.exists(assignment):
            _file_inputs(assignment, inputs, loader)
    for name, given in inputs.items():
        declared = module.variables.get(name)
        if declared is None or given.value is None or isinstance(given.value, Unknown):
            continue
        converted = convert(given.value, declared.attributes.get("type"))
        if isinstance(converted, Unknown):
            where = given.location
            loader.error(where.path, f"invalid value for var.{name}: {converted.reason}", where.line)
    return inputs


def _file_inputs(path: Path, inputs: dict[str, Input], loader: Loader) -> None:
    shown = shown_path(path)
    loader.read_files.append(shown)
    if path.suffix == ".json":
        _json_vars(path, shown, inputs, loader)
        return
    parsed = loader.parse_tfvars(path, shown)
    if parsed.error is not None:
        loader.report(parsed.error)
    for name, attribute in parsed.attributes.items():
        given = evaluate(attribute.node, Env(_NoScope(shown)))
        inputs[name] = Input(attribute.location, value=given)


def _is_string_type(attribute: Attribute) -> bool:
    terms = subtrees(attribute.node)
    return len(terms) == 1 and terms[0].data == "identifier" and str(terms[0].children[0]) == "string"


def _parse_cli_value(text: str) -> Any:
    """A `--var` value for a non-string variable is an HCL expression, as for `terraform -var`."""
    tree, _ = parse_hcl(f"v = {text}\n", "--var")
    if tree is None:
        return text
    attribute = subtrees(subtrees(tree)[0])[0]
    value = evaluate(subtrees(attribute)[-1], Env(_NoScope("--var")))
    return text if isinstance(value, Unknown) else value  # not a literal: the text, for the type check


def _json_vars(path: Path, shown: str, inputs: dict[str, Input], loader: Loader) -> None:
    text, error = loader.files.read(path, shown)
    if text is None:
        if error is not None:
            loader.report(error)
        return
    try:
        values = parse_json_text(text, Location(shown, 1))
    except JsonTextError as problem:
        loader.error(shown, f"invalid JSON: {problem}", problem.line)
        return
    if not isinstance(values, Obj):
        loader.error(shown, "a .tfvars.json file must hold a JSON object")
        return
    for name, value in values.items():
        where = values.where.get(name, Location(shown))
        inputs[name] = Input(where, value=value)


__all__ = [
    "Input",
    "Loader",
    "Module",
    "ModuleInstance",
    "expansions",
    "line_of",
    "root_inputs",
    "shown_path",
]
