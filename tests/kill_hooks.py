"""Run `mhqa` so that an index run stops at one chosen moment, for the kill test in test_maintain.py.

    python tests/kill_hooks.py MOMENT MARKER index --corpus C --index I

When the run reaches MOMENT it writes MARKER (JSON: the moment, its pid and what it had
just done) and waits there until the test kills it, so every kill lands exactly mid-write.
mhqa itself is not changed: its functions are wrapped from outside before the CLI starts.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

MOMENTS = (
    "writer lock taken",  # before the plan: nothing new written yet
    "next generation created",  # an empty generation beside the current one
    "vectors being written",  # the first batch of records is in, the rest are not
    "BM25 arrays written",  # every vector and the lexical arrays written, no manifest yet
    "manifest written",  # the generation is complete but not published
    "pointer being replaced",  # the new pointer is on disk under its scratch name, not yet renamed
)


def pause(marker: Path, moment: str, **detail) -> None:
    scratch = marker.with_name(marker.name + ".partial")
    scratch.write_text(json.dumps({"moment": moment, "pid": os.getpid(), **detail}))
    os.replace(scratch, marker)
    while True:  # until SIGKILL
        time.sleep(60)


def install(moment: str, marker: Path) -> None:
    from mhqa import indexer, store

    if moment == "writer lock taken":

        def plan_index(settings, index=None):
            pause(marker, moment)

        indexer.plan_index = plan_index
    elif moment == "next generation created":
        create_generation = store.Index.create_generation

        def created(self, model_meta, copy_of=None):
            generation = create_generation(self, model_meta, copy_of)
            generation.collection("chunks")  # Chroma has opened (created) the collections
            pause(marker, moment, generation=generation.name)

        store.Index.create_generation = created
    elif moment == "vectors being written":
        add = store.Generation.add

        def added(self, which, records):
            add(self, which, records)
            pause(marker, moment, generation=self.name, collection=which, records=len(records))

        store.Generation.add = added
    elif moment == "BM25 arrays written":
        lexical_index = indexer.lexical_index

        def written(generation):
            lexical_index(generation)
            pause(marker, moment, generation=generation.name)

        indexer.lexical_index = written
    elif moment == "manifest written":
        write_manifest = store.EmbeddedBackend.write_manifest

        def manifest_written(self, name, manifest):
            write_manifest(self, name, manifest)
            pause(marker, moment, generation=name)

        store.EmbeddedBackend.write_manifest = manifest_written
    elif moment == "pointer being replaced":

        class PauseBeforeRenamingThePointer:
            """store.py's `os`, except that renaming a scratch file onto CURRENT stops first."""

            def __getattr__(self, name):
                return getattr(os, name)

            def replace(self, source, target):
                if Path(target).name == "CURRENT":
                    pause(marker, moment, scratch=str(source), pointer=json.loads(Path(source).read_text()))
                os.replace(source, target)

        store.os = PauseBeforeRenamingThePointer()
    else:
        raise SystemExit(f"unknown moment {moment!r}; one of {', '.join(MOMENTS)}")


if __name__ == "__main__":
    moment, marker, *arguments = sys.argv[1:]
    install(moment, Path(marker))
    from mhqa.cli import main

    sys.argv = ["mhqa", *arguments]
    main()
