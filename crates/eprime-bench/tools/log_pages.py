#!/usr/bin/env python3
"""How many pages an activity update adds to SQLite's log, and whose pages they are.

Counted, not timed, so two schemas compare exactly on any machine. It makes updates as the server's
`PATCH /api/v1/activities/{id}` does (a savepoint per write; the row's location, version and time; a
change-log entry with the whole record before and after), `GROUP` writes per transaction, with SQLite's
automatic checkpoint off, then reads the log's frames back by page number and names each page's table or
index through `dbstat`.

    cp target/bench-results/cache/eprime-M-g4.db /dev/shm/scratch.db     # a scratch copy: it is changed
    python3 crates/eprime-bench/tools/log_pages.py /dev/shm/scratch.db as-is 2

VARIANT changes the schema first, to see what a change would save: `as-is`, `no-updated-index` (without
`activities_by_updated`), `no-version-in-index` (the partnership index without `version`), `diff-log`
(change-log entries holding only the changed fields). Needs Python's `sqlite3` with `dbstat` (Debian's has it).
"""
import collections
import datetime
import json
import os
import random
import sqlite3
import struct
import sys

PAGE, FRAME_HEADER, WAL_HEADER = 4096, 24, 32


def now():
    """The server's timestamp format (nanoseconds, UTC); later than every generated time."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


VARIANTS = ("as-is", "no-updated-index", "no-version-in-index", "diff-log")


def change_schema(con, variant):
    if variant == "no-updated-index":
        con.execute("DROP INDEX IF EXISTS activities_by_updated")
    elif variant == "no-version-in-index":
        con.execute("DROP INDEX IF EXISTS activities_by_partnership")
        con.execute("CREATE INDEX activities_by_partnership ON activities (partnership, "
                    "(coalesce(starts_on, '0000-00-00') || '|' || id), status, kind, starts_on, ends_on, marking, id)")


def update(con, id, n, variant):
    """One write as the server makes it, in its own savepoint."""
    con.execute("SAVEPOINT w")
    cols = ["id", "partnership", "title", "description", "kind", "starts_on", "ends_on", "location", "lead",
            "status", "status_reason", "outcome", "marking", "version", "created_at", "updated_at"]
    row = con.execute(f"SELECT {', '.join(cols)} FROM activities WHERE id = ?", (id,)).fetchone()
    before = dict(zip(cols, row))
    for field, table, column in [("participants", "activity_participants", "org"),
                                 ("supports", "activity_elements", "element"), ("areas", "activity_areas", "area")]:
        before[field] = [r[0] for r in con.execute(f"SELECT {column} FROM {table} WHERE activity = ?", (id,))]
    before.update(source=None, offering=None, releasable_to=[])
    after = dict(before, location=f"Benchmark room {n}", version=before["version"] + 1, updated_at=now())
    con.execute("UPDATE activities SET location = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?",
                (after["location"], after["version"], after["updated_at"], id, before["version"]))
    if variant == "diff-log":
        changed = ["location", "version", "updated_at"]
        before, after = {k: before[k] for k in changed}, {k: after[k] for k in changed}
    con.execute("INSERT INTO change_log (at, actor, entity, entity_id, partner, operation, before, after) "
                "VALUES (?, 'nato.staff', 'activity', ?, ?, 'update', ?, ?)",
                (after["updated_at"], id, row[1], json.dumps(before), json.dumps(after)))
    con.execute("RELEASE w")


def frames_of(wal):
    """The page number of each frame in the log file, in order."""
    pages = []
    with open(wal, "rb") as f:
        f.seek(WAL_HEADER)
        while len(header := f.read(FRAME_HEADER)) == FRAME_HEADER:
            pages.append(struct.unpack(">I", header[:4])[0])
            f.seek(PAGE, 1)
    return pages


def main(db, variant, group, updates=3000):
    # An existing file only: connecting would otherwise create an empty database where a path was mistyped.
    con = sqlite3.connect(f"file:{db}?mode=rw", uri=True, isolation_level=None)
    tables = {name for (name,) in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    if not {"activities", "change_log"} <= tables:
        sys.exit(f"log_pages.py: {db} is not an e-PRIME database (no activities or change_log table); nothing changed")
    for pragma in ["journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=0", "temp_store=memory",
                   "cache_size=-8192"]:
        con.execute(f"PRAGMA {pragma}")
    change_schema(con, variant)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    random.seed(7)
    ids = [r[0] for r in con.execute("SELECT id FROM activities")]
    if not ids:
        sys.exit(f"log_pages.py: {db} has no activities to update; nothing counted")
    if len(ids) < updates:
        print(f"only {len(ids)} activities (fewer than {updates}): each is updated once", file=sys.stderr)
    chosen = random.sample(ids, min(updates, len(ids)))
    updates = len(chosen)
    for i in range(0, updates, group):
        con.execute("BEGIN IMMEDIATE")
        for n, id in enumerate(chosen[i:i + group], start=i):
            update(con, id, n, variant)
        con.execute("COMMIT")
    frames = frames_of(db + "-wal")
    names = dict((page, name) for name, page in con.execute("SELECT name, pageno FROM dbstat"))
    # What a checkpoint every 250 pages of log (the server's setting) copies: the distinct pages of each run.
    windows = [len(set(frames[k:k + 250])) for k in range(0, len(frames) - 249, 250)]
    print(f"{variant}, groups of {group}: {len(frames) / updates:.2f} log pages per update; a checkpoint every "
          f"250 copies {sum(windows) / max(len(windows), 1):.1f} distinct pages")
    for name, count in collections.Counter(names.get(p, "?") for p in frames).most_common():
        print(f"  {name:32} {count / updates:5.2f}")
    con.close()


def arguments(argv):
    """DB, VARIANT and GROUP from the command line, or a message saying which one is wrong."""
    if len(argv) != 4:
        sys.exit(__doc__)
    db, variant, group = argv[1:]
    if not os.path.isfile(db):
        sys.exit(f"log_pages.py: DB: no database file at {db}")
    if variant not in VARIANTS:
        sys.exit(f"log_pages.py: VARIANT: {variant!r} is not one of {', '.join(VARIANTS)}")
    if not group.isdigit() or int(group) < 1:
        sys.exit(f"log_pages.py: GROUP: {group!r} is not a whole number of writes per transaction (1 or more)")
    return db, variant, int(group)


if __name__ == "__main__":
    db, variant, group = arguments(sys.argv)
    try:
        main(db, variant, group)
    except sqlite3.Error as error:
        sys.exit(f"log_pages.py: {db}: {error} (is it a database the harness generated, and a copy?)")
