"""Exit 0 when the PostgreSQL server in the URL answers within three seconds, 1 otherwise."""

import sys

import psycopg


def main() -> int:
    try:
        psycopg.connect(sys.argv[1], connect_timeout=3).close()
    except psycopg.Error:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
