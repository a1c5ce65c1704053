"""The admin web app (designers, pack manager, users and roles). Arrives with issue 6."""
