"""``perfeval serve``: the web UI for production (waitress), scheduler optional.

Production layouts run the scheduler as its own process (``perfeval scheduler``);
``--with-scheduler`` runs it in this process for a small installation with one web
process. Behind gunicorn instead: ``gunicorn -w 4 'web.app:create_app()'``.
See docs/deployment.md.
"""

from __future__ import annotations

import logging

import click

log = logging.getLogger(__name__)


def _start_scheduler(db):
    """The in-process scheduler (``engine.scheduler``), when available."""
    try:
        from engine.scheduler import start_background
    except ImportError:
        log.warning("engine.scheduler is not available: no in-process scheduler")
        return None
    try:
        from notifications import dispatch
    except ImportError:  # pragma: no cover
        dispatch = None
    scheduler, ticker = start_background(db, interval=30, dispatch=dispatch)
    return scheduler, ticker


def serve_app(app, db, *, host: str, port: int, with_scheduler: bool = False,
              threads: int = 8) -> None:
    """Serve ``app`` until interrupted (waitress if installed, else Werkzeug's server)."""
    running = _start_scheduler(db) if with_scheduler else None
    try:
        try:
            from waitress import serve
        except ImportError:
            from werkzeug.serving import run_simple

            log.warning("waitress is not installed: using Werkzeug's development server")
            run_simple(host, port, app, threaded=True)
        else:
            serve(app, host=host, port=port, threads=threads)
    except KeyboardInterrupt:
        pass
    finally:
        if running is not None:
            scheduler, ticker = running
            ticker.stop.set()
            scheduler.shutdown(wait=True)
            ticker.beat(stopped=True)


def register(main: click.Group) -> None:
    """Attach ``serve`` to ``main``."""

    @main.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=8000, show_default=True, type=int)
    @click.option("--threads", default=8, show_default=True, type=int)
    @click.option("--with-scheduler", is_flag=True,
                  help="Also run the timer sweep in this process (one web process only).")
    @click.option("--db", "db_url", envvar="PERFEVAL_DATABASE_URL", default=None,
                  help="Database URL (default: PERFEVAL_DATABASE_URL, else a SQLite file "
                       "in ./instance).")
    def serve(host, port, threads, with_scheduler, db_url):
        """Serve the web UI (other settings from PERFEVAL_* environment variables)."""
        from ..app import create_app

        app = create_app({"DATABASE_URL": db_url} if db_url else None)
        serve_app(app, app.extensions["perfeval.db"], host=host, port=port,
                  with_scheduler=with_scheduler, threads=threads)
