"""SQLite persistence of chats, chat messages and tool invocations.

The agent loop keeps its own three tables in the platform's database file, on its own
connection. Each row holds the record as JSON plus the columns needed to find it again; the
records are the loop's state, so a chat (and a turn waiting on a person) survives a restart.

The records are structs (``ChatRecord``, ``MessageRecord``, ``InvocationRecord`` from
``.records``); a row's JSON is the same document the dict records were, so the tables of an
older data directory load unchanged. Each save is one statement: a row holds the old record or
the new one, never a mix.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import msgspec

from .records import ChatRecord, InvocationRecord, MessageRecord

_encoder = msgspec.json.Encoder()
_chat = msgspec.json.Decoder(ChatRecord)
_message = msgspec.json.Decoder(MessageRecord)
_invocation = msgspec.json.Decoder(InvocationRecord)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS agent_chats (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_chat_messages (
    id TEXT PRIMARY KEY,
    chat_id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_chat_messages_chat ON agent_chat_messages (chat_id, ord);
CREATE TABLE IF NOT EXISTS agent_tool_invocations (
    id TEXT PRIMARY KEY,
    chat_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_tool_invocations_message ON agent_tool_invocations (message_id);
"""


class ChatStore:
    """Write-through storage of the agent loop's records (one connection, serialized)."""

    def __init__(self, db_path: Path) -> None:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the event loop thread; the lock keeps writes whole if a
        # thread-pool caller ever appears.
        self._conn = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- writes ---------------------------------------------------------------------------

    def save_chat(self, chat: ChatRecord) -> None:
        """Insert or replace a chat record."""
        self._write(
            "INSERT OR REPLACE INTO agent_chats (id, status, data) VALUES (?, ?, ?)",
            (chat.id, chat.status, _dump(chat)),
        )

    def save_message(self, message: MessageRecord) -> None:
        """Insert or replace a message record."""
        self._write(
            "INSERT OR REPLACE INTO agent_chat_messages (id, chat_id, ord, data) VALUES (?, ?, ?, ?)",
            (message.id, message.chat_id, message.order, _dump(message)),
        )

    def save_invocation(self, invocation: InvocationRecord) -> None:
        """Insert or replace a tool-invocation record."""
        self._write(
            "INSERT OR REPLACE INTO agent_tool_invocations (id, chat_id, message_id, data) "
            "VALUES (?, ?, ?, ?)",
            (invocation.id, invocation.chat_id, invocation.chat_message_id, _dump(invocation)),
        )

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.execute(sql, params)

    # -- reads ----------------------------------------------------------------------------

    def load_chat(self, chat_id: str) -> ChatRecord | None:
        """The chat record, or ``None``."""
        rows = self._read("SELECT data FROM agent_chats WHERE id = ?", (chat_id,))
        return _chat.decode(rows[0][0]) if rows else None

    def load_messages(self, chat_id: str) -> list[MessageRecord]:
        """A chat's messages, in order."""
        rows = self._read(
            "SELECT data FROM agent_chat_messages WHERE chat_id = ? ORDER BY ord", (chat_id,)
        )
        return [_message.decode(row[0]) for row in rows]

    def load_invocations(self, chat_id: str) -> list[InvocationRecord]:
        """A chat's tool invocations, in the order they were made."""
        rows = self._read(
            "SELECT data FROM agent_tool_invocations WHERE chat_id = ? ORDER BY rowid", (chat_id,)
        )
        return [_invocation.decode(row[0]) for row in rows]

    def find_invocation_chat(self, invocation_id: str) -> str | None:
        rows = self._read(
            "SELECT chat_id FROM agent_tool_invocations WHERE id = ?", (invocation_id,)
        )
        return str(rows[0][0]) if rows else None

    def chats_with_status(self, *statuses: str) -> list[str]:
        marks = ",".join("?" for _ in statuses)
        rows = self._read(f"SELECT id FROM agent_chats WHERE status IN ({marks})", statuses)
        return [str(row[0]) for row in rows]

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())


def _dump(record: msgspec.Struct) -> str:
    # Stored as TEXT, as the dict records were.
    return _encoder.encode(record).decode()
