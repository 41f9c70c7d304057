"""The connection and row types the server store's modules share."""

from __future__ import annotations

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool
Record = asyncpg.Record
