"""Project config for the quickstart example (Trigger.dev's trigger.config.ts)."""

from switchyard import define_config

config = define_config(
    # SQLite file next to this config; set SWITCHYARD_DATABASE_URL=postgresql://... to share.
    database_url="sqlite:///.switchyard/quickstart.db",
    app=["tasks"],
    retry={"max_attempts": 3, "factor": 2, "min_timeout": 1, "max_timeout": 30},
    max_duration="10m",
)
