"""The baseline the HTTP load benchmark compares against: a bare Flask app returning a small JSON body, served by
the same gunicorn settings as the service (`gunicorn -c gunicorn.conf.py bench.bare_app:app`)."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/<path:anything>")
def answer(anything: str):
    """Whatever was asked, a small JSON body, as an API read would answer."""
    return jsonify(id="00000000-0000-0000-0000-000000000000", reference="RJ-2026-0001", stage="preparation",
                   path=anything)
