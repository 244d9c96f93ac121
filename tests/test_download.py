"""`pybp data mnist` and pybp.download, against a local HTTP server.

The server runs in a thread on 127.0.0.1 (an ephemeral port) and serves the
repository's data/mnist files in several manners, chosen by the first part
of the path: /good/NAME (honours Range), /norange/NAME (ignores it),
/corrupt/NAME (a valid gzip of the wrong content), /garbage/NAME (not gzip),
/short/NAME (a Content-Length larger than the body, then the connection
closes), /stall/NAME (half the body, then silence), /slow/NAME (no answer
for a while), /e500/ and /e404/, /r301/ and /r302/ (redirects to /good/),
/loop/ (a redirect to itself).

No test contacts anything but that server: the default mirrors are
replaced by a local address, and every request is checked to go to
127.0.0.1.  HOME, XDG_DATA_HOME, PYBP_DATA and PYBP_MNIST_URL point into
the test's temporary directory or are unset.
"""

import contextlib
import errno
import gzip
import http.server
import io
import os
import re
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

import pybp
from pybp import data, download, files
from pybp.cli import main

from helpers import MNIST, error_lines, pybp_subprocess, run

NAMES = list(download.MNIST_PINS)
SMALL = "t10k-labels-idx1-ubyte.gz"    # 4.5 kB
MEDIUM = "t10k-images-idx3-ubyte.gz"   # 1.6 MB: many chunks


def _contents():
    if not all((MNIST / n).is_file() for n in NAMES):
        pytest.skip("MNIST is not in %s" % MNIST)
    return {n: (MNIST / n).read_bytes() for n in NAMES}


