"""Signed checkpoints of every case's hash-chain head.

The hash chain (engine.cases.eventlog) proves that no event was edited, deleted, inserted or
reordered -- unless whoever changed the history also recomputed every hash and the head
on the case row. A checkpoint closes that gap: it lists, for every case, how many events
its log had and the hash of the last one, folds the list into one Merkle root, and signs
that with an Ed25519 key kept OUTSIDE the database (a file in the instance folder by
default). A rewritten history, however carefully recomputed, no longer reaches the head
recorded in an earlier checkpoint, and the checkpoint cannot be re-signed without the
key. Checkpoints are also recorded in the database (table audit_checkpoint) so the
auditor's desk can list them; the file the CLI writes is the copy to keep elsewhere.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.cases import eventlog as audit, canonical
from engine.errors import NotFound
from engine.settings import AUDIT_KEY_ENV
from engine.store.models import CaseEvent, CaseRecord
from engine.store.models_audit import AuditCheckpoint

FORMAT = "onething-checkpoint-1"
KEY_FILE_NAME = "audit-signing-key.pem"      # in the instance folder
KEY_ENV = AUDIT_KEY_ENV  # overrides the key path (engine.settings)

# Per-case verdicts of `verify` (CaseCheck.status).
OK = "ok"
HEAD_MISMATCH = "head_mismatch"      # the event at the checkpointed position is not the one signed
EVENTS_MISSING = "events_missing"    # the log is now shorter than when it was signed
CASE_MISSING = "case_missing"        # the case itself is gone
CHAIN_BROKEN = "chain_broken"        # the case's own hash chain does not verify now


@dataclass(frozen=True)
class CaseHead:
    """One case as signed: its id, number, event count and the hash of its last event
    (None for a case with no events)."""

    case_id: int
    case_number: str
    events: int
    head_hash: str | None


@dataclass
class Checkpoint:
    """A signed list of chain heads.

    - created_at: when it was taken (engine clock);
    - cases: CaseHead per case, in case id order;
    - merkle_root: hex SHA-256 Merkle root over the cases (RFC 6962 style leaves);
    - key_id: first 16 hex chars of SHA-256 of the raw public key;
    - public_key: base64 of the raw 32-byte Ed25519 public key that signed it (for
      information: verify against a public key you trust, not this one);
    - signature: base64 Ed25519 signature over `signed_message()`;
    - id: the audit_checkpoint row id once recorded, else None.
    """

    created_at: datetime
    cases: list[CaseHead]
    merkle_root: str
    key_id: str
    public_key: str
    signature: str
    id: int | None = None

    @property
    def event_count(self) -> int:
        return sum(c.events for c in self.cases)

    def signed_message(self) -> bytes:
        """The bytes that are signed: canonical JSON of format, created_at, case count,
        event count, merkle root and key id."""
        return canonical.dumps({
            "format": FORMAT, "created_at": self.created_at.isoformat(),
            "cases": len(self.cases), "events": self.event_count,
            "merkle_root": self.merkle_root, "key_id": self.key_id}).encode("utf-8")

    def to_json(self) -> str:
        """The checkpoint as a JSON document (format FORMAT), what `audit checkpoint
        --out` writes and `from_json` reads."""
        return json.dumps({
            "format": FORMAT, "created_at": self.created_at.isoformat(),
            "case_count": len(self.cases), "event_count": self.event_count,
            "merkle_root": self.merkle_root, "key_id": self.key_id,
            "public_key": self.public_key, "signature": self.signature,
            "cases": [{"case_id": c.case_id, "number": c.case_number, "events": c.events,
                       "head": c.head_hash} for c in self.cases],
        }, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> "Checkpoint":
        """Parse a checkpoint document; raises ValueError (Chinese message) when it is
        not one."""
        try:
            doc = json.loads(text)
            if doc.get("format") != FORMAT:
                raise ValueError(doc.get("format"))
            created_at = datetime.fromisoformat(doc["created_at"])
            if created_at.tzinfo is None:
                raise ValueError("naive")
            cases = [CaseHead(int(c["case_id"]), str(c["number"]), int(c["events"]),
                              c["head"] if c["head"] is None else str(c["head"]))
                     for c in doc["cases"]]
            return cls(created_at, cases, str(doc["merkle_root"]), str(doc["key_id"]),
                       str(doc["public_key"]), str(doc["signature"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValueError("不是有效的审计检查点文件（格式 onething-checkpoint-1）") from None


@dataclass
class CaseCheck:
    """The verdict for one case of a checkpoint: status is OK, HEAD_MISMATCH,
    EVENTS_MISSING, CASE_MISSING or CHAIN_BROKEN; message says it in Chinese.
    `events_now` is the case's event count today (events added since the checkpoint are
    fine: only the signed prefix is compared)."""

    case_id: int
    case_number: str
    status: str
    message: str
    events_signed: int
    events_now: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass
class CheckpointReport:
    """The outcome of `verify`: signature_ok (signature valid under the given public
    key), root_ok (the listed heads hash to the signed root), and one CaseCheck per
    signed case. ok only when all three hold for every case."""

    signature_ok: bool
    root_ok: bool
    key_id: str
    created_at: datetime
    cases: list[CaseCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def broken(self) -> list[CaseCheck]:
        return [c for c in self.cases if not c.ok]

    @property
    def ok(self) -> bool:
        return self.signature_ok and self.root_ok and not self.broken and not self.problems


def default_key_path(instance: Path, configured: Path | None = None) -> Path:
    """The configured path (Settings.audit_key, $ONETHING_AUDIT_KEY) when there is one,
    else <instance>/audit-signing-key.pem."""
    return Path(configured) if configured else Path(instance) / KEY_FILE_NAME


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in `path` (PEM, PKCS#8, unencrypted); created with mode
    0600 (its folder 0700 if new) when the file does not exist. Raises ValueError with a
    Chinese message when the file is not such a key."""
    path = Path(path)
    if not path.exists():
        if not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        # O_EXCL: two processes creating the key at once cannot both win.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return key
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError, UnsupportedAlgorithm):
        raise ValueError(f"签名私钥文件 {path} 无法读取：应为未加密的 PEM 格式 Ed25519 私钥") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"签名私钥文件 {path} 不是 Ed25519 私钥")
    return key


