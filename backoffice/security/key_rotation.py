"""Key rotation: the new key is saved as active before anything is re-encrypted, so a
rotation cut short leaves every value readable, and running it again finishes the job."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlmodel import Session

from backoffice.models_registry import ENCRYPTED_COLUMNS
from backoffice.security.crypto import FieldCipher, load_keyring, save_keyring


@dataclass
class RotationResult:
    new_key_id: str
    reencrypted: int


def rotate(session: Session, *, key_file: Path, batch: int = 500) -> RotationResult:
    ring = load_keyring(key_file, create=True)
    new_id = ring.add_key()
    save_keyring(key_file, ring)
    cipher = FieldCipher(ring)
    count = 0
    for column, context in ENCRYPTED_COLUMNS:
        table = column.table
        pk = next(iter(table.primary_key.columns))
        rows = session.execute(select(pk, column).where(column.is_not(None))).all()
        for key, stored in rows:
            if FieldCipher.key_id_of(stored) == new_id:
                continue
            fresh = cipher.encrypt(cipher.decrypt(stored, context=context), context=context)
            session.execute(update(table).where(pk == key).values({column.name: fresh}))
            count += 1
            if count % batch == 0:
                session.flush()
    session.flush()
    return RotationResult(new_key_id=new_id, reencrypted=count)


def usage(session: Session, *, key_file: Path) -> dict[str, tuple[bool, int]]:
    """Each key in the ring: whether it is active, and how many stored values use it."""
    ring = load_keyring(key_file)
    counts: Counter[str] = Counter()
    for column, _ in ENCRYPTED_COLUMNS:
        for (stored,) in session.execute(select(column).where(column.is_not(None))):
            counts[FieldCipher.key_id_of(stored)] += 1
    return {kid: (kid == ring.active_id, counts[kid]) for kid in ring.keys}
