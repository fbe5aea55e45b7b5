"""``scriba serve``: a REST API and a live page that reads as you write (FastAPI on uvicorn; ``scriba[serve]``)."""

from scriba.serve.app import ServeSettings, create_app

__all__ = ["ServeSettings", "create_app"]
