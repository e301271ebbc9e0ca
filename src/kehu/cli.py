"""The `kehu` command: Django's management commands with kehu's settings (`kehu demo`, `kehu audit verify`…)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:] == ["keys", "generate"]:
        # Before settings load: a first production install has no keys yet, and settings refuse to start without.
        from kehu.core.crypto import key_generate

        print(key_generate())
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kehu.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kehu", *sys.argv[1:]])


if __name__ == "__main__":
    main()
