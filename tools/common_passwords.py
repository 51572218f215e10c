"""Write coordinator/accounts/common_passwords.txt: the most common leaked passwords, from zxcvbn's own data.

    .venv/bin/python -m tools.common_passwords [COUNT]

zxcvbn (pinned in requirements.txt) ships a frequency-ranked list of leaked passwords; its first COUNT entries
(10,000 by default), lower-cased, one per line, in rank order, become the list the password policy refuses
(coordinator/accounts/passwords.py). Nothing is downloaded: the list is rebuilt from the installed package.
"""

from __future__ import annotations

import sys
from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

TARGET = Path(__file__).resolve().parent.parent / "coordinator" / "accounts" / "common_passwords.txt"
HEADER = "# The 10,000 most common leaked passwords, lower-cased, by rank; written by tools/common_passwords.py."


def build(count: int = 10_000) -> list[str]:
    """The first `count` distinct passwords of zxcvbn's ranked list, lower-cased."""
    seen: dict[str, None] = {}
    for password in FREQUENCY_LISTS["passwords"]:
        seen.setdefault(password.strip().lower())
        if len(seen) == count:
            break
    return list(seen)


if __name__ == "__main__":
    words = build(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
    TARGET.write_text(HEADER + "\n" + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} passwords written to {TARGET}")
