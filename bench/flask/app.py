"""Flask-Login 0.6.3 with the same routes as bench-server (see BENCHMARKS.md).

POST /login logs user 42 in (?remember=1 with remember-me); GET /protected is
@login_required and answers the user's id, 42, or 401 without a login (no login view).
Flask's own signed-cookie session; session protection "basic" (Flask-Login's default).
"""

import secrets

from flask import Flask, request
from flask_login import LoginManager, UserMixin, login_required, login_user, current_user

app = Flask(__name__)
app.secret_key = secrets.token_hex(32)
# Plain HTTP on 127.0.0.1, as bench-server runs.
app.config["SESSION_COOKIE_SECURE"] = False

login_manager = LoginManager(app)


class User(UserMixin):
    def __init__(self, user_id):
        self.id = user_id


@login_manager.user_loader
def load_user(user_id):
    return User(user_id) if user_id == "42" else None


@app.post("/login")
def login():
    login_user(User("42"), remember=request.args.get("remember") == "1")
    return "logged in"


@app.get("/protected")
@login_required
def protected():
    return current_user.id
