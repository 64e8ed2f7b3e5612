"""Statements PostgreSQL plans once per connection (PREPARE) and then runs by name (EXECUTE).

A statement asked for with every request of a kind (one customer's evidence, a few customers' signals) is planned
afresh each time it is sent as text: for the evidence's six subqueries that took half of its time in PostgreSQL. A
prepared statement lives as long as its connection, which the pool keeps; the connection's `info` remembers which
are prepared (a new connection, or one the pool replaced, prepares them again). Not for a pooler in transaction
mode between the server and PostgreSQL (see docs/deployment.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection


def positional(sql: str, names: Mapping[str, str]) -> str:
    """Turn a statement's named parameters (`%(name)s`) into the $1, $2... of a prepared statement, in `names`'
    order."""
    for number, name in enumerate(names, start=1):
        sql = sql.replace(f"%({name})s", f"${number}")
    return sql


@dataclass(frozen=True)
class Statement:
    """A statement to prepare once per connection: its name, its text with named parameters (`%(name)s`), and the
    PostgreSQL type of each parameter, in order."""

    name: str
    sql: str
    types: Mapping[str, str]

    @property
    def prepare(self) -> str:
        return f"PREPARE {self.name} ({', '.join(self.types.values())}) AS {positional(self.sql, self.types)}"

    @property
    def execute(self) -> str:
        return f"EXECUTE {self.name} ({', '.join(f'%({p})s' for p in self.types)})"


def prepared_rows(
    conn: Connection, name: str, sql: str, types: Mapping[str, str], params: Mapping[str, Any]
) -> tuple[list[str], list[Any]]:
    """Run `sql` (named parameters `%(name)s`, each of the PostgreSQL type `types` gives it, in that order) as the
    connection's prepared statement `name`, preparing it first on a connection that has not; return the names of its
    columns and its rows."""
    statement = Statement(name, sql, types)
    if name not in conn.connection.info:
        conn.exec_driver_sql(statement.prepare)
        conn.connection.info[name] = True
    # through SQLAlchemy: a lost connection raises its error and leaves the pool, as for any other statement
    result = conn.exec_driver_sql(statement.execute, dict(params))
    return list(result.keys()), list(result.fetchall())
