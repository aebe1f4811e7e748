"""The files stackchain keeps on the machine: ``.stackchain/`` private, ``.env`` checked.

``.stackchain/`` (the embedded Temporal's database and log, which hold every chain's history) is
made 0700 and its files 0600; ``.env`` holds secrets, so one that other users can read earns a
warning. Both are resolved against the working directory, like the settings.
"""

import stat
from pathlib import Path

STATE_DIR = Path(".stackchain")
ENV_FILE = Path(".env")
PRIVATE_UMASK = 0o077
"""The umask under which new files are the owner's alone (0600, directories 0700)."""

_OTHERS = 0o077
_OTHERS_READ = 0o044


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def secure_state_dir(path: Path = STATE_DIR) -> list[str]:
    """Create ``path`` 0700, or take group and others' rights off it and everything in it.

    Returns one line per thing it tightened, for a warning: a looser mode means someone else may
    have read it already. Symbolic links are left alone (their own mode means nothing).
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    tightened = []
    for item in (path, *sorted(path.rglob("*"))):
        if item.is_symlink():
            continue
        mode = _mode(item)
        private = 0o700 if item.is_dir() else mode & 0o700
        if mode & _OTHERS:
            item.chmod(private)
            tightened.append(f"{item} was {mode:04o}, now {private:04o}")
    return tightened


def env_file_warning(path: Path = ENV_FILE) -> str | None:
    """A warning when ``path`` exists and users other than its owner may read it."""
    try:
        mode = _mode(path)
    except FileNotFoundError:
        return None
    if not mode & _OTHERS_READ:
        return None
    return (
        f"{path} is readable by other users (mode {mode:04o}) and may hold secrets: "
        f"run `chmod 600 {path}`"
    )
