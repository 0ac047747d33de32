"""Downloading public wav2vec 2.0 checkpoints from the Hugging Face Hub (or a mirror of it).

`vivavoce models download facebook/wav2vec2-base-960h` asks the Hub's API for the
repository's files with their sizes and, for the large ones kept in Git LFS,
their SHA-256. It downloads what a Hugging Face wav2vec 2.0 folder needs
(hf_import.py reads it): config.json, the weights (model.safetensors, its shards,
or else pytorch_model.bin), the tokenizer's and feature extractor's files, and
the model card. Each file goes to ``NAME.part`` in the downloads folder and is
renamed when its size (and checksum, where the Hub gives one) is right; a
download cut off is resumed where it stopped, by an HTTP range request, the next
time. Only then is the model converted into the store, atomically, and the
download deleted.

``HF_ENDPOINT`` (the Hub client's own variable) points at a mirror, and
``HF_TOKEN`` is sent to reach a gated or private repository.
"""

import errno
import hashlib
import http.client
import json
import os
import re
import shutil
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import ModelError
from .modelfolder import CONFIG
from .paths import data_dir

DEFAULT_ENDPOINT = "https://huggingface.co"
# What the tokenizer, feature extractor and model card bring, when the repository has them.
WANTED = ("vocab.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
          "preprocessor_config.json", "README.md")
SHARD_INDEX = "model.safetensors.index.json"
CHUNK = 1 << 20
TIMEOUT_S = 30
# Where Linux distributions keep their certificate authorities: the packaged app carries an
# OpenSSL built for Debian's layout, which on another distribution finds none.
CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
              "/etc/ssl/ca-bundle.pem", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem")
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int | None
    sha256: str | None  # the Hub gives it for files in Git LFS (the weights)


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def downloads_dir() -> Path:
    return data_dir() / "downloads"


def default_name(repo: str) -> str:
    return repo.rsplit("/", 1)[-1]


def check_repo(repo: str, revision: str = "main") -> None:
    """Raise ModelError unless ``repo`` names a Hub model and ``revision`` a branch, tag or commit."""
    if not _REPO.match(repo) or ".." in repo:
        raise ModelError(f"{repo!r}: not a Hugging Face model name (like facebook/wav2vec2-base-960h)")
    if not _REVISION.match(revision) or ".." in revision:
        raise ModelError(f"--revision {revision!r}: not a branch, tag or commit")


def _ssl_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    paths = ssl.get_default_verify_paths()
    if not any(path and os.path.exists(path) for path in (paths.cafile, paths.capath)):
        for bundle in CA_BUNDLES:
            if os.path.isfile(bundle):
                context.load_verify_locations(cafile=bundle)
                break
    return context


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect (the Hub sends the weights from a CDN) without taking the token to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


