"""The residents' pages in the catalogue's ten languages: their texts (resident_texts.yaml), the page's language
and direction, and rendering in it. Status names come from workorders/notification_texts.yaml."""

from functools import cache
from pathlib import Path

import yaml
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

import workorders
from workorders.catalogue import LOCALES, locale_pick

COOKIE = "fieldsvc_lang"
RTL = frozenset({"ar"})
# Each language named in itself, for the switcher.
NAMES = {
    "en": "English",
    "es": "Español",
    "zh-hans": "简体中文",
    "ht": "Kreyòl ayisyen",
    "pt": "Português",
    "vi": "Tiếng Việt",
    "kea": "Kriolu",
    "ru": "Русский",
    "ar": "العربية",
    "fr": "Français",
}
# BCP 47 tags for <html lang>.
HTML_LANG = {"zh-hans": "zh-Hans"}
# Django's language for dates and numbers; it has no Haitian or Cape Verdean Creole formats, so the
# language each is closest to in writing (French, Portuguese) is used for month names.
DJANGO_LANG = {"ht": "fr", "kea": "pt"}


def _yaml(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


TEXTS: dict[str, dict[str, str]] = _yaml(Path(__file__).with_name("resident_texts.yaml"))


@cache
def status_texts(locale: str) -> dict[str, str]:
    """Detailed status names in ``locale``, the ones followers' messages use."""
    texts = _yaml(Path(workorders.__file__).with_name("notification_texts.yaml"))
    return texts["en"]["status"] | texts.get(locale, {}).get("status", {})


def page_locale(request: HttpRequest) -> str:
    """?lang= (the switcher), else the cookie it set, else Accept-Language; one of the catalogue's locales."""
    chosen = request.GET.get("lang") or request.POST.get("lang") or request.COOKIES.get(COOKIE)
    if chosen:
        return locale_pick(chosen[:20])
    return locale_pick((request.headers.get("Accept-Language") or "")[:200])


def remember(request: HttpRequest, response: HttpResponse, locale: str) -> HttpResponse:
    """Keep a language the resident chose (?lang= or the form's lang) in a cookie for their next pages."""
    if (request.GET.get("lang") or request.POST.get("lang")) and request.COOKIES.get(COOKIE) != locale:
        response.set_cookie(COOKIE, locale, max_age=365 * 86400, samesite="Lax")
    return response


def render_page(request: HttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """A resident page in its language (dates too), remembering a language just chosen."""
    locale = context["locale"]
    with translation.override(DJANGO_LANG.get(locale, locale)):
        response = render(request, template, context, status=status)
    return remember(request, response, locale)


def page_context(locale: str) -> dict:
    """What every resident page's base template needs: the texts, the language and its direction."""
    return {
        "t": TEXTS[locale],
        "locale": locale,
        "html_lang": HTML_LANG.get(locale, locale),
        "dir": "rtl" if locale in RTL else "ltr",
        "languages": [(code, NAMES[code]) for code in LOCALES],
        "statuses": status_texts(locale),
    }
