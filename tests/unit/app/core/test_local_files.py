"""``.stackchain/`` is the user's alone (0700, files 0600), and a ``.env`` others can read is
pointed out."""

import stat
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from app.core.local_files import env_file_warning, secure_state_dir

MODES = st.integers(min_value=0, max_value=0o777)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_missing_state_directory_is_created_private(tmp_path: Path) -> None:
    """A new .stackchain/ is 0700, with nothing to report."""
    state = tmp_path / ".stackchain"
    assert secure_state_dir(state) == []
    assert mode(state) == 0o700


def test_a_loose_state_directory_and_its_files_are_tightened_and_reported(tmp_path: Path) -> None:
    """An existing 0755 directory and 0644 files (nested too) become 0700 and 0600; each change
    is reported, and a file that was already private is left out of the report."""
    state = tmp_path / ".stackchain"
    (state / "nested").mkdir(parents=True)
    for name, loose in (("temporal.db", 0o644), ("temporal.log", 0o640), ("nested/x", 0o604)):
        (state / name).write_text("history")
        (state / name).chmod(loose)
    (state / "private").write_text("")
    (state / "private").chmod(0o600)
    state.chmod(0o755)
    (state / "nested").chmod(0o750)

    changes = secure_state_dir(state)

    assert mode(state) == 0o700
    assert mode(state / "nested") == 0o700
    assert {mode(state / n) for n in ("temporal.db", "temporal.log", "nested/x")} == {0o600}
    assert mode(state / "private") == 0o600
    assert len(changes) == 5
    assert f"{state / 'temporal.db'} was 0644, now 0600" in changes
    assert not any("private" in change for change in changes)


@given(directory=MODES | st.just(0o700), files=st.lists(MODES, max_size=4))
def test_after_securing_no_one_else_has_any_right(directory: int, files: list[int]) -> None:
    """Whatever the modes were, group and others keep no right on the directory or any file,
    the owner keeps what they had on files, and every change is reported once."""
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder) / ".stackchain"
        state.mkdir()
        for number, file_mode in enumerate(files):
            (state / f"f{number}").touch()
            (state / f"f{number}").chmod(file_mode)
        state.chmod(directory | 0o700)  # the owner can still list it, as when it was made

        changes = secure_state_dir(state)

        assert mode(state) == 0o700
        for number, file_mode in enumerate(files):
            assert mode(state / f"f{number}") == file_mode & 0o700
        loose = [directory & 0o077, *(file_mode & 0o077 for file_mode in files)]
        assert len(changes) == sum(1 for bits in loose if bits)


def test_no_env_file_is_no_warning(tmp_path: Path) -> None:
    """Without a .env there is nothing to say."""
    assert env_file_warning(tmp_path / ".env") is None


@given(MODES)
def test_an_env_file_warns_exactly_when_others_can_read_it(file_mode: int) -> None:
    """Readable by the group or by others: a warning naming the file, its mode and the fix;
    otherwise none."""
    with tempfile.TemporaryDirectory() as folder:
        env = Path(folder) / ".env"
        env.write_text("STACKCHAIN_API_TOKEN=secret\n")
        env.chmod(file_mode)
        warning = env_file_warning(env)
    if file_mode & 0o044:
        assert warning is not None
        assert f"mode {file_mode:04o}" in warning
        assert f"chmod 600 {env}" in warning
    else:
        assert warning is None
