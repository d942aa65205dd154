"""mgr_db.py: read-only queries on a manager's database, SQLite (a path) or
PostgreSQL (a postgresql:// URI, through psycopg2), with SQLite's "?"
parameters in both."""
import decimal
import sqlite3


def _plain(v):
    """PostgreSQL's SUM() is numeric: the int (or float) SQLite gives."""
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def is_pg(db):
    return db.startswith(("postgresql://", "postgres://"))


class Conn:
    def __init__(self, db, timeout=10):
        self.pg = is_pg(db)
        if self.pg:
            import psycopg2
            self.c = psycopg2.connect(db, connect_timeout=timeout)
            self.c.set_session(readonly=True, autocommit=True)
        else:
            self.c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=timeout)

    def rows(self, sql, args=()):
        if not self.pg:
            return self.c.execute(sql, args).fetchall()
        with self.c.cursor() as cur:
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(args))
            if not cur.description:
                return []
            return [tuple(_plain(v) for v in r) for r in cur.fetchall()]

    def close(self):
        self.c.close()


def query(db, sql, *args, timeout=10):
    c = Conn(db, timeout)
    try:
        return c.rows(sql, args)
    finally:
        c.close()
