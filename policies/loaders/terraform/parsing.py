"""Parsing the `.tf` and `.tfvars` files of a scan: the textual pre-filter, the parse cache and parsing
in worker processes.

The pre-filter: a `.tf` file in which none of the words below occurs cannot declare anything a load
balancer chain is read from: no variable, local, output or module call, and no resource or data source
of a type the loader reads (`resources.READERS`, `resources.DATA_READERS`). Such a file (S3 buckets, IAM
roles, VPCs) is not parsed up front: its module lists it as pending, and evaluation parses it only if
it looks up a name that the parsed files do not declare, such as an `aws_s3_bucket` that a container's
environment refers to. Every finding, and every value a finding shows, is therefore the same with or
without the pre-filter. What differs: syntax errors and duplicate declarations in a file that nothing
needed are not reported (`terraform validate` reports them; `--no-prefilter` parses every file). Files
in a module with override files (`override.tf`, `*_override.tf`) are all parsed, because overrides
merge into blocks by name.

Parsing goes through `policies.cache` when one is given, keyed by the hash of the text, and equal texts
are parsed once per scan. The files a scan finds are parsed before evaluation starts; when there are
enough of them (`_PARALLEL_BYTES`), in `jobs` worker processes, which send back the cache entries
(`config.entry`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from policies.cache import Cache, digest
from policies.loaders.terraform.config import ConfigFile, config_file, entry
from policies.model import InputError

DECLARATIONS = ("variable", "locals", "output", "module")
# Below this many bytes of files to parse, starting worker processes costs more than it saves.
_PARALLEL_BYTES = 512 * 1024


def prefilter(types: Iterable[str]) -> Callable[[str], bool]:
    """Whether a file's text may declare something a chain is read from (see the module docstring)."""
    words = sorted({*DECLARATIONS, *types})
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")
    return lambda text: pattern.search(text) is not None


@functools.cache
def mentions(word: str) -> Callable[[str], bool]:
    """Whether a text holds `word` as a word: a file can declare a block of a type only if it does."""
    pattern = re.compile(r"\b" + re.escape(word) + r"\b")
    return lambda text: pattern.search(text) is not None


_REFERENCE = re.compile(r"\b(?:data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.[A-Za-z_]")


_DECLARATION = re.compile(r'^\s*(?:resource|data)\s+"?([\w-]+)', re.MULTILINE)


_EVALUATED = re.compile(r"^\s*(?:resource|data|module|locals)\b", re.MULTILINE)


def needed_soon(eager: Sequence[str], pending: Sequence[str]) -> list[str]:
    """The pending texts that seem to declare a type that resources, module calls or locals of the
    eager ones refer to (`aws_iam_role.task.arn`; outputs of a root are not evaluated): those to parse
    ahead with the others. Only a guess for scheduling: lookups decide what is parsed."""
    referred = {
        match.group(1) for text in eager if _EVALUATED.search(text) for match in _REFERENCE.finditer(text)
    }
    return [text for text in pending if not referred.isdisjoint(_DECLARATION.findall(text))]


class Parser:
    """Parses texts into `ConfigFile`s: from this scan's memo, the cache, worker processes, or here."""

    def __init__(self, cache: Cache | None = None, jobs: int = 1) -> None:
        self.cache = cache
        self.jobs = jobs
        self.entries: dict[str, bytes] = {}  # by digest of the text
        self.new: dict[str, bytes] = {}  # parsed by this scan, for the cache

    def parse(self, text: str, shown: str) -> ConfigFile:
        try:
            return self._parse(text, shown)
        except RecursionError:  # this process's stack, not the text: reported, not cached
            return ConfigFile(shown, error=InputError(shown, "configuration nested too deeply"))

    def _parse(self, text: str, shown: str) -> ConfigFile:
        key = digest(text)
        data = self.entries.get(key)
        if data is None:
            data = self._cached(key)
        if data is None:
            data = self._store(key, entry(text))
        parsed = config_file(data, shown)
        if parsed is None:  # a damaged cache entry: parse again
            parsed = config_file(self._store(key, entry(text)), shown)
            assert parsed is not None
        return parsed

    def prepare(self, texts: Sequence[str]) -> None:
        """Parse ahead the texts that are neither memoised nor cached, in worker processes if it pays."""
        missing: dict[str, str] = {}
        for text in texts:
            key = digest(text)
            if key not in self.entries and key not in missing and self._cached(key) is None:
                missing[key] = text
        if not missing or self.jobs < 2 or sum(map(len, missing.values())) < _PARALLEL_BYTES:
            return  # parsed when first used
        workers = min(self.jobs, len(missing))
        chunk = max(1, len(missing) // (workers * 4))
        try:
            with ProcessPoolExecutor(workers) as pool:
                parsed = list(pool.map(entry, missing.values(), chunksize=chunk))
        except (OSError, BrokenProcessPool, RecursionError):  # no workers here (a sandbox): parse when used
            return
        for key, data in zip(missing, parsed, strict=True):
            self._store(key, data)

    def _cached(self, key: str) -> bytes | None:
        data = self.cache.get(key) if self.cache is not None else None
        if data is not None:
            self.entries[key] = data
        return data

    def _store(self, key: str, data: bytes) -> bytes:
        self.entries[key] = self.new[key] = data
        return data

    def add(self, parsed: dict[str, bytes]) -> None:
        """Entries another process parsed for this scan (`roots`), for the cache."""
        self.entries.update(parsed)
        self.new.update(parsed)

    def save(self) -> None:
        """Write what this scan parsed to the cache."""
        if self.cache is not None:
            self.cache.put(self.new)
            self.cache.close()
        self.new = {}
