#!/usr/bin/python3
"""The app of the dev-env example: an HTTP service that uses both postgres
and redis (Python's standard library, Debian's python3-psycopg2 and
python3-redis).

    GET /         counts this visit in both, answers
                  {"redis_hits": N, "postgres_visits": M}
    GET /healthz  "ok" when postgres and redis answer (counts nothing)

Configuration from the environment: POSTGRES_HOST (postgres),
POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB (the postgres service's
env file), REDIS_HOST (redis), PORT (8080).
"""
import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import psycopg2.errors
import redis

PG = dict(host=os.environ.get("POSTGRES_HOST", "postgres"),
          user=os.environ.get("POSTGRES_USER", "postgres"),
          password=os.environ.get("POSTGRES_PASSWORD", ""),
          dbname=os.environ.get("POSTGRES_DB") or os.environ.get("POSTGRES_USER", "postgres"),
          connect_timeout=5)
REDIS = redis.Redis(host=os.environ.get("REDIS_HOST", "redis"), port=6379,
                    socket_timeout=5, socket_connect_timeout=5)
PORT = int(os.environ.get("PORT", "8080"))

SCHEMA = """CREATE TABLE IF NOT EXISTS visits (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    client text)"""

_local = threading.local()


def db():
    """This thread's connection to postgres, made again when it broke."""
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = _local.conn = psycopg2.connect(**PG)
        make_schema(conn)
    return conn


def make_schema(conn):
    """The table, made the first time (a new volume has none)."""
    try:
        with conn, conn.cursor() as cur:
            cur.execute(SCHEMA)
    except psycopg2.IntegrityError:
        pass  # another connection made it at the same moment


def count_visit(client):
    """Insert a row and count them, in one transaction."""
    for attempt in range(3):
        conn = db()
        try:
            with conn, conn.cursor() as cur:
                cur.execute("INSERT INTO visits (client) VALUES (%s)", (client,))
                cur.execute("SELECT count(*) FROM visits")
                return cur.fetchone()[0]
        except psycopg2.errors.UndefinedTable:
            make_schema(conn)  # someone dropped it meanwhile
        except psycopg2.OperationalError:
            # postgres went away (restarted): try again on a new connection
            conn.close()
            if attempt == 2:
                raise
    raise RuntimeError("could not count the visit")


class Handler(BaseHTTPRequestHandler):
    server_version = "dev-env-app/1"

    def answer(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        try:
            if self.path == "/":
                hits = REDIS.incr("hits")
                visits = count_visit(self.client_address[0])
                self.answer(200, json.dumps({"redis_hits": hits, "postgres_visits": visits}) + "\n")
            elif self.path == "/healthz":
                REDIS.ping()
                with db() as conn, conn.cursor() as cur:
                    cur.execute("SELECT 1")
                self.answer(200, "ok\n", "text/plain")
            else:
                self.answer(404, json.dumps({"error": "not found"}) + "\n")
        except Exception as e:  # noqa: BLE001 - the client gets the reason
            self.log_error("%s: %s", type(e).__name__, e)
            self.answer(503, json.dumps({"error": "%s: %s" % (type(e).__name__, e)}) + "\n")

    def log_message(self, fmt, *args):
        # one line per request on stdout, which `stack logs` shows
        if self.path != "/healthz":
            sys.stdout.write("%s %s\n" % (self.address_string(), fmt % args))
            sys.stdout.flush()


def main():
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.daemon_threads = True
    # PID 1 gets no default action for SIGTERM: stop on it, as `stack down` asks
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("app: listening on :%d (postgres at %s, redis at %s)"
          % (PORT, PG["host"], REDIS.connection_pool.connection_kwargs["host"]), flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
