"""HTML pages for people who open a profile or post link in a browser.

Plain server-rendered pages that work without JavaScript, for crawlers and link previews: every
ActivityPub id and `url` we publish answers something readable, with a link into the web app
(`/app/...`, server/web/webapp.py) for the same profile or post.
"""

from __future__ import annotations

from html import escape

import asyncpg
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from federation import actors
from federation import store as fstore
from federation.objects import media_url, poster_url

from .. import store
from ..http import ActivityResponse, fed, pool, read_pool, wants_activity_json

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>{head}
<style>
body{{font-family:system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:1rem;background:#111;color:#eee}}
a{{color:#8cf}} .open-app{{float:right}} video{{width:100%;max-height:80vh;background:#000;border-radius:8px}}
.post{{border-bottom:1px solid #333;padding:1rem 0}} .ai{{font-size:.8rem;background:#333;
padding:.1rem .4rem;border-radius:4px}}
</style></head><body>{nav}<main>{body}</main></body></html>"""


def page(title: str, body: str, head: str = "", status: int = 200, app_path: str | None = None
         ) -> HTMLResponse:
    """A plain page; `app_path` links to the same thing in the web app."""
    nav = f'<nav><a class="open-app" href="{escape(app_path)}">Open in the app</a></nav>' \
        if app_path else ""
    return HTMLResponse(PAGE.format(title=escape(title), body=body, head=head, nav=nav),
                        status_code=status)


def _post_html(request: Request, post: asyncpg.Record, author: asyncpg.Record,
               media: list[asyncpg.Record]) -> str:
    parts = [f'<article class="post"><p><a href="/@{escape(author["username"])}">'
             f'@{escape(author["username"])}</a> · <a href="{escape(post["url"] or post["uri"])}">'
             f'{post["published_at"]:%Y-%m-%d %H:%M}</a></p>']
    for item in media:
        url = escape(media_url(fed(request), item))
        poster = poster_url(fed(request), item)
        if item["kind"] == "video":
            poster_attr = f' poster="{escape(poster)}"' if poster else ""
            label = escape(item["description"] or "video")
            parts.append(f'<video controls loop muted playsinline preload="metadata"{poster_attr}'
                         f' src="{url}" aria-label="{label}"></video>')
        else:
            parts.append(f'<img src="{url}" alt="{escape(item["description"])}" width="100%">')
    if post["ai_generated"]:
        parts.append('<p><span class="ai">AI-generated</span></p>')
    parts.append(post["content"])  # sanitised when stored
    parts.append("</article>")
    return "".join(parts)


async def profile(request: Request) -> Response:
    actor = await fstore.local_actor(pool(request), request.path_params["username"])
    if actor is None:
        return page("Not found", "<h1>No such account</h1>", status=404)
    if wants_activity_json(request):
        return ActivityResponse(await actors.actor_document(fed(request), actor))
    # The account from the primary (a suspension shows at once), its public posts from the replica.
    rows = await store.account_posts(read_pool(request), actor["id"], None, limit=20)
    media = await store.media_of_posts(read_pool(request), [r["id"] for r in rows])
    body = [f"<h1>{escape(actor['display_name'] or actor['username'])}</h1>",
            f"<p>@{escape(actor['username'])}@{escape(fed(request).domain)}</p>", actor["summary"]]
    body += [_post_html(request, r, actor, media.get(r["id"], [])) for r in rows
             if not r["reblog_of_id"]]
    head = f'<link rel="alternate" type="application/activity+json" href="{escape(actor["uri"])}">'
    return page(actor["display_name"] or actor["username"], "".join(body), head,
                app_path=f"/app/@{actor['username']}")


async def post_page(request: Request) -> Response:
    actor = await fstore.local_actor(pool(request), request.path_params["username"])
    post = await store.visible_post(pool(request), request.path_params["post_id"], None) \
        if actor else None
    if post is None or post["actor_id"] != actor["id"]:
        deleted = actor and await fstore.post_by_id(pool(request), request.path_params["post_id"])
        status = 410 if deleted and deleted["deleted_at"] else 404
        return page("Not found", "<h1>This post is not here</h1>", status=status)
    if wants_activity_json(request):
        return RedirectResponse(post["uri"], status_code=303)
    media = await fstore.post_media(pool(request), post["id"])
    head = f'<link rel="alternate" type="application/activity+json" href="{escape(post["uri"])}">'
    return page(f"@{actor['username']}", _post_html(request, post, actor, media), head,
                app_path=f"/app/@{actor['username']}/{post['id']}")


async def home(request: Request) -> Response:
    instance = request.app.state.instance
    rows = await store.public_timeline(read_pool(request), None, local_only=True, limit=20)
    authors = await store.actors_by_ids(read_pool(request), list({r["actor_id"] for r in rows}))
    media = await store.media_of_posts(read_pool(request), [r["id"] for r in rows])
    body = [f"<h1>{escape(instance.settings.instance_name)}</h1>",
            "<p>Short AI-generated videos, made with consent.</p>"]
    body += [_post_html(request, r, authors[r["actor_id"]], media.get(r["id"], [])) for r in rows]
    return page(instance.settings.instance_name, "".join(body), app_path="/app")


routes = [
    Route("/", home),
    Route("/about", home),
    Route("/@{username}", profile),
    Route("/@{username}/{post_id:id}", post_page),
]