class Hub:
    """Requests to one Hub endpoint, for one repository at one revision."""

    def __init__(self, repo: str, revision: str = "main"):
        check_repo(repo, revision)
        self.repo, self.revision, self.base = repo, revision, endpoint()
        self.opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=_ssl_context()), _Redirects)

    @property
    def page(self) -> str:
        return f"{self.base}/{self.repo}"

    def _open(self, url: str, headers: dict[str, str] | None = None, what: str = ""):
        headers = dict(headers or {})
        token = os.environ.get("HF_TOKEN")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, headers={"User-Agent": "vivavoce", **headers})
        try:
            return self.opener.open(request, timeout=TIMEOUT_S)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 416:
                raise
            if error.code in (401, 403):
                # The Hub answers 401 for a name that does not exist, too, so as not to tell of private models.
                if token:
                    raise ModelError(f"{self.page}: the token in HF_TOKEN may not read it (HTTP {error.code}); "
                                     "check the name, and accept the model's terms on its page") from None
                raise ModelError(f"{self.page}: no such public model (HTTP {error.code}); check the name, or "
                                 "for a gated or private model set HF_TOKEN to a token that may read it") from None
            if error.code == 404:
                raise ModelError(f"{self.page}: {what or 'no such model'} (HTTP 404 from {url})") from None
            raise ModelError(f"{url}: the Hub answered HTTP {error.code} {error.reason}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ModelError(f"{self.base}: cannot be reached ({reason}); check the network connection"
                             + (" and HF_ENDPOINT" if "HF_ENDPOINT" in os.environ else "")) from None

    def files(self) -> dict[str, RemoteFile]:
        """The repository's files at the revision, with sizes and LFS checksums."""
        quoted = urllib.parse.quote(self.revision, safe="")
        url = f"{self.base}/api/models/{self.repo}/revision/{quoted}?blobs=true"
        with self._open(url, what=f"no such model or revision {self.revision!r}") as response:
            try:
                found = {}
                for entry in json.loads(response.read())["siblings"]:
                    lfs = entry.get("lfs") or {}
                    name = entry["rfilename"]
                    found[name] = RemoteFile(name, lfs.get("size", entry.get("size")), lfs.get("sha256"))
            except (ValueError, KeyError, TypeError, AttributeError):
                raise ModelError(f"{url}: not a model listing from the Hub") from None
        return found

    def fetch(self, remote: RemoteFile, folder: Path, progress: Callable[[int], None]) -> Path:
        """``remote`` downloaded into ``folder`` (resuming an earlier ``.part``), checked, renamed.
        ``progress(bytes)`` hears of each amount received, negative when a part starts over."""
        target = folder / remote.name
        if target.is_file():  # an earlier run finished and checked it
            progress(target.stat().st_size)
            return target
        part = target.with_name(target.name + ".part")
        try:
            part.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _write_error(part.parent, error) from None
        have = part.stat().st_size if part.exists() else 0
        if remote.size is not None and have > remote.size:
            part.unlink()
            have = 0
        progress(have)
        url = f"{self.base}/{self.repo}/resolve/{urllib.parse.quote(self.revision, safe='')}/" \
              f"{urllib.parse.quote(remote.name)}"
        if remote.size is None or have < remote.size:
            try:
                response = self._open(url, {"Range": f"bytes={have}-"} if have else None, what=f"no {remote.name}")
            except urllib.error.HTTPError:  # 416: the part cannot be continued; begin again
                part.unlink()
                progress(-have)
                have = 0
                response = self._open(url, what=f"no {remote.name}")
            with response:
                if have and response.status != 206:  # the server ignored the range: it sends everything
                    progress(-have)
                    have = 0
                self._receive(response, part, "ab" if have else "wb", url, progress)
        got = part.stat().st_size
        if remote.size is not None and got != remote.size:
            raise ModelError(f"{url}: the download stopped at {got} of {remote.size} bytes; run the same "
                             "command again to resume it")
        if remote.sha256 and _sha256(part) != remote.sha256:
            part.unlink()
            raise ModelError(f"{url}: the file arrived damaged (its SHA-256 is not the Hub's); it was "
                             "deleted, run the same command again to download it anew")
        os.replace(part, target)
        return target

    @staticmethod
    def _receive(response, part: Path, mode: str, url: str, progress: Callable[[int], None]) -> None:
        try:
            file = open(part, mode)
        except OSError as error:
            raise _write_error(part, error) from None
        with file:
            while True:
                try:
                    chunk = response.read1(CHUNK)  # what has arrived, so progress moves on a slow line
                except (OSError, http.client.HTTPException) as error:
                    file.flush()
                    raise ModelError(f"{url}: the download was cut off ({type(error).__name__}); run the "
                                     "same command again to resume it") from None
                if not chunk:
                    break
                try:
                    file.write(chunk)
                except OSError as error:
                    raise _write_error(part, error) from None
                progress(len(chunk))
            try:
                file.flush()
                os.fsync(file.fileno())
            except OSError as error:
                raise _write_error(part, error) from None


