"""Issue 11: the store takes nothing on trust (the session's rule, the shared storage
primitives): a credential file others can read is made private with a warning, one others
can write or another user owns is refused, and nothing is written into another user's
directory."""
import os
import stat
from pathlib import Path

import pytest

import termauth

NOBODY = 65534


def client(config_dir: Path) -> termauth.Client:
    # interactive: the terminal UI prints the session's notices (to stderr, captured here).
    return termauth.Client("localstate", "https://as.example.com", "cli", config_dir=config_dir, store="file",
                           launch_browser=False)


def record(config_dir: Path) -> Path:
    (found,) = (config_dir / "credentials").glob("*.json")
    return found


def test_a_record_others_can_read_is_made_private_and_one_they_can_write_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = client(tmp_path)
    c.login("token", token="pat-0123456789")
    path = record(tmp_path)
    os.chmod(path, 0o644)
    capsys.readouterr()
    assert c.get_token() == "pat-0123456789"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    err = capsys.readouterr().err
    assert "could be read by other users (mode 0644)" in err and "logout" in err, err

    os.chmod(path, 0o666)
    with pytest.raises(termauth.StorageError) as e:
        c.get_token()
    assert e.value.code == "credential_writable_by_others" and e.value.exit_code == 5
    assert "0666" in e.value.message
    assert stat.S_IMODE(path.stat().st_mode) == 0o666, "left as it was"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make another user's files")
def test_another_users_record_is_refused_and_their_directory_is_not_written(tmp_path: Path) -> None:
    c = client(tmp_path / "mine")
    c.login("token", token="pat-0123456789")
    path = record(tmp_path / "mine")
    os.chown(path, NOBODY, NOBODY)
    with pytest.raises(termauth.StorageError) as e:
        c.get_token()
    assert e.value.code == "credential_not_owned" and e.value.exit_code == 5

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, NOBODY, NOBODY)
    link = tmp_path / "link"
    link.symlink_to(theirs)
    with pytest.raises(termauth.StorageError) as e:
        client(link).login("token", token="pat-0123456789")
    assert "belongs to another user" in e.value.message
    assert list(theirs.iterdir()) == []
