"""The Mastodon-shaped client API, a module per resource; server/app.py mounts their routes."""
