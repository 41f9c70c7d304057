"""The web app (its shell, static files and templates) and the plain HTML pages of profiles and posts."""
