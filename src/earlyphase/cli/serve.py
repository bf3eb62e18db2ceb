"""CLI command: earlyphase serve (the web application)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    db: str = typer.Option(..., "--db", envvar="EARLYPHASE_DB",
                           help="Database: a SQLite file path or a postgresql+psycopg:// URL (or set EARLYPHASE_DB)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Server processes (sessions live in the database, so any number share it)."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies",
                                        help="Mark cookies Secure (behind HTTPS, which a real deployment needs)."),
) -> None:
    """Serve the web application: log in, see the subjects of your sites."""
    import os

    from earlyphase.errors import ConfigurationError
    from earlyphase.records import make_engine, migrate

    try:
        import uvicorn  # noqa: F401
        import fastapi  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(f"the web application needs the 'web' extra ({exc.name} is missing): "
                                 "pip install 'earlyphase[web]'") from None
    engine = make_engine(db, must_exist=True)
    try:
        migrate(engine)  # a database from before accounts existed gets their tables
    finally:
        engine.dispose()
    os.environ["EARLYPHASE_DB"] = db
    if secure_cookies:
        os.environ["EARLYPHASE_SECURE_COOKIES"] = "1"
    typer.echo(f"earlyphase web application on http://{host}:{port}/ ({workers} worker(s)); Ctrl-C stops it.")
    uvicorn.run("earlyphase.web.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning")
