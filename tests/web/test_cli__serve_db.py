"""``perfeval serve --db URL`` (or PERFEVAL_DATABASE_URL) serves that database, like every
other command's ``--db``."""

from __future__ import annotations

from click.testing import CliRunner

from web.cli import main
from web.commands import serve


def served_url(monkeypatch, *args, env=None) -> str:
    seen = {}

    def fake_serve(app, db, **kwargs):
        seen["url"] = str(db.engine.url)

    monkeypatch.setattr(serve, "serve_app", fake_serve)
    result = CliRunner().invoke(main, ["serve", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return seen["url"]


def test_serve_takes_db_and_the_environment_variable(monkeypatch, tmp_path):
    option = f"sqlite:///{tmp_path / 'a.db'}"
    assert served_url(monkeypatch, "--db", option).endswith("a.db")
    variable = f"sqlite:///{tmp_path / 'b.db'}"
    assert served_url(monkeypatch, env={"PERFEVAL_DATABASE_URL": variable}).endswith("b.db")