def public_key_pem(private_key) -> str:
    """The public half of `private_key` (or a public key) as PEM (SubjectPublicKeyInfo)
    text, to give to whoever verifies checkpoints."""
    public = private_key.public_key() if hasattr(private_key, "public_key") else private_key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def load_public_key(source: str | bytes | Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a Path), PEM text, or the base64 raw key
    used in checkpoint documents (str or bytes). Raises ValueError (Chinese message) when
    it is none."""
    if isinstance(source, Ed25519PublicKey):
        return source
    data: bytes
    if isinstance(source, Path):  # only a Path is a file: pasted text never names one
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise ValueError(f"公钥文件 {source} 无法读取：{exc.strerror}") from None
    else:
        data = source.encode("utf-8", "replace") if isinstance(source, str) else source
    try:
        if b"BEGIN" in data:
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data.strip(), validate=True))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("无法读取公钥：应为 PEM 格式的 Ed25519 公钥") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("公钥不是 Ed25519 公钥")
    return key


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key) -> str:
    """First 16 hex chars of SHA-256 of the raw public key."""
    if hasattr(public_key, "private_bytes"):
        public_key = public_key.public_key()
    return hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def heads(session: Session) -> list[CaseHead]:
    """Every case's current chain head, in case id order."""
    rows = session.execute(select(CaseRecord.id, CaseRecord.number, CaseRecord.event_count,
                                  CaseRecord.head_hash).order_by(CaseRecord.id))
    return [CaseHead(r.id, r.number, r.event_count or 0, r.head_hash) for r in rows]


def _leaf(head: CaseHead) -> bytes:
    body = canonical.dumps({"case": head.case_id, "number": head.case_number,
                            "events": head.events, "head": head.head_hash})
    return hashlib.sha256(b"\x00" + body.encode("utf-8")).digest()


def merkle_root(cases: list[CaseHead]) -> str:
    """Hex Merkle root over the heads (leaf = SHA-256(0x00 || canonical JSON of the
    head), node = SHA-256(0x01 || left || right), an odd node is promoted; the root of
    no cases is SHA-256 of the empty string)."""
    level = [_leaf(c) for c in cases]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def create(session: Session, private_key: Ed25519PrivateKey, now: datetime, *,
           actor: str | None = None, record: bool = True) -> Checkpoint:
    """Sign the current heads of all cases; with `record` also store it in
    audit_checkpoint (inside the caller's transaction; the caller commits)."""
    cases = heads(session)
    public = private_key.public_key()
    checkpoint = Checkpoint(now, cases, merkle_root(cases), key_id(public),
                            base64.b64encode(_raw(public)).decode("ascii"), "")
    checkpoint.signature = base64.b64encode(
        private_key.sign(checkpoint.signed_message())).decode("ascii")
    if record:
        row = AuditCheckpoint(created_at=now, created_by=actor, case_count=len(cases),
                              event_count=checkpoint.event_count,
                              merkle_root=checkpoint.merkle_root, key_id=checkpoint.key_id,
                              document=checkpoint.to_json())
        session.add(row)
        session.flush()
        checkpoint.id = row.id
    return checkpoint


