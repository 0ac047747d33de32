"""`vivavoce models download`: public checkpoints fetched over HTTP from a Hugging Face Hub, here a
real HTTP server on 127.0.0.1 that answers the Hub's model listing and file requests (with its
redirect of the weights to another host, range requests and LFS checksums) from folders of
checkpoints saved by `transformers`."""

import hashlib
import json
import os
import shutil
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from conftest import run_vivavoce
from engine.download import downloads_dir
from engine.hf_import import load_hf_folder
from engine.store import load_model, models_dir
from hf_models import make_hf_ctc

LFS = (".safetensors", ".bin", ".msgpack", ".h5")
CARD = """---
license: apache-2.0
language: en
---

# tiny-ctc

A tiny random wav2vec 2.0 CTC model, for tests.
"""


class Hub:
    """The Hub's API and file endpoints over real folders: ``repos`` maps "owner/name" to a folder.

    ``cut`` maps a file name to a byte count at which its next transfer breaks off; ``damage`` names
    files sent with a byte flipped; ``ranges`` False makes it ignore range requests, as some
    servers do; ``token`` is required when set; ``pace`` sends the weights 8 KiB at a time, that
    many seconds apart. ``requests`` logs (path, headers) of each request.
    """

    def __init__(self):
        self.repos: dict[str, Path] = {}
        self.cut: dict[str, int] = {}
        self.damage: set[str] = set()
        self.ranges = True
        self.token: str | None = None
        self.pace = 0.0
        self.requests: list[tuple[str, dict]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.requests.append((self.path, dict(self.headers)))
                hub.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def paths(self, prefix: str) -> list[str]:
        return [path for path, _ in self.requests if path.startswith(prefix)]

    def answer(self, handler):
        parts = urllib.parse.urlsplit(handler.path)
        segments = [urllib.parse.unquote(s) for s in parts.path.strip("/").split("/")]
        on_cdn = segments[0] == "cdn"
        if self.token and not on_cdn and handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self.status(handler, 401)
        if segments[:2] == ["api", "models"] and len(segments) == 6 and segments[4] == "revision":
            repo = self.repos.get("/".join(segments[2:4]))
            if repo is None or segments[5] != "main":
                return self.status(handler, 404)
            return self.listing(handler, "/".join(segments[2:4]), repo)
        if len(segments) >= 5 and segments[2] == "resolve":
            repo, name = self.repos.get("/".join(segments[:2])), "/".join(segments[4:])
            if repo is None or segments[3] != "main" or not (repo / name).is_file():
                return self.status(handler, 404)
            if name.endswith(LFS):  # the Hub sends large files from its CDN, another host
                handler.send_response(302)
                handler.send_header("Location", f"http://localhost:{self.port}/cdn/{segments[0]}/{segments[1]}/{name}")
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            return self.send_file(handler, repo / name)
        if on_cdn:
            repo = self.repos.get("/".join(segments[1:3]))
            return self.send_file(handler, repo / "/".join(segments[3:]))
        return self.status(handler, 404)

    def listing(self, handler, repo_id: str, folder: Path):
        siblings = []
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name, size = path.relative_to(folder).as_posix(), path.stat().st_size
                entry = {"rfilename": name, "size": size}
                if name.endswith(LFS):
                    entry["lfs"] = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "size": size}
                siblings.append(entry)
        body = json.dumps({"id": repo_id, "sha": "0" * 40, "siblings": siblings}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def send_file(self, handler, path: Path):
        data = bytearray(path.read_bytes())
        if path.name in self.damage:
            data[len(data) // 2] ^= 0xFF
        start = 0
        wanted = handler.headers.get("Range")
        if wanted and self.ranges:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                return self.status(handler, 416)
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            handler.send_response(200)
        body = bytes(data[start:])
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        cut = self.cut.pop(path.name, None)
        if cut is not None:  # the connection drops partway through
            handler.wfile.write(body[:cut - start])
            handler.wfile.flush()
            handler.close_connection = True
            return
        if self.pace and path.name.endswith(LFS):
            for start in range(0, len(body), 8192):
                try:
                    handler.wfile.write(body[start:start + 8192])
                    handler.wfile.flush()
                except OSError:  # the client went away
                    return
                time.sleep(self.pace)
            return
        handler.wfile.write(body)

    @staticmethod
    def status(handler, code: int):
        handler.send_response(code)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    server = Hub()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield server
    server.close()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A CTC checkpoint as `transformers` saves it, with a model card and a file the app never needs."""
    folder = tmp_path_factory.mktemp("tiny-ctc")
    make_hf_ctc(folder, stable=True)
    (folder / "README.md").write_text(CARD)
    (folder / "flax_model.msgpack").write_bytes(os.urandom(4096))
    return folder


def same_outputs(name: str, reference: Path) -> bool:
    """Whether the installed model ``name`` computes exactly what the checkpoint in ``reference`` does."""
    audio = torch.randn(1, 16000, generator=torch.Generator().manual_seed(0))
    ours, theirs = load_model(name).model.eval(), load_hf_folder(reference).model.eval()
    with torch.no_grad():
        return torch.equal(ours.ctc_logits(audio), theirs.ctc_logits(audio))


def test_a_model_downloaded_from_the_hub_is_installed_with_its_card(hub, checkpoint):
    hub.repos["someone/tiny-ctc"] = checkpoint
    result = run_vivavoce("models", "download", "someone/tiny-ctc")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"installed tiny-ctc (ctc) in {models_dir() / 'tiny-ctc'}"
    assert same_outputs("tiny-ctc", checkpoint)
    card = (models_dir() / "tiny-ctc" / "README.md").read_text()
    assert f"from {hub.url}/someone/tiny-ctc (revision main)" in card
    assert "Licence (from its header): apache-2.0" in card and "A tiny random wav2vec 2.0 CTC model" in card
    assert "---" not in card
    # Only what a wav2vec 2.0 folder needs, and the weights from the CDN, which never saw a token.
    fetched = {path.rsplit("/", 1)[-1] for path in hub.paths("/someone/tiny-ctc/resolve/main/")}
    assert fetched == {path.name for path in checkpoint.iterdir()} - {"flax_model.msgpack"}
    assert {"config.json", "vocab.json", "preprocessor_config.json", "README.md", "model.safetensors"} <= fetched
    assert hub.paths("/cdn/") == ["/cdn/someone/tiny-ctc/model.safetensors"]
    assert not any(downloads_dir().iterdir())  # the download itself is gone once converted
    listed = run_vivavoce("models", "list").stdout
    assert any(line.split()[:2] == ["tiny-ctc", "ctc"] for line in listed.splitlines())


@pytest.mark.parametrize("ranges", [True, False], ids=["resumed", "server-ignores-ranges"])
def test_an_interrupted_download_goes_on_from_where_it_stopped(hub, checkpoint, ranges):
    hub.repos["someone/tiny-ctc"] = checkpoint
    size = (checkpoint / "model.safetensors").stat().st_size
    hub.cut["model.safetensors"] = size * 2 // 5
    hub.ranges = ranges

    first = run_vivavoce("models", "download", "someone/tiny-ctc", "--name", "mine")
    assert first.returncode == 2 and first.stdout == ""
    error = first.stderr.strip().splitlines()[-1]  # after the progress bar
    assert error.startswith("vivavoce: error: ") and "model.safetensors" in error and "again to resume" in error
    assert not (models_dir() / "mine").exists()
    parts = list(downloads_dir().rglob("model.safetensors.part"))
    assert len(parts) == 1 and parts[0].stat().st_size == size * 2 // 5

    second = run_vivavoce("models", "download", "someone/tiny-ctc", "--name", "mine")
    assert second.returncode == 0, second.stderr
    last = [headers for path, headers in hub.requests if path.startswith("/cdn/")][-1]
    assert last.get("Range") == f"bytes={size * 2 // 5}-"
    assert same_outputs("mine", checkpoint)
    # The small files came once: the first run had finished them.
    assert len(hub.paths("/someone/tiny-ctc/resolve/main/config.json")) == 1


def test_a_damaged_download_is_deleted_and_nothing_is_installed(hub, checkpoint):
    hub.repos["someone/tiny-ctc"] = checkpoint
    hub.damage.add("model.safetensors")
    result = run_vivavoce("models", "download", "someone/tiny-ctc")
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert "model.safetensors" in error and "damaged" in error and "SHA-256" in error
    assert not (models_dir() / "tiny-ctc").exists() and not list(downloads_dir().rglob("*.part"))
    hub.damage.clear()
    assert run_vivavoce("models", "download", "someone/tiny-ctc").returncode == 0
    assert same_outputs("tiny-ctc", checkpoint)


def test_a_checkpoint_with_pytorch_weights_only_is_downloaded(hub, tmp_path):
    folder = tmp_path / "bin-only"
    model = make_hf_ctc(folder, stable=False)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")  # as checkpoints from before safetensors are
    hub.repos["someone/bin-only"] = folder
    result = run_vivavoce("models", "download", "someone/bin-only")
    assert result.returncode == 0, result.stderr
    assert same_outputs("bin-only", folder)


def test_a_gated_model_needs_a_token_which_never_leaves_the_hub(hub, checkpoint, monkeypatch):
    hub.repos["someone/tiny-ctc"] = checkpoint
    hub.token = "hf_secret"
    refused = run_vivavoce("models", "download", "someone/tiny-ctc")
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "HTTP 401" in refused.stderr and "HF_TOKEN" in refused.stderr
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    allowed = run_vivavoce("models", "download", "someone/tiny-ctc")
    assert allowed.returncode == 0, allowed.stderr
    cdn = [headers for path, headers in hub.requests if path.startswith("/cdn/")]
    assert cdn and not any("Authorization" in headers for headers in cdn)


def one_line_error(*args) -> str:
    result = run_vivavoce("models", "download", *args)
    assert result.returncode == 2 and result.stdout == "", result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


def test_bad_requests_are_named_in_one_line_before_anything_is_installed(hub, checkpoint, tmp_path):
    hub.repos["someone/tiny-ctc"] = checkpoint
    assert "someone/nothing" in one_line_error("someone/nothing") and "404" in one_line_error("someone/nothing")
    assert "revision 'v9'" in one_line_error("someone/tiny-ctc", "--revision", "v9")
    assert "not a Hugging Face model name" in one_line_error("../etc/passwd")
    assert "--revision" in one_line_error("someone/tiny-ctc", "--revision", "../x")

    no_weights = tmp_path / "no-weights"
    shutil.copytree(checkpoint, no_weights)
    (no_weights / "model.safetensors").unlink()
    hub.repos["someone/no-weights"] = no_weights
    assert "no weights" in one_line_error("someone/no-weights")
    assert not (models_dir() / "no-weights").exists()

    assert run_vivavoce("models", "download", "someone/tiny-ctc").returncode == 0
    requests = len(hub.requests)
    taken = one_line_error("someone/tiny-ctc")
    assert "already installed" in taken and len(hub.requests) == requests  # refused before asking the Hub


def test_an_unreachable_hub_is_named(monkeypatch):
    hub = Hub()
    url = hub.url
    hub.close()  # nothing listens there any more
    monkeypatch.setenv("HF_ENDPOINT", url)
    error = one_line_error("someone/tiny-ctc")
    assert url in error and "cannot be reached" in error and "HF_ENDPOINT" in error


def test_a_vivavoce_model_shared_on_the_hub_comes_with_its_language_model_and_card(hub):
    bundled = Path(load_model("default").path)
    hub.repos["someone/vivavoce-default"] = bundled
    result = run_vivavoce("models", "download", "someone/vivavoce-default", "--name", "shared")
    assert result.returncode == 0, result.stderr
    installed = models_dir() / "shared"
    assert sorted(path.name for path in installed.iterdir()) == sorted(path.name for path in bundled.iterdir())
    assert (installed / "language_model.arpa").read_bytes() == (bundled / "language_model.arpa").read_bytes()
    assert (installed / "README.md").read_text() == (bundled / "README.md").read_text()
    audio = torch.randn(1, 16000, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(load_model("shared").model.eval().ctc_logits(audio),
                           load_model("default").model.eval().ctc_logits(audio))


def test_a_model_of_another_kind_is_refused_before_its_weights_are_fetched(hub, tmp_path):
    other = tmp_path / "whisper"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    (other / "model.safetensors").write_bytes(os.urandom(1000))
    hub.repos["someone/whisper"] = other
    error = one_line_error("someone/whisper")
    assert "a whisper model" in error and "wav2vec 2.0" in error
    assert not hub.paths("/cdn/") and not any(downloads_dir().iterdir())


def test_certificate_authorities_are_found_where_another_distribution_keeps_them(monkeypatch, tmp_path):
    # The packaged app's OpenSSL looks where Debian keeps them; elsewhere (Fedora's /etc/pki, say) it
    # finds none there, and looks in the other usual places.
    import ssl

    from engine import download

    bundle = tmp_path / "pki" / "tls-ca-bundle.pem"
    bundle.parent.mkdir()
    shutil.copyfile("/etc/ssl/certs/ca-certificates.crt", bundle)
    nowhere = ssl.DefaultVerifyPaths(str(tmp_path / "cert.pem"), str(tmp_path / "certs"), "", "", "", "")
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: nowhere)
    monkeypatch.setattr(download, "CA_BUNDLES", (str(tmp_path / "absent.crt"), str(bundle)))
    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", lambda self, purpose=None: None)
    assert download._ssl_context().cert_store_stats()["x509_ca"] > 100
    monkeypatch.setattr(download, "CA_BUNDLES", ())
    assert download._ssl_context().cert_store_stats()["x509_ca"] == 0