def _write_error(path: Path, error: OSError) -> ModelError:
    if error.errno == errno.ENOSPC:
        return ModelError(f"{path.parent if path.suffix == '.part' else path}: the disk is full; free some "
                          "space and run the same command again to resume")
    return ModelError(f"{path}: cannot be written ({error.strerror or error})")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def check_kind(hub: Hub, folder: Path) -> bool:
    """Whether the config.json downloaded into ``folder`` is a Vivavoce model's (True) or a Hugging Face
    wav2vec 2.0 model's (False); any other model is refused before its weights are fetched."""
    from .hf_import import is_hf_folder
    from .modelfolder import is_model_folder

    if is_model_folder(folder):
        return True
    if is_hf_folder(folder):
        return False
    try:
        kind = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError):
        kind = None
    shutil.rmtree(folder, ignore_errors=True)
    raise ModelError(f"{hub.page}: " + (f"a {kind} model" if kind else "its config.json is not a model's")
                     + "; Vivavoce reads wav2vec 2.0 models")


def choose_files(hub: Hub, listing: dict[str, RemoteFile], folder: Path, vivavoce: bool) -> list[RemoteFile]:
    """What to download from ``listing``: the config, the weights in their best form, the rest there is.
    A Vivavoce model brings its card and language model instead of a tokenizer."""
    from .modelfolder import CARD, WEIGHTS, read_config

    if vivavoce:
        settings = read_config(folder).language_model
        names = [CONFIG, WEIGHTS, CARD] + ([settings.file] if settings else [])
        absent = [name for name in names[:2] + names[3:] if name not in listing]
        if absent:
            raise ModelError(f"{hub.page}: a Vivavoce model without its {absent[0]}")
        return [listing[name] for name in names if name in listing]
    chosen = [listing[name] for name in (CONFIG, *WANTED) if name in listing]
    if "model.safetensors" in listing:
        return chosen + [listing["model.safetensors"]]
    if SHARD_INDEX in listing:
        index = hub.fetch(listing[SHARD_INDEX], folder, lambda amount: None)
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (ValueError, KeyError, AttributeError):
            raise ModelError(f"{hub.page}: its {SHARD_INDEX} is not a shard index") from None
        absent = [shard for shard in shards if shard not in listing]
        if absent:
            raise ModelError(f"{hub.page}: {SHARD_INDEX} names {absent[0]}, which the repository lacks")
        return chosen + [listing[SHARD_INDEX]] + [listing[shard] for shard in shards]
    if "pytorch_model.bin" in listing:
        return chosen + [listing["pytorch_model.bin"]]
    raise ModelError(f"{hub.page}: no weights (model.safetensors or pytorch_model.bin) in the repository")


def download(repo: str, name: str | None = None, revision: str = "main",
             progress: Callable[[int, int | None], None] | None = None):
    """Download ``repo`` from the Hub and install it as ``name`` (default: the repository's name).

    ``progress(amount, total)`` is called once with amount 0 and the bytes to fetch in all (None
    when the Hub does not say), then with each amount received (negative when a part must start
    over). Returns the store's entry for the model.
    """
    from . import store

    name = name or default_name(repo)
    store.check_name(name)  # before anything is fetched
    store.remove_leftovers(name)
    hub = Hub(repo, revision)
    folder = downloads_dir() / f"{repo.replace('/', '--')}@{revision.replace('/', '--')}"
    listing = hub.files()
    if CONFIG not in listing:
        raise ModelError(f"{hub.page}: has no {CONFIG}; not a wav2vec 2.0 model")
    hub.fetch(listing[CONFIG], folder, lambda amount: None)
    report = progress or (lambda amount, total: None)
    chosen = choose_files(hub, listing, folder, vivavoce=check_kind(hub, folder))
    sizes = [remote.size for remote in chosen]
    report(0, None if None in sizes else sum(sizes))
    for remote in chosen:
        hub.fetch(remote, folder, lambda amount: report(amount, None))
    entry = store.import_model(str(folder), name, origin=f"{hub.page} (revision {revision})")
    shutil.rmtree(folder, ignore_errors=True)
    return entry