def _from_row(row: AuditCheckpoint) -> Checkpoint:
    checkpoint = Checkpoint.from_json(row.document)
    checkpoint.id = row.id
    return checkpoint


def recorded(session: Session, limit: int = 50) -> list[Checkpoint]:
    """Checkpoints stored in the database, newest first."""
    rows = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
                           .limit(limit))
    return [_from_row(r) for r in rows]


def get_recorded(session: Session, checkpoint_id: int) -> Checkpoint:
    """One stored checkpoint; raises NotFound."""
    row = session.get(AuditCheckpoint, checkpoint_id) if isinstance(checkpoint_id, int) \
        and 0 < checkpoint_id < 2 ** 31 else None
    if row is None:
        raise NotFound(f"检查点 {checkpoint_id} 不存在")
    return _from_row(row)


def verify(session: Session, checkpoint: Checkpoint, public_key=None) -> CheckpointReport:
    """Check the checkpoint's signature under `public_key` (an Ed25519 public key object,
    or anything `load_public_key` takes; None: the key embedded in the checkpoint, which
    only proves integrity, and the report says so in `problems`), its Merkle root, and
    every signed case against the database today. Raises ValueError (Chinese message)
    when `public_key` cannot be read."""
    report = CheckpointReport(False, False, checkpoint.key_id, checkpoint.created_at)
    try:
        embedded = load_public_key(checkpoint.public_key)
    except ValueError:
        embedded = None
        report.problems.append("检查点中的公钥无效")
    if public_key is None:
        key = embedded
        report.problems.append("未提供受信任的公钥：仅用检查点自带的公钥验证，"
                               "只能证明检查点本身未被改动，不能证明由谁签发")
    else:
        key = load_public_key(public_key)
        if key_id(key) != checkpoint.key_id:
            report.problems.append(f"检查点由另一把密钥（{checkpoint.key_id}）签发，"
                                   f"与提供的公钥（{key_id(key)}）不符")
    if key is not None:
        try:
            key.verify(base64.b64decode(checkpoint.signature), checkpoint.signed_message())
            report.signature_ok = True
        except (InvalidSignature, ValueError):
            report.problems.append("签名无效：检查点被改动，或不是这把密钥签发的")
    report.root_ok = merkle_root(checkpoint.cases) == checkpoint.merkle_root
    if not report.root_ok:
        report.problems.append("检查点所列的链头与签名的默克尔根不符（检查点被改动）")
    for head in checkpoint.cases:
        report.cases.append(_check_case(session, head))
    return report


def _check_case(session: Session, head: CaseHead) -> CaseCheck:
    case = session.get(CaseRecord, head.case_id)
    if case is None or case.number != head.case_number:
        return CaseCheck(head.case_id, head.case_number, CASE_MISSING,
                         f"办件 {head.case_number} 已不存在", head.events)
    now = case.event_count or 0
    if head.events == 0:
        return CaseCheck(case.id, case.number, OK, "一致", 0, now)
    signed = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                    CaseEvent.seq == head.events))
    if signed is None or now < head.events:
        return CaseCheck(case.id, case.number, EVENTS_MISSING,
                         f"签名时有 {head.events} 个事件，现在只有 {now} 个（事件被删除）",
                         head.events, now)
    if signed.hash != head.head_hash:
        return CaseCheck(case.id, case.number, HEAD_MISMATCH,
                         f"第 {head.events} 个事件的哈希与检查点不符：签名之后历史被改写"
                         "（即使哈希链已全部重算）", head.events, now)
    chain = audit.verify_case(session, case)
    if not chain.ok:
        return CaseCheck(case.id, case.number, CHAIN_BROKEN,
                         f"哈希链断裂：{chain.problems[0]}", head.events, now)
    return CaseCheck(case.id, case.number, OK, "一致" if now == head.events
                     else f"一致（签名后新增 {now - head.events} 个事件）", head.events, now)


def report_dict(report: CheckpointReport) -> dict[str, Any]:
    """JSON-ready form of a report (for the CLI's --json and the web desk)."""
    return {"ok": report.ok, "signature_ok": report.signature_ok, "root_ok": report.root_ok,
            "key_id": report.key_id, "created_at": report.created_at.isoformat(),
            "problems": list(report.problems),
            "cases": [{"case_id": c.case_id, "case_number": c.case_number, "status": c.status,
                       "message": c.message, "events_signed": c.events_signed,
                       "events_now": c.events_now} for c in report.cases]}