class _State:
    def __init__(self, contents):
        self.contents = contents
        self.log = []            # (path, Range header) of each request
        self.delay = 1.0         # seconds /slow/ and /stall/ keep quiet
        self._corrupt = {}

    def corrupt(self, name):
        """A valid gzip of content as long as MNIST's file's, but zeros."""
        if name not in self._corrupt:
            size = download.MNIST_PINS[name][1]
            self._corrupt[name] = gzip.compress(bytes(size), compresslevel=1, mtime=0)
        return self._corrupt[name]


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _redirect(self, code, where):
        self.send_response(code)
        self.send_header("Location", where)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):  # noqa: C901 - one branch per manner of serving
        state = self.server.state
        state.log.append((self.path, self.headers.get("Range")))
        parts = self.path.split("/")
        mode, name = (parts[1], parts[-1]) if len(parts) >= 3 else ("", "")
        body = state.contents.get(name)
        if body is None or mode == "e404":
            return self.send_error(404)
        if mode == "e500":
            return self.send_error(500)
        if mode in ("r301", "r302"):
            return self._redirect(int(mode[1:]), "/good/" + name)
        if mode == "loop":
            return self._redirect(302, self.path)
        if mode == "slow":
            time.sleep(state.delay)
        if mode == "corrupt":
            body = state.corrupt(name)
        if mode == "garbage":
            body = b"<html>this is not the file you are looking for</html>\n"
        start = 0
        asked = self.headers.get("Range")
        if asked and mode in ("good", "slow", "short", "stall"):
            start = int(re.fullmatch(r"bytes=(\d+)-", asked).group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(body))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d"
                             % (start, len(body) - 1, len(body)))
        else:
            self.send_response(200)
        rest = body[start:]
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        if mode == "short":
            self.wfile.write(rest[:len(rest) // 2])
            return  # HTTP/1.0: the connection closes, short of the length
        if mode == "stall":
            self.wfile.write(rest[:len(rest) // 2])
            self.wfile.flush()
            time.sleep(state.delay)
            return
        self.wfile.write(rest)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that gave up (a timeout test) is no news


@pytest.fixture(scope="module")
def server():
    """(base URL, state) of the local server, for the whole module."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.state = _State(_contents())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d/" % httpd.server_address[1], httpd.state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def srv(server):
    """The server, its log emptied: (base URL, state)."""
    base, state = server
    state.log.clear()
    state.delay = 1.0
    return base, state


def _closed_port():
    """A local port nothing listens on."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _isolate(mp, home):
    """No real home, no real mirrors, no proxies, no settings from outside."""
    home.mkdir(exist_ok=True)
    mp.setenv("HOME", str(home))
    mp.setenv("USERPROFILE", str(home))
    for name in ("XDG_DATA_HOME", "PYBP_DATA", "PYBP_MNIST_URL", "PYBP_DEBUG",
                 "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                 "all_proxy", "ALL_PROXY"):
        mp.delenv(name, raising=False)
    mp.setenv("no_proxy", "127.0.0.1,localhost")
    mp.setattr(download, "DEFAULT_MIRRORS",
               ("http://127.0.0.1:%d/default-mirror/" % _closed_port(),))
    mp.setattr(download, "_OPENER", None)  # rebuilt without proxies
    real_open = download._open

    def local_only(url, headers, timeout):
        assert urllib.parse.urlsplit(url).hostname == "127.0.0.1", url
        return real_open(url, headers, timeout)
    mp.setattr(download, "_open", local_only)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    _isolate(monkeypatch, tmp_path / "home")


def _leftovers(directory):
    return sorted(p.name for p in Path(directory).iterdir() if p.name.startswith("."))


# --- the pins -------------------------------------------------------------------


def test_the_pins_hold_for_the_repositorys_files():
    for name in NAMES:
        if not (MNIST / name).is_file():
            pytest.skip("MNIST is not in %s" % MNIST)
        assert download.verify(MNIST / name, name) is None


def test_verify_names_what_is_wrong(tmp_path):
    raw = tmp_path / "x"
    raw.write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 10)
    assert "is 14 bytes, MNIST's is 10008" in download.verify(raw, SMALL)
    raw.write_bytes(gzip.compress(b"\x00" * 10008))
    assert re.match(r"digest mismatch: SHA-256 of its content is [0-9a-f]{64}, "
                    r"expected ff7bcfd4", download.verify(raw, SMALL))
    raw.write_bytes(gzip.compress(b"\x00" * 20000))  # longer: read no further
    assert "longer than MNIST's 10008 bytes" in download.verify(raw, SMALL)
    raw.write_bytes(b"\x1f\x8b" + b"junk" * 10)
    assert download.verify(raw, SMALL).startswith("not valid gzip data")


# --- a whole download, then what uses it ----------------------------------------


@pytest.fixture(scope="module")
def downloaded(server, tmp_path_factory):
    """`pybp data mnist DIR --url BASE/good/` run once: (DIR, status, out, err)."""
    base, state = server
    directory = tmp_path_factory.mktemp("mnist")
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("home"))
        status, out, err = run(["data", "mnist", directory, "--url", base + "good/"])
    return directory, status, out, err


def test_cli_downloads_the_four_files(downloaded, srv):
    directory, status, out, err = downloaded
    base, _ = srv
    assert status == 0, err
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 5
    for name, line in zip(NAMES, lines):
        size = (MNIST / name).stat().st_size
        assert line == ("%s: downloaded %s bytes from %sgood/%s (verified)"
                        % (name, format(size, ","), base, name))
    assert lines[4] == ("MNIST is in %s; pass --data %s to pybp train and pybp "
                        "evaluate, or set PYBP_DATA to it" % (directory, directory))
    assert sorted(os.listdir(directory)) == sorted(NAMES)  # no partial files
    for name in NAMES:
        assert (directory / name).read_bytes() == (MNIST / name).read_bytes()


def test_the_download_loads(downloaded):
    directory = downloaded[0]
    training, validation, test = data.load_mnist(directory)
    assert (training.count, validation.count, test.count) == (50000, 10000, 10000)


def test_train_runs_on_the_download(downloaded):
    directory = downloaded[0]
    quick = [] if "c" in pybp.available_backends() else ["--test-limit", "300"]
    status, out, err = run(["train", "--data", directory, "--limit", "1000",
                            "--epochs", "1"] + quick)
    assert status == 0, err
    assert out.splitlines()[0].endswith("examples from %s" % directory)
    assert out.splitlines()[1].startswith("epoch 1/1: ")


def test_a_second_run_keeps_the_files(downloaded, srv):
    directory = downloaded[0]
    base, state = srv
    before = {n: os.stat(directory / n).st_mtime_ns for n in NAMES}
    status, out, err = run(["data", "mnist", directory, "--url", base + "good/"])
    assert status == 0 and err == ""
    assert out.splitlines()[:4] == ["%s: already there, verified" % n for n in NAMES]
    assert state.log == []  # not a single request
    assert {n: os.stat(directory / n).st_mtime_ns for n in NAMES} == before


# --- bad downloads: reported, deleted, the next mirror tried ---------------------


def test_a_corrupt_download_is_deleted_and_the_next_mirror_used(tmp_path, srv):
    base, state = srv
    notices = []
    got = download.download_mnist(tmp_path, [base + "corrupt/", base + "good/"],
                                  names=[SMALL], notice=notices.append)
    assert [(f.status, f.url) for f in got] == [("downloaded", base + "good/" + SMALL)]
    assert len(notices) == 1
    assert notices[0].startswith("%s from %scorrupt/%s: digest mismatch: SHA-256 of "
                                 "its content is " % (SMALL, base, SMALL))
    assert notices[0].endswith("; deleted the download; trying the next mirror")
    assert download.verify(tmp_path / SMALL, SMALL) is None
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("mode, reason", [
    ("corrupt", "digest mismatch: SHA-256 of its content is"),
    ("garbage", "digest mismatch: its content is 54 bytes"),
])
def test_a_corrupt_download_from_the_only_mirror_fails(tmp_path, srv, mode, reason):
    base, _ = srv
    status, out, err = run(["data", "mnist", tmp_path / "d", "--url", base + mode + "/"])
    assert status == 1 and out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("pybp: error: %s from %s%s/%s: %s"
                          % (NAMES[0], base, mode, NAMES[0], reason)), err
    assert "deleted the download" in err
    assert os.listdir(tmp_path / "d") == []  # neither the file nor a partial one


def test_a_truncated_transfer_is_reported_and_resumed_later(tmp_path, srv):
    base, state = srv
    directory = tmp_path / "d"
    status, out, err = run(["data", "mnist", directory, "--url", base + "short/"])
    size = (MNIST / NAMES[0]).stat().st_size
    assert status == 1 and out == ""
    assert err == ("pybp: error: %s from %sshort/%s: transfer cut short: %d of %d "
                   "bytes arrived before the connection closed\n"
                   % (NAMES[0], base, NAMES[0], size // 2, size))
    # What arrived stays, for the next run to continue.
    assert _leftovers(directory) == ["." + NAMES[0] + ".part"]
    assert (directory / ("." + NAMES[0] + ".part")).stat().st_size == size // 2
    state.log.clear()
    got = download.download_mnist(directory, [base + "good/"], names=[NAMES[0]])
    assert got[0].resumed_from == size // 2
    assert state.log == [("/good/" + NAMES[0], "bytes=%d-" % (size // 2))]
    assert download.verify(directory / NAMES[0], NAMES[0]) is None
    assert _leftovers(directory) == []


@pytest.mark.parametrize("mode, reason", [
    ("e500", "HTTP 500 Internal Server Error"),
    ("e404", "HTTP 404 Not Found"),
    ("loop", "redirect loop (HTTP 302; more than 10 redirects, or one URL twice)"),
])
def test_server_errors_are_one_line(tmp_path, srv, mode, reason):
    base, _ = srv
    status, out, err = run(["data", "mnist", tmp_path / "d", "--url", base + mode])
    assert status == 1 and out == ""
    assert err == "pybp: error: %s from %s%s/%s: %s\n" % (NAMES[0], base, mode,
                                                          NAMES[0], reason)
    assert os.listdir(tmp_path / "d") == []


def test_a_real_process_reports_without_a_traceback(tmp_path, srv):
    base, _ = srv
    proc = pybp_subprocess(["data", "mnist", tmp_path / "d", "--url", base + "e500/"])
    assert proc.returncode == 1 and proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert error_lines(proc.stderr) == ["pybp: error: %s from %se500/%s: HTTP 500 "
                                        "Internal Server Error" % (NAMES[0], base,
                                                                   NAMES[0])]


def test_connection_refused_is_one_line(tmp_path):
    base = "http://127.0.0.1:%d/" % _closed_port()
    status, out, err = run(["data", "mnist", tmp_path / "d", "--url", base])
    assert status == 1 and out == ""
    assert re.fullmatch(r"pybp: error: %s from %s%s: connection error: .*refused.*\n"
                        % (re.escape(NAMES[0]), re.escape(base), re.escape(NAMES[0])),
                        err, re.IGNORECASE), err


@pytest.mark.parametrize("mode", ["slow", "stall"])
def test_a_silent_server_times_out(tmp_path, srv, mode):
    base, state = srv
    state.delay = 2.0
    began = time.monotonic()
    status, out, err = run(["data", "mnist", tmp_path / "d", "--url", base + mode,
                            "--timeout", "0.3"])
    assert time.monotonic() - began < 1.5
    assert status == 1 and out == ""
    assert err == "pybp: error: %s from %s%s/%s: timed out (no answer within 0.3 s)\n" \
        % (NAMES[0], base, mode, NAMES[0])


def test_every_mirror_failing_says_so(tmp_path, srv):
    base, _ = srv
    status, out, err = run(["data", "mnist", tmp_path / "d", "--url", base + "e500",
                            "--url", base + "e404"])
    assert status == 1
    assert err.splitlines() == [
        "pybp data: %s from %se500/%s: HTTP 500 Internal Server Error; trying the "
        "next mirror" % (NAMES[0], base, NAMES[0]),
        "pybp: error: %s from %se404/%s: HTTP 404 Not Found (every mirror failed: "
        "2 tried)" % (NAMES[0], base, NAMES[0])]


# --- redirects and resuming --------------------------------------------------------


@pytest.mark.parametrize("code", [301, 302])
def test_a_redirect_is_followed(tmp_path, srv, code):
    base, state = srv
    got = download.download_mnist(tmp_path, [base + "r%d/" % code], names=[SMALL])
    assert got[0].status == "downloaded"
    assert [p for p, _ in state.log] == ["/r%d/%s" % (code, SMALL), "/good/" + SMALL]
    assert download.verify(tmp_path / SMALL, SMALL) is None


def _partial(directory, name, data_):
    directory.mkdir(exist_ok=True)
    (directory / ("." + name + ".part")).write_bytes(data_)


def test_a_partial_file_is_resumed_where_range_works(tmp_path, srv):
    base, state = srv
    content = (MNIST / MEDIUM).read_bytes()
    _partial(tmp_path, MEDIUM, content[:100000])
    got = download.download_mnist(tmp_path, [base + "good/"], names=[MEDIUM])
    assert got[0].resumed_from == 100000 and got[0].size == len(content)
    assert state.log == [("/good/" + MEDIUM, "bytes=100000-")]
    assert (tmp_path / MEDIUM).read_bytes() == content
    assert _leftovers(tmp_path) == []


def test_a_server_that_ignores_range_gets_a_clean_restart(tmp_path, srv):
    base, state = srv
    content = (MNIST / MEDIUM).read_bytes()
    _partial(tmp_path, MEDIUM, content[:100000])
    got = download.download_mnist(tmp_path, [base + "norange/"], names=[MEDIUM])
    assert got[0].resumed_from == 0
    assert state.log == [("/norange/" + MEDIUM, "bytes=100000-")]  # asked, got 200
    assert (tmp_path / MEDIUM).read_bytes() == content


def test_a_partial_file_that_is_whole_or_wrong(tmp_path, srv):
    base, state = srv
    content = (MNIST / SMALL).read_bytes()
    # All of it already there: the server answers 416, pybp fetches it whole.
    _partial(tmp_path, SMALL, content)
    got = download.download_mnist(tmp_path, [base + "good/"], names=[SMALL])
    assert got[0].resumed_from == 0
    assert state.log == [("/good/" + SMALL, "bytes=%d-" % len(content)),
                         ("/good/" + SMALL, None)]
    # A partial file of other bytes: the resumed file fails its check and is
    # fetched once more from its first byte.
    os.remove(tmp_path / SMALL)
    wrong = b"\x1f\x8bnot the start of it"
    _partial(tmp_path, SMALL, wrong)
    state.log.clear()
    notices = []
    got = download.download_mnist(tmp_path, [base + "good/"], names=[SMALL],
                                  notice=notices.append)
    assert got[0].resumed_from == 0 and got[0].url == base + "good/" + SMALL
    assert [r for _, r in state.log] == ["bytes=%d-" % len(wrong), None]
    assert len(notices) == 1 and "the resumed download failed its check" in notices[0]
    assert (tmp_path / SMALL).read_bytes() == content


def test_a_damaged_file_is_replaced(tmp_path, srv):
    base, _ = srv
    (tmp_path / SMALL).write_bytes(b"damaged")
    notices = []
    got = download.download_mnist(tmp_path, [base + "good/"], names=[SMALL],
                                  notice=notices.append)
    assert got[0].replaced and got[0].status == "downloaded"
    assert notices == ["%s: digest mismatch: its content is 7 bytes, MNIST's is "
                       "10008; downloading it again" % (tmp_path / SMALL)]
    assert download.verify(tmp_path / SMALL, SMALL) is None


def test_a_wrong_plain_file_in_the_way_is_refused(tmp_path, srv):
    base, state = srv
    (tmp_path / SMALL[:-3]).write_bytes(b"not labels")
    with pytest.raises(download.DownloadError, match="move it away"):
        download.download_mnist(tmp_path, [base + "good/"], names=[SMALL])
    assert state.log == []
    # A right plain file counts as present.
    (tmp_path / SMALL[:-3]).write_bytes(gzip.decompress((MNIST / SMALL).read_bytes()))
    got = download.download_mnist(tmp_path, [base + "good/"], names=[SMALL])
    assert got[0].status == "present" and got[0].path == str(tmp_path / SMALL[:-3])


def test_the_mirror_that_worked_is_tried_first(tmp_path, srv):
    base, state = srv
    download.download_mnist(tmp_path, [base + "e404/", base + "good/"],
                            names=[SMALL, "train-labels-idx1-ubyte.gz"])
    assert [p for p, _ in state.log] == ["/e404/" + SMALL, "/good/" + SMALL,
                                         "/good/train-labels-idx1-ubyte.gz"]


# --- where the files go ------------------------------------------------------------


def test_the_per_user_directory(tmp_path, monkeypatch):
    home = str(tmp_path / "home")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if sys.platform not in ("win32", "darwin"):
        assert data.mnist_user_dir() == str(tmp_path / "xdg" / "pybp" / "mnist")
    user = data._user_data_dir
    assert user("linux", {"XDG_DATA_HOME": "/x/share"}, home) == "/x/share/pybp"
    assert user("linux", {}, home) == os.path.join(home, ".local", "share", "pybp")
    # A relative XDG_DATA_HOME is ignored, as the XDG rules say.
    assert user("linux", {"XDG_DATA_HOME": "rel"}, home) == \
        os.path.join(home, ".local", "share", "pybp")
    assert user("darwin", {"XDG_DATA_HOME": "/x"}, home) == \
        os.path.join(home, "Library", "Application Support", "pybp")
    assert user("win32", {"LOCALAPPDATA": "C:\\Users\\u\\AppData\\Local"}, home) \
        == os.path.join("C:\\Users\\u\\AppData\\Local", "pybp")
    assert user("win32", {}, home) == os.path.join(home, "AppData", "Local", "pybp")


@pytest.mark.skipif(sys.platform in ("win32", "darwin"),
                    reason="XDG_DATA_HOME is the convention of Linux and other Unix systems")
def test_without_dir_it_downloads_into_the_per_user_directory(tmp_path, srv, monkeypatch):
    base, _ = srv
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("PYBP_MNIST_URL", base + "e404/ " + base + "good/")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "_checkout_mnist", lambda: None)  # as installed
    target = tmp_path / "xdg" / "pybp" / "mnist"
    status, out, err = run(["data", "mnist"])
    assert status == 0, err
    assert sorted(os.listdir(target)) == sorted(NAMES)
    assert out.splitlines()[-1] == ("MNIST is in %s; pybp train and pybp evaluate "
                                    "find it there" % target)
    assert data.find_mnist() == str(target)
    assert not (tmp_path / "home" / ".local").exists()


def test_pybp_data_is_the_default_directory(tmp_path, srv, monkeypatch):
    base, _ = srv
    monkeypatch.setenv("PYBP_DATA", str(tmp_path / "env"))
    got = []
    monkeypatch.setattr(download, "download_mnist",
                        lambda directory, *a, **k: got.append(directory))
    status, out, err = run(["data", "mnist", "--url", base + "good/"])
    assert status == 0, err
    assert got == [str(tmp_path / "env")]


@pytest.mark.parametrize("argv, env, fragment", [
    (["--url", "ftp://example.org/mnist/"], None,
     "--url: 'ftp://example.org/mnist/' is not an http:// or https:// URL"),
    (["--url", "http:///mnist/"], None, "is not an http:// or https:// URL"),
    ([], "file:///tmp/mnist/", "PYBP_MNIST_URL: 'file:///tmp/mnist/' is not an http"),
    (["--timeout", "0"], None, "argument --timeout: must be > 0"),
])
def test_bad_options(tmp_path, monkeypatch, argv, env, fragment):
    if env is not None:
        monkeypatch.setenv("PYBP_MNIST_URL", env)
    status, out, err = run(["data", "mnist", tmp_path / "d"] + argv)
    assert status == 2 and out == ""
    assert err.startswith("pybp: error: ") and err.count("\n") == 1
    assert fragment in err
    assert not (tmp_path / "d").exists()


def test_a_file_in_the_way_of_the_directory(tmp_path, srv):
    base, _ = srv
    (tmp_path / "f").write_text("")
    status, out, err = run(["data", "mnist", tmp_path / "f", "--url", base + "good/"])
    assert status == 1
    assert err == "pybp: error: %s: exists and is not a directory\n" % (tmp_path / "f")


# --- the progress bar ------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_progress_bar(tmp_path, srv):
    base, _ = srv
    out, err = io.StringIO(), _Terminal()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["data", "mnist", str(tmp_path), "--url", base + "good/"])
    assert status == 0
    drawn = err.getvalue()
    assert "\r%s [" % NAMES[0] in drawn and "/9.7 MB" in drawn
    assert "\r%s [##############################] 29/29 kB" % NAMES[1] in drawn
    assert drawn.endswith("\r")  # each bar erased before its file's line
    assert "\r" not in out.getvalue() and len(out.getvalue().splitlines()) == 5


# --- MNIST not found ---------------------------------------------------------------


def test_not_found_lists_the_places_one_a_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "_checkout_mnist", lambda: None)  # as installed
    status, out, err = run(["train", "--epochs", "1"])
    lines = err.splitlines()
    assert status == 1 and out == ""
    assert all(line.startswith("pybp: ") for line in lines)
    assert lines[0] == "pybp: error: MNIST not found; pybp looked in:"
    user = data.mnist_user_dir()
    assert "pybp:   %s: no such directory" % os.path.join(os.getcwd(), "data", "mnist") \
        in lines
    assert "pybp:   %s: no such directory" % user in lines
    assert "pybp: To download MNIST (into %s): pybp data mnist" % user in lines
    assert "pybp: Or give the directory holding it: --data DIR, or set PYBP_DATA." \
        in lines


def test_not_found_from_pybp_data_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PYBP_DATA", str(tmp_path / "typo"))
    model = tmp_path / "m.pybp"
    pybp.Network([784, 2, 10], seed=0).save(model)
    status, out, err = run(["evaluate", model])
    assert status == 1
    assert err.splitlines()[:3] == [
        "pybp: error: MNIST not found; pybp looked in:",
        "pybp:   %s (PYBP_DATA): no such directory" % (tmp_path / "typo"),
        "pybp: PYBP_DATA is set, so pybp looks nowhere else: correct it, unset it, "
        "or pass --data DIR."]
    assert "pybp: To download MNIST there: pybp data mnist" in err.splitlines()


def test_not_found_in_a_given_directory(tmp_path):
    (tmp_path / "some").mkdir()
    (tmp_path / "some" / SMALL).write_bytes(b"")
    with pytest.raises(data.MnistNotFoundError) as e:
        data.find_mnist(tmp_path / "some")
    assert e.value.places == [str(tmp_path / "some")]
    lines = str(e.value).splitlines()
    assert lines[1] == ("  %s: missing train-images-idx3-ubyte, train-labels-idx1-"
                        "ubyte, t10k-images-idx3-ubyte" % (tmp_path / "some"))
    assert lines[2] == "To download MNIST there: pybp data mnist %s" % (tmp_path / "some")
    assert data._shell_word("/a b/it's") == "'/a b/it'\"'\"'s'"
    status, out, err = run(["train", "--data", tmp_path / "some"])
    assert status == 1
    assert err.splitlines()[1:3] == ["pybp: " + lines[1], "pybp: " + lines[2]]


def test_find_mnist_looks_in_the_per_user_directory_last(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    places = data._default_places()
    assert places[0] == os.path.join(os.getcwd(), "data", "mnist")
    assert places[-1] == data.mnist_user_dir()
    # The current directory being the checkout lists it once.
    if data._checkout_mnist() is not None:
        monkeypatch.chdir(Path(data._checkout_mnist()).parents[1])
        assert len(data._default_places()) == 2


# --- pybp.files.PartialFile ----------------------------------------------------------


def test_partial_file_commit_resume_discard(tmp_path):
    tmp_path = tmp_path / "d"
    tmp_path.mkdir()
    path = tmp_path / "f.gz"
    path.write_bytes(b"old")
    with files.PartialFile(path) as part:
        part.write(b"new ")
        assert path.read_bytes() == b"old"  # untouched until commit
    partial = tmp_path / ".f.gz.part"
    assert partial.read_bytes() == b"new "
    with files.PartialFile(path, resume=True) as part:
        assert part.size == 4
        part.write(b"bytes")
        part.commit()
    assert path.read_bytes() == b"new bytes" and not partial.exists()
    with files.PartialFile(path, resume=True) as part:
        assert part.size == 0
        part.write(b"x")
        part.restart()
        part.write(b"y")
        part.discard()
    assert path.read_bytes() == b"new bytes" and os.listdir(tmp_path) == ["f.gz"]


def test_partial_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        files.PartialFile(tmp_path / "no" / "f")
    assert e.value.filename == str(tmp_path / "no")
    with pytest.raises(IsADirectoryError):
        files.PartialFile(tmp_path)
    with pytest.raises(OSError) as e:
        files.PartialFile(tmp_path / ("x" * 300))
    assert e.value.errno == errno.ENAMETOOLONG


@pytest.mark.skipif(not hasattr(os, "O_NOFOLLOW"), reason="no O_NOFOLLOW")
def test_partial_file_refuses_a_planted_link(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    os.symlink(victim, tmp_path / ".f.part")
    with pytest.raises(OSError) as e:
        files.PartialFile(tmp_path / "f", resume=True)
    assert e.value.filename == str(tmp_path / "f")
    assert victim.read_bytes() == b"keep"


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_partial_file_writes_through_a_link_at_the_path(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real" / "f", tmp_path / "f")
    with files.PartialFile(tmp_path / "f") as part:
        part.write(b"data")
        part.commit()
    assert os.path.islink(tmp_path / "f")
    assert (tmp_path / "real" / "f").read_bytes() == b"data"
