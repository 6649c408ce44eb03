"""Django settings of the Oscar target: django-oscar with django-oscar-api, as a shop would deploy it for a
load test (no debug, guest checkout, its REST API under /api/). The database comes from FLASHSIM_OSCAR_DB:
sqlite:///PATH (default results/oscar/oscar.sqlite3) or postgresql://USER:PASSWORD@HOST:PORT/NAME.
"""

from __future__ import annotations

import os

import oscar
from oscar.defaults import *  # noqa: F403  (Oscar's settings are meant to be imported whole)

from loadtests.oscar.database import database

SECRET_KEY = os.environ.get("FLASHSIM_OSCAR_SECRET", "flashsim-load-test-target-not-for-production")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
SITE_ID = 1
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
ROOT_URLCONF = "loadtests.oscar.urls"
WSGI_APPLICATION = "loadtests.oscar.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

DATABASES = {"default": database(os.environ.get("FLASHSIM_OSCAR_DB", "sqlite:///results/oscar/oscar.sqlite3"))}

INSTALLED_APPS = [*oscar.INSTALLED_APPS, "rest_framework", "oscarapi"]
MIDDLEWARE = [
    "loadtests.oscar.timing.ServerTiming",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
AUTHENTICATION_BACKENDS = [
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""Load-test accounts only: a login costs microseconds, not the 300 ms of PBKDF2 that would swamp the sale."""
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}
STATIC_URL = "/static/"

OSCAR_DEFAULT_CURRENCY = "CNY"
OSCAR_ALLOW_ANON_CHECKOUT = True
OSCARAPI_BLOCK_ADMIN_API_ACCESS = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
